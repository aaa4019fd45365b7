"""Typed clients for the provledger contracts.

:class:`Provledger` binds one deployment to one signing account and groups the contract
functions by module: ``registry``, ``office``, ``licenses``, ``appraisals``, ``court``,
``anchor``, ``export`` and ``market``. Writes sign locally, wait for the receipt and return a
:class:`~provledger.chain.transactions.Receipt` of typed events; reverts raise
:class:`~provledger.chain.reverts.ContractRevert` naming the custom error and its arguments.

>>> ledger = Provledger(w3, deployment, account)            # doctest: +SKIP
>>> receipt = ledger.registry.register(registration)         # doctest: +SKIP
>>> receipt.event(AssetRegistered).asset_id                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.providers.base import JSONBaseProvider
from web3.types import BlockIdentifier, RPCEndpoint

from provledger.chain.artifacts import load_artifact
from provledger.chain.deployments import Deployment
from provledger.chain.eip712 import registration_digest, sign_registration
from provledger.chain.enums import (
    LicenseKind,
    RegistrationType,
    Ruling,
    ValuationMethod,
)
from provledger.chain.ids import asset_id, role_id
from provledger.chain.reverts import revert_from_exception
from provledger.chain.tokens import Erc20
from provledger.chain.transactions import Receipt, Sender
from provledger.chain.types import (
    AppraisalState,
    AssetState,
    BatchState,
    BidState,
    CertificateState,
    DisputeState,
    ExportPermitState,
    LicenseState,
    ObjectionState,
    OfferState,
    ParentLink,
    ParticipantState,
    Registration,
    SignedRegistration,
    currency_bytes,
    jurisdiction_bytes,
)
from provledger.errors import ConfigurationError

ZERO_HASH = b"\x00" * 32

#: The market's currency address for the chain's native currency.
NATIVE = "0x0000000000000000000000000000000000000000"


class ContractClient:
    """Calls and transactions of one contract of a deployment."""

    NAME: ClassVar[str]

    def __init__(self, w3: Web3, address: ChecksumAddress, sender: Sender | None) -> None:
        self.w3 = w3
        self.address = address
        self.sender = sender
        self.contract: Contract = w3.eth.contract(
            address=address, abi=list(load_artifact(self.NAME).abi)
        )

    def _send(self, function: str, *args: Any, gas: int | None = None, value: int = 0) -> Receipt:
        if self.sender is None:
            raise ConfigurationError(
                f"{self.NAME}.{function} sends a transaction, but no signing account was given"
            )
        data = self.contract.encode_abi(function, args=list(args))
        return self.sender.send(self.address, bytes(HexBytes(data)), gas=gas, value=value)

    def _call(self, function: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        try:
            return self.contract.functions[function](*args).call(block_identifier=block)
        except Exception as error:
            revert = revert_from_exception(error)
            if revert is None:
                raise
            raise revert from error

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata for ``function(*args)``, to send or estimate elsewhere."""
        return bytes(HexBytes(self.contract.encode_abi(function, args=list(args))))

    def encoder(self, function: str) -> CallEncoder:
        """A fast encoder of ``function``'s calldata, for building many transactions."""
        return CallEncoder(self, function)


class CallEncoder:
    """Calldata of one function, with its selector and argument types looked up once.

    web3's ``encode_abi`` (behind :meth:`ContractClient.encode`) searches the ABI on every call,
    milliseconds each; generators of large workloads encode through this instead. The first
    encoding is checked byte for byte against :meth:`ContractClient.encode`.
    """

    def __init__(self, client: ContractClient, function: str) -> None:
        self.client = client
        self.function = function
        abi = client.contract.get_function_by_name(function).abi
        self.selector = bytes(function_abi_to_4byte_selector(abi))
        self.types = list(get_abi_input_types(abi))
        self.checked = False

    def __call__(self, *args: Any) -> bytes:
        data = self.selector + abi_encode(self.types, list(args))
        if not self.checked:
            if data != self.client.encode(self.function, *args):
                raise RuntimeError(f"{self.function}: calldata differs from ContractClient.encode")
            self.checked = True
        return data


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

    def holder_of(self, asset: int) -> ChecksumAddress:
        """The current holder (ERC-721 ownerOf)."""
        return Web3.to_checksum_address(self._call("ownerOf", asset))

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

    def participant(self, account: str) -> ParticipantState:
        """The participant record of ``account`` (status NONE if unknown)."""
        checksummed = Web3.to_checksum_address(account)
        return ParticipantState.from_abi(checksummed, self._call("participant", checksummed))

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


