"""The examples the OpenAPI document shows: parameter values and request and answer bodies."""

from __future__ import annotations

from typing import Any, Final

EXAMPLE_ASSET: Final = "0x6a2a4d9c1f0e3b7a58c4d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1"
EXAMPLE_HASH: Final = "0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EXAMPLE_ADDRESS: Final = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EXAMPLE_REQUEST_ID: Final = "9c0f3e1b2a4d5c6e7f8091a2b3c4d5e6"

PROOF_EXAMPLE: Final = {
    "version": "provledger-proof/1",
    "chain_id": 31337,
    "asset_id": EXAMPLE_ASSET,
    "content_hash": EXAMPLE_HASH,
    "channel": "DIRECT",
    "contracts": {"DataAssetRegistry": {"address": EXAMPLE_ADDRESS, "code_hash": EXAMPLE_HASH}},
    "registration": {
        "contract": "DataAssetRegistry",
        "event": "AssetRegistered",
        "transaction_hash": EXAMPLE_HASH,
        "block_number": 35,
        "block_hash": EXAMPLE_HASH,
        "log_index": 0,
        "topics": [EXAMPLE_HASH],
        "data": "0x",
        "args": {"asset_id": EXAMPLE_ASSET},
    },
    "state": {"block_number": 38, "block_hash": EXAMPLE_HASH, "asset": {"status": "APPLIED"}},
}

RELAY_EXAMPLE: Final = {
    "format": "provledger-signed-registration/1",
    "chain_id": 31337,
    "registry": EXAMPLE_ADDRESS,
    "registrant": EXAMPLE_ADDRESS,
    "nonce": 0,
    "deadline": 1800000000,
    "signature": "0x" + "11" * 65,
    "registration": {
        "content_hash": EXAMPLE_HASH,
        "metadata_uri": "ipfs://bafy.../meta.json",
        "metadata_hash": EXAMPLE_HASH,
        "category": 101,
        "grade": 1,
        "parents": [],
    },
}

#: The answer of ``GET /assets/{asset_id}/proof``.
PROOF_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "A self-contained proof bundle (format provledger-proof/1; "
        "provledger-proof/2 with checkpoint evidence when the gateway has checkpoints).",
        "content": {"application/json": {"example": PROOF_EXAMPLE}},
    }
}

#: The body of ``POST /verify``.
VERIFY_FILE_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "The file itself (application/octet-stream), or multipart "
        "form data with a `file` part and an optional `metadata` part.",
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "example": "temperature,humidity\n21.5,40\n",
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "metadata": {"type": "string", "format": "binary"},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}

#: The body of ``POST /verify/manifest``.
MANIFEST_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "A folder manifest as `provledger hash FOLDER` writes it.",
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "version": 1,
                    "kind": "provledger.folder-manifest",
                    "root": EXAMPLE_HASH,
                    "files": [
                        {"path": "a.csv", "size": 3, "sha256": EXAMPLE_HASH},
                    ],
                },
            }
        },
    }
}

#: The body of ``POST /relay/registrations``.
RELAY_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "One signed registration document (`provledger sign` writes "
        'them), or `{"registrations": [...]}` with up to 100.',
        "content": {"application/json": {"schema": {"type": "object"}, "example": RELAY_EXAMPLE}},
    }
}

DISCLOSURE_EXAMPLE: Final = {
    "format": "provledger-disclosure/1",
    "kind": "provledger-fields/1",
    "chain_id": 31337,
    "registry": EXAMPLE_ADDRESS,
    "asset_id": EXAMPLE_ASSET,
    "root": EXAMPLE_HASH,
    "fields": [{"name": "title", "salt": EXAMPLE_HASH, "value": "Huangpu air quality 2026"}],
    "withheld": ["source", "scale"],
    "proof": [EXAMPLE_HASH],
    "proof_flags": [False],
}

#: The body of ``POST /assets/{asset_id}/disclosures``.
DISCLOSURE_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "A presentation of committed metadata, as `provledger disclose` writes "
        "it (`application/json`, at most 1 MiB).",
        "content": {
            "application/json": {"schema": {"type": "object"}, "example": DISCLOSURE_EXAMPLE}
        },
    }
}

EXAMPLE_SIGNATURE: Final = "0x" + "5c" * 64 + "1b"

#: The body of ``POST /checkpoints/{sequence}/cosignatures``.
COSIGNATURE_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "A witness's co-signature of the checkpoint, as `provledger witness` "
        "posts it: its address and its EIP-712 signature (65 bytes) of the checkpoint.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "witness": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"},
                        "signature": {"type": "string", "pattern": "^0x[0-9a-fA-F]{130}$"},
                    },
                    "required": ["witness", "signature"],
                },
                "example": {"witness": EXAMPLE_ADDRESS, "signature": EXAMPLE_SIGNATURE},
            }
        },
    }
}

#: The body of ``POST /rpc`` and ``POST /rpc/checkpoint``.
RPC_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "A JSON-RPC 2.0 request, or a batch of up to 20, of the read-only "
        "methods a proof verifier needs (at most 64 KiB).",
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"type": "object"}, {"type": "array"}]},
                "example": {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            }
        },
    }
}
