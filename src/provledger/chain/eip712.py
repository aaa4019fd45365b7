"""EIP-712 signed registrations, mirrored from ``DataAssetRegistry``.

A registrant signs a :class:`~provledger.chain.types.Registration` off-chain with its key; anyone
relays the signature to ``registerWithSignature``. :func:`registration_digest` computes the same
digest as the contract's ``registrationDigest`` view (tested against ``eth_call``).
"""

from __future__ import annotations

from typing import Any, Final, TypedDict, Unpack

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address

from provledger.chain.enums import Relation
from provledger.chain.types import ParentLink, Registration, SignedRegistration
from provledger.errors import InputError

DOMAIN_NAME: Final = "provledger"
DOMAIN_VERSION: Final = "1"


def struct(**fields: str) -> list[dict[str, str]]:
    """An EIP-712 struct's type: each field's name and type, in the order given."""
    return [{"name": name, "type": kind} for name, kind in fields.items()]


#: The ``EIP712Domain`` type of a domain with a name, a version, a chain and a contract.
DOMAIN_TYPE: Final = struct(
    name="string", version="string", chainId="uint256", verifyingContract="address"
)

REGISTRATION_TYPES: Final[dict[str, list[dict[str, str]]]] = {
    "Registration": struct(
        registrant="address",
        contentHash="bytes32",
        metadataURI="string",
        metadataHash="bytes32",
        category="uint16",
        grade="uint8",
        parents="ParentLink[]",
        nonce="uint256",
        deadline="uint256",
    ),
    "ParentLink": struct(parentId="uint256", relation="uint8"),
}


class SigningTerms(TypedDict):
    """What a registration's signature binds beside the registration: who signs it, with which
    of its nonces, until when, and for which registry on which chain."""

    registrant: ChecksumAddress
    nonce: int
    deadline: int
    chain_id: int
    registry: ChecksumAddress


def typed_registration(registration: Registration, **terms: Unpack[SigningTerms]) -> dict[str, Any]:
    """The full EIP-712 message (``eth_signTypedData_v4`` shape) for a registration."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, **REGISTRATION_TYPES},
        "primaryType": "Registration",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": terms["chain_id"],
            "verifyingContract": terms["registry"],
        },
        "message": {
            "registrant": terms["registrant"],
            "contentHash": registration.content_hash,
            "metadataURI": registration.metadata_uri,
            "metadataHash": registration.metadata_hash,
            "category": registration.category,
            "grade": registration.grade,
            "parents": [
                {"parentId": parent.parent_id, "relation": int(parent.relation)}
                for parent in registration.parents
            ],
            "nonce": terms["nonce"],
            "deadline": terms["deadline"],
        },
    }


def registration_digest(registration: Registration, **terms: Unpack[SigningTerms]) -> bytes:
    """The 32-byte EIP-712 digest the registrant signs."""
    signable = encode_typed_data(full_message=typed_registration(registration, **terms))
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
    message = typed_registration(
        registration,
        registrant=signer.address,
        nonce=nonce,
        deadline=deadline,
        chain_id=chain_id,
        registry=registry,
    )
    signed = Account.sign_message(encode_typed_data(full_message=message), private_key=signer.key)
    return SignedRegistration(
        registration=registration,
        registrant=signer.address,
        nonce=nonce,
        deadline=deadline,
        signature=bytes(signed.signature),
    )


#: The ``format`` of a signed registration document (``provledger sign``, ``relay``).
SIGNED_FORMAT: Final = "provledger-signed-registration/1"


def signed_to_json(signed: SignedRegistration, *, chain_id: int, registry: str) -> dict[str, Any]:
    """A signed registration as a JSON document that names the chain and registry it is for."""
    registration = signed.registration
    return {
        "format": SIGNED_FORMAT,
        "chain_id": chain_id,
        "registry": registry,
        "registrant": signed.registrant,
        "nonce": signed.nonce,
        "deadline": signed.deadline,
        "signature": "0x" + signed.signature.hex(),
        "registration": {
            "content_hash": "0x" + registration.content_hash.hex(),
            "metadata_uri": registration.metadata_uri,
            "metadata_hash": "0x" + registration.metadata_hash.hex(),
            "category": registration.category,
            "grade": registration.grade,
            "parents": [
                {
                    "parent_id": f"0x{parent.parent_id:064x}",
                    "relation": Relation(parent.relation).name,
                }
                for parent in registration.parents
            ],
        },
    }


def _field(data: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise InputError(f"signed registration: missing field {name!r}")
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"signed registration: field {name!r} has the wrong type")
    return value


def _bytes(data: Any, name: str, size: int | None = 32) -> bytes:
    text = _field(data, name, str)
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise InputError(f"signed registration: field {name!r} is not hex") from None
    if size is not None and len(value) != size:
        raise InputError(f"signed registration: field {name!r} is not {size} bytes")
    return value


def signed_from_json(data: Any) -> tuple[SignedRegistration, int, ChecksumAddress]:
    """Parse a signed registration document: the registration, its chain id and registry.

    Every field is checked for presence, type and size; a bad one is an
    :class:`~provledger.errors.InputError` naming it.
    """
    if _field(data, "format", str) != SIGNED_FORMAT:
        raise InputError(f"signed registration: format is not {SIGNED_FORMAT!r}")
    body = _field(data, "registration", dict)
    parents = []
    for item in _field(body, "parents", list):
        relation = _field(item, "relation", str)
        if relation not in Relation.__members__ or relation == "NONE":
            raise InputError(f"signed registration: unknown relation {relation!r}")
        parents.append(
            ParentLink(int.from_bytes(_bytes(item, "parent_id"), "big"), Relation[relation])
        )
    registration = Registration(
        content_hash=_bytes(body, "content_hash"),
        metadata_uri=_field(body, "metadata_uri", str),
        metadata_hash=_bytes(body, "metadata_hash"),
        category=_field(body, "category", int),
        grade=_field(body, "grade", int),
        parents=tuple(parents),
    )
    for address in ("registrant", "registry"):
        if not is_address(_field(data, address, str)):
            raise InputError(f"signed registration: field {address!r} is not an address")
    signed = SignedRegistration(
        registration=registration,
        registrant=to_checksum_address(data["registrant"]),
        nonce=_field(data, "nonce", int),
        deadline=_field(data, "deadline", int),
        signature=_bytes(data, "signature", size=65),
    )
    return signed, _field(data, "chain_id", int), to_checksum_address(data["registry"])