class OfficeClient(ContractClient):
    """``RegistrationOffice``: review, public notice, objections, certificates."""

    NAME = "RegistrationOffice"

    def set_notice_period(self, seconds: int) -> Receipt:
        """Set the notice period for future acceptances (admin)."""
        return self._send("setNoticePeriod", seconds)

    def accept(self, asset: int) -> Receipt:
        """Accept an application; its public notice starts (REGISTRAR_ROLE)."""
        return self._send("accept", asset)

    def reject(self, asset: int, reason_hash: bytes) -> Receipt:
        """Reject an application (REGISTRAR_ROLE)."""
        return self._send("reject", asset, reason_hash)

    def object(self, asset: int, grounds_hash: bytes) -> Receipt:
        """Lodge an objection during the notice period (anyone)."""
        return self._send("object", asset, grounds_hash)

    def resolve_objection(self, objection: int, upheld: bool, reason_hash: bytes) -> Receipt:
        """Resolve an objection (REGISTRAR_ROLE)."""
        return self._send("resolveObjection", objection, upheld, reason_hash)

    def certify(
        self, asset: int, certificate_hash: bytes, kind: RegistrationType | int = 1
    ) -> Receipt:
        """Issue a certificate with the next registration number (REGISTRAR_ROLE)."""
        return self._send("certify", asset, int(kind), certificate_hash)

    def notice_period(self) -> int:
        """The notice period in seconds."""
        return int(self._call("noticePeriod"))

    def notice_ends_at(self, asset: int) -> int:
        """When the asset's notice ends (0 if never accepted)."""
        return int(self._call("noticeEndsAt", asset))

    def open_objection_count(self, asset: int) -> int:
        """Open objections against the asset."""
        return int(self._call("openObjectionCount", asset))

    def objection(self, objection: int) -> ObjectionState:
        """A stored objection."""
        return ObjectionState.from_abi(objection, self._call("objectionOf", objection))

    def certificate(self, registration_number: int) -> CertificateState:
        """A stored certificate."""
        return CertificateState.from_abi(
            registration_number, self._call("certificateOf", registration_number)
        )

    def initial_registration_number(self, asset: int) -> int:
        """The registration number of the asset's initial certificate (0 if none)."""
        return int(self._call("initialRegistrationNumberOf", asset))

    def certificate_count(self) -> int:
        """Certificates issued so far."""
        return int(self._call("certificateCount"))

    def objection_count(self) -> int:
        """Objections lodged so far."""
        return int(self._call("objectionCount"))


