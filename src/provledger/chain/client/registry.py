"""The client of ``DataAssetRegistry``: participants, categories, registration, transfers,
roles and the registry's views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.abi import get_abi_output_types
from hexbytes import HexBytes
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.types import BlockIdentifier, RPCEndpoint

from provledger.chain.client.base import ZERO_HASH, ContractClient
from provledger.chain.eip712 import registration_digest, sign_registration
from provledger.chain.ids import asset_id, role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import (
    AssetState,
    ParentLink,
    ParticipantState,
    Registration,
    SignedRegistration,
    jurisdiction_bytes,
)


class RegistryClient(ContractClient):
    """``DataAssetRegistry``: participants, categories, registration, transfers, roles."""

    NAME = "DataAssetRegistry"

    # -- participants and categories
    def register_participant(
        self, account: str, jurisdiction: str, name_hash: bytes = ZERO_HASH
    ) -> Receipt:
        """Register ``account`` as an active participant (REGISTRAR_ROLE)."""
        return self._send(
            "registerParticipant",
            Web3.to_checksum_address(account),
            jurisdiction_bytes(jurisdiction),
            name_hash,
        )

    def suspend_participant(self, account: str, reason_hash: bytes = ZERO_HASH) -> Receipt:
        """Suspend an active participant (REGISTRAR_ROLE)."""
        return self._send("suspendParticipant", Web3.to_checksum_address(account), reason_hash)

    def reinstate_participant(self, account: str) -> Receipt:
        """Reinstate a suspended participant (REGISTRAR_ROLE)."""
        return self._send("reinstateParticipant", Web3.to_checksum_address(account))

    def set_category_listed(self, category: int, listed: bool = True) -> Receipt:
        """Add a category code to, or remove it from, the published list (admin)."""
        return self._send("setCategoryListed", category, listed)

    # -- registration
    def register(self, registration: Registration, *, gas: int | None = None) -> Receipt:
        """Register one asset held by the sender."""
        return self._send("register", registration.as_tuple(), gas=gas)

    def register_many(
        self, registrations: Sequence[Registration], *, gas: int | None = None
    ) -> Receipt:
        """Register several assets held by the sender in one transaction."""
        return self._send("registerMany", [item.as_tuple() for item in registrations], gas=gas)

    def register_with_signature(
        self, signed: SignedRegistration, *, gas: int | None = None
    ) -> Receipt:
        """Relay a registration signed by its registrant."""
        return self._send("registerWithSignature", signed.as_tuple(), gas=gas)

    def register_many_with_signatures(
        self, signed: Sequence[SignedRegistration], *, gas: int | None = None
    ) -> Receipt:
        """Relay several signed registrations in one transaction."""
        return self._send(
            "registerManyWithSignatures", [item.as_tuple() for item in signed], gas=gas
        )

    def sign(
        self,
        registration: Registration,
        signer: LocalAccount,
        *,
        deadline: int,
        nonce: int | None = None,
    ) -> SignedRegistration:
        """Sign ``registration`` as ``signer`` for this registry (nonce read from the chain)."""
        return sign_registration(
            registration,
            signer=signer,
            nonce=self.nonce(signer.address) if nonce is None else nonce,
            deadline=deadline,
            chain_id=int(self.w3.eth.chain_id),
            registry=self.address,
        )

    def local_digest(self, signed: SignedRegistration) -> bytes:
        """The EIP-712 digest of ``signed``, computed in Python."""
        return registration_digest(
            signed.registration,
            registrant=signed.registrant,
            nonce=signed.nonce,
            deadline=signed.deadline,
            chain_id=int(self.w3.eth.chain_id),
            registry=self.address,
        )

    # -- holder actions
    def update_metadata(self, asset: int, metadata_uri: str, metadata_hash: bytes) -> Receipt:
        """Revise the metadata of an asset the sender holds."""
        return self._send("updateMetadata", asset, metadata_uri, metadata_hash)

    def cancel(self, asset: int, reason_hash: bytes = ZERO_HASH) -> Receipt:
        """Cancel an asset the sender holds."""
        return self._send("cancel", asset, reason_hash)

    def transfer(self, asset: int, to: str, *, holder: str | None = None) -> Receipt:
        """Move an asset from ``holder`` (default: its current holder) to ``to``.

        ERC-721 ``transferFrom``: the sender must be the holder or approved by it.
        """
        source = Web3.to_checksum_address(holder) if holder else self.holder_of(asset)
        return self._send("transferFrom", source, Web3.to_checksum_address(to), asset)

    def approve(self, spender: str, asset: int) -> Receipt:
        """Approve ``spender`` to transfer one asset (ERC-721 approve)."""
        return self._send("approve", Web3.to_checksum_address(spender), asset)

    # -- administration
    def grant_role(self, role: str, account: str) -> Receipt:
        """Grant ``role`` (e.g. ``"REGISTRAR_ROLE"``) to ``account`` (role admin only)."""
        return self._send("grantRole", role_id(role), Web3.to_checksum_address(account))

    def revoke_role(self, role: str, account: str) -> Receipt:
        """Revoke ``role`` from ``account`` (role admin only)."""
        return self._send("revokeRole", role_id(role), Web3.to_checksum_address(account))

    def set_modules(self, license_registry: str, export_control: str) -> Receipt:
        """Point the registry at its LicenseRegistry and ExportControl (admin)."""
        return self._send(
            "setModules",
            Web3.to_checksum_address(license_registry),
            Web3.to_checksum_address(export_control),
        )

    def set_base_uri(self, base_uri: str) -> Receipt:
        """Set the token URI prefix (admin)."""
        return self._send("setBaseURI", base_uri)

    def pause(self) -> Receipt:
        """Stop every state change (admin)."""
        return self._send("pause")

    def unpause(self) -> Receipt:
        """Lift the pause (admin)."""
        return self._send("unpause")

    # -- views
    def asset_id_of(self, content_hash: bytes) -> int:
        """The asset id of ``content_hash`` as the contract computes it."""
        return int(self._call("assetIdOf", content_hash))

    def asset(self, asset: int, *, block: BlockIdentifier = "latest") -> AssetState | None:
        """The asset's record, holder and metadata hash; None if not registered."""
        raw = self._call("assetOf", asset, block=block)
        if int(raw[4]) == 0:
            return None
        holder = self._call("ownerOf", asset, block=block)
        metadata_hash = self._call("metadataHashOf", asset, block=block)
        return AssetState.from_abi(asset, raw, holder, metadata_hash)

    def asset_by_hash(self, content_hash: bytes) -> AssetState | None:
        """The asset registered for ``content_hash``, if any (id computed locally)."""
        return self.asset(asset_id(content_hash))

    def registrants_of(self, content_hashes: Sequence[bytes]) -> list[ChecksumAddress | None]:
        """Who registered each content hash, None where nobody has.

        The ``assetOf`` calls go to a JSON-RPC node in one batch request, straight to the
        provider (web3's formatting of each call costs more than the node's answer), so that
        a list of thousands is checked in moments. A provider without batches (eth-tester), or
        a batch with an error in it, is asked one call at a time.
        """
        encode = self.encoder("assetOf")
        calls = [HexBytes(encode(asset_id(item))) for item in content_hashes]
        answers: list[Any] = []
        provider = self.w3.provider
        if calls and isinstance(provider, JSONBaseProvider):
            responses = provider.make_batch_request(
                [
                    (
                        RPCEndpoint("eth_call"),
                        [{"to": self.address, "data": data.to_0x_hex()}, "latest"],
                    )
                    for data in calls
                ]
            )
            if isinstance(responses, list):
                answers = [response.get("result") for response in responses]
        if len(answers) != len(calls) or not all(isinstance(item, str) for item in answers):
            answers = [self.w3.eth.call({"to": self.address, "data": data}) for data in calls]
        output = get_abi_output_types(self.contract.get_function_by_name("assetOf").abi)
        found: list[ChecksumAddress | None] = []
        for answer in answers:
            ((registrant, _, _, _, status, *_),) = abi_decode(output, bytes(HexBytes(answer)))
            found.append(None if int(status) == 0 else Web3.to_checksum_address(registrant))
        return found

    def holder_of(self, asset: int, *, block: BlockIdentifier = "latest") -> ChecksumAddress:
        """The current holder (ERC-721 ownerOf)."""
        return Web3.to_checksum_address(self._call("ownerOf", asset, block=block))

    def approved(self, asset: int) -> ChecksumAddress:
        """The account approved to move ``asset`` (ERC-721 ``getApproved``), zero if none."""
        return Web3.to_checksum_address(self._call("getApproved", asset))

    def balance_of(self, account: str) -> int:
        """How many assets ``account`` holds."""
        return int(self._call("balanceOf", Web3.to_checksum_address(account)))

    def parents_of(self, asset: int) -> tuple[ParentLink, ...]:
        """The parents of an asset, in registration order."""
        return tuple(
            ParentLink(int(parent), int(relation))
            for parent, relation in self._call("parentsOf", asset)
        )

    def participant(self, account: str, *, block: BlockIdentifier = "latest") -> ParticipantState:
        """The participant record of ``account`` (status NONE if unknown)."""
        checksummed = Web3.to_checksum_address(account)
        raw = self._call("participant", checksummed, block=block)
        return ParticipantState.from_abi(checksummed, raw)

    def is_category_listed(self, category: int) -> bool:
        """Whether ``category`` is on the published list."""
        return bool(self._call("isCategoryListed", category))

    def nonce(self, account: str) -> int:
        """The next signed-registration nonce of ``account``."""
        return int(self._call("nonces", Web3.to_checksum_address(account)))

    def registration_digest(self, signed: SignedRegistration) -> bytes:
        """The EIP-712 digest as the contract computes it."""
        return bytes(self._call("registrationDigest", signed.as_tuple()))

    def has_role(self, role: str, account: str) -> bool:
        """Whether ``account`` holds ``role``."""
        return bool(self._call("hasRole", role_id(role), Web3.to_checksum_address(account)))

    def paused(self) -> bool:
        """Whether the registry is paused."""
        return bool(self._call("paused"))

    def token_uri(self, asset: int) -> str:
        """The ERC-721 token URI of an asset."""
        return str(self._call("tokenURI", asset))

    def modules(self) -> tuple[ChecksumAddress, ChecksumAddress]:
        """The LicenseRegistry and ExportControl the registry consults."""
        licenses, export = self._call("modules")
        return Web3.to_checksum_address(licenses), Web3.to_checksum_address(export)
