"""EIP-712 signed registrations, mirrored from ``DataAssetRegistry``.

A registrant signs a :class:`~provledger.chain.types.Registration` off-chain with its key; anyone
relays the signature to ``registerWithSignature``. :func:`registration_digest` computes the same
digest as the contract's ``registrationDigest`` view (tested against ``eth_call``).
"""

from __future__ import annotations

from typing import Any, Final

from eth_account import Account
from eth_account.messages import SignableMessage, _hash_eip191_message, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from provledger.chain.types import Registration, SignedRegistration

DOMAIN_NAME: Final = "provledger"
DOMAIN_VERSION: Final = "1"

REGISTRATION_TYPES: Final[dict[str, list[dict[str, str]]]] = {
    "Registration": [
        {"name": "registrant", "type": "address"},
        {"name": "contentHash", "type": "bytes32"},
        {"name": "metadataURI", "type": "string"},
        {"name": "metadataHash", "type": "bytes32"},
        {"name": "category", "type": "uint16"},
        {"name": "grade", "type": "uint8"},
        {"name": "parents", "type": "ParentLink[]"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "ParentLink": [
        {"name": "parentId", "type": "uint256"},
        {"name": "relation", "type": "uint8"},
    ],
}


def typed_registration(
    registration: Registration,
    *,
    registrant: ChecksumAddress,
    nonce: int,
    deadline: int,
    chain_id: int,
    registry: ChecksumAddress,
) -> dict[str, Any]:
    """The full EIP-712 message (``eth_signTypedData_v4`` shape) for a registration."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **REGISTRATION_TYPES,
        },
        "primaryType": "Registration",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": registry,
        },
        "message": {
            "registrant": registrant,
            "contentHash": registration.content_hash,
            "metadataURI": registration.metadata_uri,
            "metadataHash": registration.metadata_hash,
            "category": registration.category,
            "grade": registration.grade,
            "parents": [
                {"parentId": parent.parent_id, "relation": int(parent.relation)}
                for parent in registration.parents
            ],
            "nonce": nonce,
            "deadline": deadline,
        },
    }


def _signable(
    registration: Registration,
    registrant: ChecksumAddress,
    nonce: int,
    deadline: int,
    chain_id: int,
    registry: ChecksumAddress,
) -> SignableMessage:
    return encode_typed_data(
        full_message=typed_registration(
            registration,
            registrant=registrant,
            nonce=nonce,
            deadline=deadline,
            chain_id=chain_id,
            registry=registry,
        )
    )


def registration_digest(
    registration: Registration,
    *,
    registrant: ChecksumAddress,
    nonce: int,
    deadline: int,
    chain_id: int,
    registry: ChecksumAddress,
) -> bytes:
    """The 32-byte EIP-712 digest the registrant signs."""
    signable = _signable(registration, registrant, nonce, deadline, chain_id, registry)
    return bytes(_hash_eip191_message(signable))


def sign_registration(
    registration: Registration,
    *,
    signer: LocalAccount,
    nonce: int,
    deadline: int,
    chain_id: int,
    registry: ChecksumAddress,
) -> SignedRegistration:
    """Sign ``registration`` with ``signer``'s key; the result can be relayed by anyone."""
    signable = _signable(registration, signer.address, nonce, deadline, chain_id, registry)
    signed = Account.sign_message(signable, private_key=signer.key)
    return SignedRegistration(
        registration=registration,
        registrant=signer.address,
        nonce=nonce,
        deadline=deadline,
        signature=bytes(signed.signature),
    )