class LicenseClient(ContractClient):
    """``LicenseRegistry``: typed, expiring, revocable licenses."""

    NAME = "LicenseRegistry"

    def grant(
        self,
        asset: int,
        licensee: str,
        kind: LicenseKind | int,
        expires_at: int,
        terms_hash: bytes,
        scope: str = "",
    ) -> Receipt:
        """Grant a license on an asset the sender holds."""
        return self._send(
            "grant",
            asset,
            Web3.to_checksum_address(licensee),
            int(kind),
            expires_at,
            terms_hash,
            scope,
        )

    def grant_for(
        self,
        asset: int,
        licensor: str,
        licensee: str,
        kind: LicenseKind | int,
        expires_at: int,
        terms_hash: bytes,
        scope: str = "",
    ) -> Receipt:
        """Grant a license for ``licensor``, the holder (the sender needs MARKET_ROLE)."""
        return self._send(
            "grantFor",
            asset,
            Web3.to_checksum_address(licensor),
            Web3.to_checksum_address(licensee),
            int(kind),
            expires_at,
            terms_hash,
            scope,
        )

    def revoke(self, license_id: int, reason_hash: bytes = ZERO_HASH) -> Receipt:
        """Revoke a license on an asset the sender holds."""
        return self._send("revoke", license_id, reason_hash)

    def license(self, license_id: int) -> LicenseState:
        """A stored license."""
        return LicenseState.from_abi(license_id, self._call("licenseOf", license_id))

    def is_valid_at(self, license_id: int, timestamp: int) -> bool:
        """Whether the license is valid at ``timestamp``."""
        return bool(self._call("isValidAt", license_id, timestamp))

    def valid_license_of(
        self, asset: int, licensee: str, kind: LicenseKind | int, timestamp: int
    ) -> int:
        """A valid license of ``kind`` held by ``licensee`` at ``timestamp``, or 0."""
        return int(
            self._call(
                "validLicenseOf", asset, Web3.to_checksum_address(licensee), int(kind), timestamp
            )
        )

    def licenses_of(self, asset: int, licensee: str) -> tuple[int, ...]:
        """Every license granted on ``asset`` to ``licensee``."""
        return tuple(
            int(item)
            for item in self._call("licensesOf", asset, Web3.to_checksum_address(licensee))
        )

    def license_count(self) -> int:
        """Licenses granted so far."""
        return int(self._call("licenseCount"))


class AppraisalClient(ContractClient):
    """``AppraisalRegistry``: valuations with supersession."""

    NAME = "AppraisalRegistry"

    def appraise(
        self,
        asset: int,
        amount: int,
        currency: str,
        method: ValuationMethod | int,
        report_hash: bytes,
    ) -> Receipt:
        """Record a valuation (APPRAISER_ROLE)."""
        return self._send(
            "appraise", asset, amount, currency_bytes(currency), int(method), report_hash
        )

    def appraisal(self, appraisal_id: int) -> AppraisalState:
        """A stored appraisal."""
        return AppraisalState.from_abi(appraisal_id, self._call("appraisalOf", appraisal_id))

    def current_appraisal_of(self, asset: int) -> int:
        """The id of the asset's current appraisal (0 if none)."""
        return int(self._call("currentAppraisalOf", asset))

    def appraisal_count(self) -> int:
        """Appraisals recorded so far."""
        return int(self._call("appraisalCount"))


class CourtClient(ContractClient):
    """``DisputeCourt``: disputes, freezes, rulings."""

    NAME = "DisputeCourt"

    def open(self, asset: int, evidence_hash: bytes) -> Receipt:
        """Open a dispute over an asset (anyone)."""
        return self._send("open", asset, evidence_hash)

    def freeze(self, dispute: int) -> Receipt:
        """Freeze the asset of an open dispute (ARBITER_ROLE)."""
        return self._send("freeze", dispute)

    def rule(self, dispute: int, ruling: Ruling | int, ruling_hash: bytes) -> Receipt:
        """Rule on a frozen dispute (ARBITER_ROLE)."""
        return self._send("rule", dispute, int(ruling), ruling_hash)

    def dispute(self, dispute: int) -> DisputeState:
        """A stored dispute."""
        return DisputeState.from_abi(dispute, self._call("disputeOf", dispute))

    def freeze_count(self, asset: int) -> int:
        """How many disputes hold the asset frozen."""
        return int(self._call("freezeCount", asset))

    def dispute_count(self) -> int:
        """Disputes opened so far."""
        return int(self._call("disputeCount"))


class AnchorClient(ContractClient):
    """``BatchAnchor``: Merkle batch anchors and promotion of leaves."""

    NAME = "BatchAnchor"

    def anchor(self, root: bytes, leaf_count: int, manifest_uri: str = "") -> Receipt:
        """Anchor a batch root (active participants)."""
        return self._send("anchor", root, leaf_count, manifest_uri)

    def promote(self, root: bytes, proof: Sequence[bytes], registration: Registration) -> Receipt:
        """Register a proven leaf of a batch the sender anchored."""
        return self._send("promote", root, list(proof), registration.as_tuple())

    def batch(self, root: bytes) -> BatchState | None:
        """The anchored batch with ``root``, or None."""
        raw = self._call("batchOf", root)
        return None if int(raw[2]) == 0 else BatchState.from_abi(root, raw)

    def is_anchored_leaf(self, root: bytes, content_hash: bytes, proof: Sequence[bytes]) -> bool:
        """Whether the proof shows ``content_hash`` is a leaf of the anchored batch ``root``."""
        return bool(self._call("isAnchoredLeaf", root, content_hash, list(proof)))

    def is_dataset_file(
        self, dataset_root: bytes, path: str, file_hash: bytes, proof: Sequence[bytes]
    ) -> bool:
        """Whether ``(path, file_hash)`` belongs to the registered dataset ``dataset_root``."""
        return bool(self._call("isDatasetFile", dataset_root, path, file_hash, list(proof)))


class ExportClient(ContractClient):
    """``ExportControl``: export permits for grade 2 data."""

    NAME = "ExportControl"

    def issue_permit(self, asset: int, recipient: str, expires_at: int) -> Receipt:
        """Allow one cross-border transfer of ``asset`` to ``recipient`` (EXPORT_APPROVER_ROLE)."""
        return self._send("issuePermit", asset, Web3.to_checksum_address(recipient), expires_at)

    def revoke_permit(self, asset: int, recipient: str) -> Receipt:
        """Withdraw an unused permit (EXPORT_APPROVER_ROLE)."""
        return self._send("revokePermit", asset, Web3.to_checksum_address(recipient))

    def permit(self, asset: int, recipient: str) -> ExportPermitState | None:
        """The permit for ``asset`` and ``recipient``, or None."""
        raw = self._call("permitOf", asset, Web3.to_checksum_address(recipient))
        return None if int(raw[1]) == 0 else ExportPermitState.from_abi(raw)


class MarketClient(ContractClient):
    """``DataMarket``: offers, counter-bids, atomic settlement and pulled proceeds.

    ``currency`` is an ERC-20 token address, or :data:`NATIVE` for the chain's own currency;
    native payments are sent as the transaction's value.
    """

    NAME = "DataMarket"

    def list_asset(
        self, asset: int, price: int, expires_at: int, *, currency: str = NATIVE, min_bid: int = 0
    ) -> Receipt:
        """List an asset the sender holds (the market must be approved for it first)."""
        return self._send(
            "listAsset", asset, Web3.to_checksum_address(currency), price, min_bid, expires_at
        )

    def offer_license(
        self,
        asset: int,
        kind: LicenseKind | int,
        duration: int,
        terms_hash: bytes,
        scope: str,
        price: int,
        expires_at: int,
        *,
        currency: str = NATIVE,
        min_bid: int = 0,
    ) -> Receipt:
        """Offer licenses of ``kind`` lasting ``duration`` seconds on an asset the sender holds."""
        return self._send(
            "offerLicense",
            asset,
            int(kind),
            duration,
            terms_hash,
            scope,
            Web3.to_checksum_address(currency),
            price,
            min_bid,
            expires_at,
        )

    def cancel_offer(self, offer: int) -> Receipt:
        """Cancel an open offer the sender made."""
        return self._send("cancelOffer", offer)

    def buy(self, offer: int, *, value: int = 0, gas: int | None = None) -> Receipt:
        """Buy from an offer: its price as ``value`` if native, else approve the token first."""
        return self._send("buy", offer, value=value, gas=gas)

    def bid(self, offer: int, amount: int, expires_at: int, *, value: int = 0) -> Receipt:
        """Escrow a counter-bid on an offer (``value`` = ``amount`` if native)."""
        return self._send("bid", offer, amount, expires_at, value=value)

    def cancel_bid(self, bid: int) -> Receipt:
        """Take back an open bid; its amount becomes withdrawable."""
        return self._send("cancelBid", bid)

    def accept_bid(self, bid: int) -> Receipt:
        """Accept a bid on an offer the sender made."""
        return self._send("acceptBid", bid)

    def withdraw(self, currency: str = NATIVE) -> Receipt:
        """Pull everything the sender is owed in ``currency``."""
        return self._send("withdraw", Web3.to_checksum_address(currency))

    def set_fee(self, recipient: str, fee_bps: int) -> Receipt:
        """Set the platform fee of new offers (admin)."""
        return self._send("setFee", Web3.to_checksum_address(recipient), fee_bps)

    def set_currency_listed(self, currency: str, listed: bool = True) -> Receipt:
        """List or delist an ERC-20 currency (admin)."""
        return self._send("setCurrencyListed", Web3.to_checksum_address(currency), listed)

    def offer(self, offer: int) -> OfferState:
        """A stored offer."""
        return OfferState.from_abi(offer, self._call("offerOf", offer))

    def bid_state(self, bid: int) -> BidState:
        """A stored bid."""
        return BidState.from_abi(bid, self._call("bidOf", bid))

    def owed_to(self, account: str, currency: str = NATIVE) -> int:
        """What ``account`` may withdraw in ``currency``."""
        return int(
            self._call(
                "owedTo", Web3.to_checksum_address(account), Web3.to_checksum_address(currency)
            )
        )

    def fee(self) -> tuple[ChecksumAddress, int]:
        """The fee recipient and the fee of new offers in basis points."""
        recipient, bps = self._call("fee")
        return Web3.to_checksum_address(recipient), int(bps)

    def is_currency_listed(self, currency: str) -> bool:
        """Whether new offers may name ``currency``."""
        return bool(self._call("isCurrencyListed", Web3.to_checksum_address(currency)))

    def token(self, currency: str) -> Erc20:
        """The ERC-20 ``currency``, seen by this client's signing account."""
        return Erc20(self.w3, currency, self.sender)

    def counts(self) -> tuple[int, int, int]:
        """Offers, bids and trades so far."""
        offers, bids, trades = self._call("counts")
        return int(offers), int(bids), int(trades)


class Provledger:
    """One deployment of the provledger contracts, seen by one (optional) signing account."""

    def __init__(
        self, w3: Web3, deployment: Deployment, account: LocalAccount | None = None
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.account = account
        self.sender = (
            Sender(w3, account, decode_addresses=deployment.addresses) if account else None
        )
        self.registry = RegistryClient(w3, deployment.address("DataAssetRegistry"), self.sender)
        self.office = OfficeClient(w3, deployment.address("RegistrationOffice"), self.sender)
        self.licenses = LicenseClient(w3, deployment.address("LicenseRegistry"), self.sender)
        self.appraisals = AppraisalClient(w3, deployment.address("AppraisalRegistry"), self.sender)
        self.court = CourtClient(w3, deployment.address("DisputeCourt"), self.sender)
        self.anchor = AnchorClient(w3, deployment.address("BatchAnchor"), self.sender)
        self.export = ExportClient(w3, deployment.address("ExportControl"), self.sender)
        self._market: MarketClient | None = None

    @property
    def market(self) -> MarketClient:
        """The DataMarket; a deployment made before it existed has none (ConfigurationError)."""
        if self._market is None:
            self._market = MarketClient(self.w3, self.deployment.address("DataMarket"), self.sender)
        return self._market

    def as_account(self, account: LocalAccount) -> Provledger:
        """The same deployment, signing as ``account``."""
        return Provledger(self.w3, self.deployment, account)

    @property
    def address(self) -> ChecksumAddress:
        """The signing account's address."""
        if self.account is None:
            raise ConfigurationError("no signing account was given")
        return Web3.to_checksum_address(self.account.address)
