"""Turn contract reverts into typed errors, whatever the backend, and say them in words.

eth-tester raises ``TransactionFailed("execution reverted: b'...'")`` with the raw revert data
written as a Python bytes literal; a JSON-RPC node (anvil, geth …) makes web3 raise
``ContractCustomError`` / ``ContractLogicError`` with ``.data`` as hex. Both end here and become
a :class:`ContractRevert` that names the custom error and its arguments, decoded with the ABIs of
every packaged artifact.

:func:`explain` is the one place that turns a revert into a sentence for people: what is wrong
and which command (by whom) resolves it, decided from the error's arguments and the
:class:`Call` it answers (who sent it, to which contract, which function). A :class:`CallLog`
attached to a ``Web3`` remembers that call.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from provledger.chain.artifacts import artifact_names, load_artifact
from provledger.chain.enums import SOLIDITY_ENUMS, AssetStatus, ParticipantStatus
from provledger.errors import ProvledgerError
from provledger.units import NATIVE, format_amount, format_time

if TYPE_CHECKING:
    from web3 import Web3
    from web3.types import RPCEndpoint

T = TypeVar("T")

_ERROR_STRING_SELECTOR: Final = keccak(text="Error(string)")[:4]
_PANIC_SELECTOR: Final = keccak(text="Panic(uint256)")[:4]
_REVERTED_PREFIX: Final = "execution reverted"

PANIC_CODES: Final[dict[int, str]] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


class ContractRevert(ProvledgerError):
    """A contract call or transaction reverted.

    ``name`` is the custom error's name (``"Error"`` for a revert string, ``"Panic"`` for a
    panic, ``""`` when the revert carried no data or unknown data); ``args`` maps the error's
    parameter names to decoded values (addresses checksummed, enums as their Python mirror).
    """

    def __init__(self, name: str, args: Mapping[str, Any], data: bytes) -> None:
        self.name = name
        self.args_by_name: dict[str, Any] = dict(args)
        self.data = data
        super().__init__(self._describe())

    def _describe(self) -> str:
        if not self.name:
            return f"reverted without a known reason (data {HexBytes(self.data).to_0x_hex()})"
        rendered = ", ".join(
            f"{key}={_render(value, asset=key in ASSET_ID_ARGS)}"
            for key, value in self.args_by_name.items()
        )
        return f"reverted with {self.name}({rendered})"


#: Error arguments that are asset ids: shown as 0x and 64 hex digits, as everything prints them.
ASSET_ID_ARGS: Final = frozenset({"assetId", "parentId", "tokenId"})


def _render(value: Any, *, asset: bool = False) -> str:
    if asset and isinstance(value, int):
        return f"0x{value:064x}"
    if isinstance(value, IntEnum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, bytes):
        return HexBytes(value).to_0x_hex()
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else str(value)


@dataclass(frozen=True)
class ErrorSpec:
    """A custom error as an ABI declares it."""

    name: str
    types: tuple[str, ...]
    arg_names: tuple[str, ...]
    enums: tuple[str | None, ...]

    @property
    def signature(self) -> str:
        """``Name(type,type)``."""
        return f"{self.name}({','.join(self.types)})"

    @property
    def selector(self) -> bytes:
        """The first four bytes of ``keccak256(signature)``."""
        return keccak(text=self.signature)[:4]


@functools.cache
def known_errors() -> dict[bytes, ErrorSpec]:
    """Selector -> error, over every error in every packaged artifact."""
    specs: dict[bytes, ErrorSpec] = {}
    for name in artifact_names():
        for element in load_artifact(name).abi:
            item = cast(dict[str, Any], element)
            if item.get("type") != "error":
                continue
            inputs = item.get("inputs", [])
            enums: list[str | None] = []
            for arg in inputs:
                internal = str(arg.get("internalType", ""))
                enum = internal.removeprefix("enum ").rsplit(".", 1)[-1]
                enums.append(enum if internal.startswith("enum ") else None)
            spec = ErrorSpec(
                name=str(item["name"]),
                types=tuple(str(arg["type"]) for arg in inputs),
                arg_names=tuple(str(arg["name"]) for arg in inputs),
                enums=tuple(enums),
            )
            specs[spec.selector] = spec
    return specs


def decode_revert_data(data: bytes) -> ContractRevert:
    """The typed revert for raw revert data."""
    selector, payload = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING_SELECTOR:
            (message,) = abi_decode(["string"], payload)
            return ContractRevert("Error", {"message": message}, data)
        if selector == _PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], payload)
            return ContractRevert(
                "Panic", {"code": code, "reason": PANIC_CODES.get(code, "unknown")}, data
            )
        spec = known_errors().get(selector)
        if spec is None:
            return ContractRevert("", {}, data)
        values = abi_decode(list(spec.types), payload)
    except DecodingError:
        return ContractRevert("", {}, data)
    args = {
        arg: _convert(value, abi_type, enum)
        for arg, value, abi_type, enum in zip(
            spec.arg_names, values, spec.types, spec.enums, strict=True
        )
    }
    return ContractRevert(spec.name, args, data)


def _convert(value: Any, abi_type: str, enum: str | None) -> Any:
    if enum is not None and enum in SOLIDITY_ENUMS:
        try:
            return SOLIDITY_ENUMS[enum](value)
        except ValueError:
            return value  # not a member: keep the number rather than lose the revert
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def revert_from_exception(error: BaseException) -> ContractRevert | None:
    """The typed revert behind ``error``, or None if ``error`` is not a revert.

    Understands eth-tester's ``TransactionFailed`` and web3's ``ContractLogicError`` family
    (``ContractCustomError``, ``ContractPanicError``), including web3's own wrapping of the
    eth-tester error.
    """
    if isinstance(error, ContractRevert):
        return error
    data = getattr(error, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert_data(bytes.fromhex(data[2:]))
    if isinstance(data, bytes):
        return decode_revert_data(data)
    message = error.args[0] if error.args else ""
    if isinstance(message, BaseException):
        return revert_from_exception(message)
    if isinstance(message, bytes):
        return decode_revert_data(message)
    if not isinstance(message, str) or not message.startswith(_REVERTED_PREFIX):
        return None
    detail = message.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip()
    if detail.startswith(("b'", 'b"')):
        try:
            raw = ast.literal_eval(detail)
        except (ValueError, SyntaxError):
            raw = None
        if isinstance(raw, bytes):
            return decode_revert_data(raw)
    if detail.startswith("0x"):
        try:
            return decode_revert_data(bytes.fromhex(detail[2:]))
        except ValueError:
            pass
    if not detail:
        return ContractRevert("", {}, b"")
    return ContractRevert("Error", {"message": detail}, b"")


# ------------------------------------------------------------------ the call a revert answers
@dataclass(frozen=True)
class Call:
    """The call a revert answers: who sent it, to which contract of the deployment, which
    function with which arguments. A field is None (``args`` empty) when it is not known."""

    sender: str | None = None
    contract: str | None = None
    function: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FunctionSpec:
    """A contract function as an ABI declares it."""

    contract: str
    name: str
    types: tuple[str, ...]
    arg_names: tuple[str, ...]


@functools.cache
def known_functions() -> dict[bytes, tuple[FunctionSpec, ...]]:
    """Selector -> the functions of the packaged artifacts with that selector."""
    specs: dict[bytes, list[FunctionSpec]] = {}
    for contract in artifact_names():
        for element in load_artifact(contract).abi:
            item = cast(dict[str, Any], element)
            if item.get("type") != "function":
                continue
            inputs = item.get("inputs", [])
            spec = FunctionSpec(
                contract,
                str(item["name"]),
                tuple(str(arg["type"]) for arg in inputs),
                tuple(str(arg["name"]) for arg in inputs),
            )
            selector = keccak(text=f"{spec.name}({','.join(spec.types)})")[:4]
            specs.setdefault(selector, []).append(spec)
    return {selector: tuple(found) for selector, found in specs.items()}


def decode_call(
    sender: str | None, to: str | None, data: bytes, contracts: Mapping[str, str]
) -> Call:
    """The :class:`Call` of a transaction or ``eth_call``: ``contracts`` maps the deployment's
    addresses to contract names; tuple arguments are left out."""
    contract = contracts.get(to_checksum_address(to)) if to else None
    candidates = known_functions().get(data[:4], ())
    spec = next((item for item in candidates if item.contract == contract), None)
    spec = spec or (candidates[0] if candidates else None)
    args: dict[str, Any] = {}
    if spec is not None and not any(kind.startswith("(") for kind in spec.types):
        try:
            values = abi_decode(list(spec.types), data[4:])
        except (DecodingError, ValueError, OverflowError):
            values = ()
        args = {
            name.lstrip("_"): _convert(value, kind, None)
            for name, value, kind in zip(spec.arg_names, values, spec.types, strict=False)
        }
    return Call(
        sender=to_checksum_address(sender) if sender else None,
        contract=contract,
        function=spec.name if spec else None,
        args=args,
    )


class Facts(Protocol):
    """What an explanation may look up beyond the revert and its call: the chain as it is
    now, and names. Each answer is None when it cannot be known."""

    def holder_of(self, asset: int) -> str | None:
        """The asset's current holder, checksummed."""

    def held(self, account: str, asset: int) -> bool | None:
        """Whether ``account`` ever held ``asset``."""

    def name_of(self, account: str) -> str | None:
        """A name for ``account``: a contract of the deployment, or a participant's name."""


@dataclass(frozen=True)
class KnownFacts:
    """:class:`Facts` given in advance: holders by asset id, the (account, asset) pairs of
    former holdings, and names by checksummed address. Anything not given is unknown."""

    holders: Mapping[int, str] = field(default_factory=dict)
    former: frozenset[tuple[str, int]] = frozenset()
    names: Mapping[str, str] = field(default_factory=dict)

    def holder_of(self, asset: int) -> str | None:
        """The holder given for ``asset``."""
        return self.holders.get(asset)

    def held(self, account: str, asset: int) -> bool | None:
        """True for a given former holding, None otherwise (unknown)."""
        return True if (account, asset) in self.former else None

    def name_of(self, account: str) -> str | None:
        """The name given for ``account``."""
        return self.names.get(account)


_TRANSFER_TOPIC: Final = keccak(text="Transfer(address,address,uint256)")
_REGISTRY: Final = "DataAssetRegistry"


class CallLog:
    """Remembers the last call a ``Web3`` asked its node to run, for :func:`explain`, and
    looks up the :class:`Facts` an explanation needs on the same node.

    Every transaction of :class:`~provledger.chain.transactions.Sender` is first estimated
    (``eth_estimateGas``) and a mined failure is replayed (``eth_call``), so the last such
    request is the call a revert answers. ``contracts`` maps the deployment's addresses to
    contract names; ``name_text``, when set, turns a participant's name hash into its name
    (the CLI reads the blob folder); logs are searched from ``from_block`` (the deployment's
    first block: nothing of it is older).
    """

    _METHODS: Final = frozenset({"eth_call", "eth_estimateGas"})

    def __init__(self, contracts: Mapping[str, str], *, from_block: int = 0) -> None:
        self.contracts: dict[str, str] = {
            str(to_checksum_address(address)): name for address, name in contracts.items()
        }
        self.from_block = from_block
        self.name_text: Callable[[bytes], str | None] | None = None
        self._request: Mapping[str, Any] | None = None
        self._quiet = False
        self._w3: Web3 | None = None

    def attach(self, w3: Web3) -> CallLog:
        """Note ``w3``'s calls from now on; returns this log."""
        from web3.middleware.base import Web3Middleware

        log = self

        class Noting(Web3Middleware):
            def request_processor(self, method: RPCEndpoint, params: Any) -> Any:
                if (
                    not log._quiet
                    and method in CallLog._METHODS
                    and params
                    and isinstance(params[0], Mapping)
                ):
                    log._request = params[0]
                return method, params

        self._w3 = w3
        w3.middleware_onion.add(cast(Any, Noting), name="provledger-call-log")
        return self

    @property
    def last(self) -> Call | None:
        """The last call noted, decoded; None before any."""
        request = self._request
        if request is None:
            return None
        data = request.get("data", request.get("input")) or b""
        raw = bytes(HexBytes(data))
        return decode_call(request.get("from"), request.get("to"), raw, self.contracts)

    def chain_time(self) -> int | None:
        """The latest block's time (the clock the contracts compare with), if it can be read."""
        block = self._look_up(lambda w3: w3.eth.get_block("latest"))
        return None if block is None else int(block["timestamp"])

    def holder_of(self, asset: int) -> str | None:
        """The asset's holder on the node now (ERC-721 ``ownerOf``)."""
        registry = self._registry()
        if registry is None:
            return None
        holder = self._look_up(lambda w3: registry(w3).functions.ownerOf(asset).call())
        return None if holder is None else str(to_checksum_address(holder))

    def held(self, account: str, asset: int) -> bool | None:
        """Whether a ``Transfer`` (or the mint) ever gave ``asset`` to ``account``."""
        registry = self._registry()
        if registry is None:
            return None
        topics = [
            "0x" + _TRANSFER_TOPIC.hex(),
            None,
            "0x" + bytes.fromhex(str(account)[2:]).rjust(32, b"\0").hex(),
            f"0x{asset:064x}",
        ]
        logs = self._look_up(
            lambda w3: w3.eth.get_logs(
                cast(
                    Any,
                    {
                        "address": registry(w3).address,
                        "fromBlock": self.from_block,
                        "topics": topics,
                    },
                )
            )
        )
        return None if logs is None else bool(logs)

    def name_of(self, account: str) -> str | None:
        """A contract of the deployment by its name; a participant by the name its name hash
        stands for, when ``name_text`` knows it."""
        contract = self.contracts.get(str(account))
        if contract is not None:
            return f"the {contract} contract"
        registry, name_text = self._registry(), self.name_text
        if registry is None or name_text is None:
            return None
        record = self._look_up(lambda w3: registry(w3).functions.participant(account).call())
        if record is None or not any(record[3]):
            return None
        return name_text(bytes(record[3]))

    def _registry(self) -> Callable[[Web3], Any] | None:
        address = next((a for a, name in self.contracts.items() if name == _REGISTRY), None)
        if address is None:
            return None
        abi = load_artifact(_REGISTRY).abi
        return lambda w3: w3.eth.contract(address=cast(Any, address), abi=abi)

    def _look_up(self, read: Callable[[Web3], T]) -> T | None:
        """``read`` on the node, unnoted (it answers no user call); None if it fails."""
        if self._w3 is None:
            return None
        self._quiet = True
        try:
            return read(self._w3)
        except Exception:  # explaining a revert must not fail on a second error
            return None
        finally:
            self._quiet = False


@functools.cache
def known_roles() -> dict[bytes, str]:
    """Role id -> name, over every ``*_ROLE`` constant of the packaged artifacts."""
    roles: dict[bytes, str] = {}
    for contract in artifact_names():
        for element in load_artifact(contract).abi:
            item = cast(dict[str, Any], element)
            name = str(item.get("name", ""))
            if item.get("type") == "function" and name.endswith("_ROLE") and not item["inputs"]:
                role = b"\x00" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)
                roles[role] = name
    return roles


def explain(
    revert: ContractRevert,
    call: Call | None = None,
    now: float | None = None,
    facts: Facts | None = None,
) -> str:
    """The revert in words for people: what is wrong and what resolves it (a command, and
    who may run it), followed by the error's name in brackets; the error as
    ``reverted with Name(args)`` when there is nothing better to say.

    ``call`` is the call the revert answers (it tells "you" from others, and the asset of an
    approval); ``now`` the time relative times are counted from (the chain's clock when
    known); ``facts`` what may be looked up: the current holder, a former holding, names.
    """
    words = _Words(call or Call(), now, facts or KnownFacts())
    explainer = _EXPLAINERS.get(revert.name)
    sentence = explainer(words, revert.args_by_name) if explainer else None
    return f"{sentence} [{revert.name}]" if sentence else str(revert)


def explained_errors() -> frozenset[str]:
    """The names of the errors :func:`explain` puts in words."""
    return frozenset(_EXPLAINERS)


class _Words:
    """How an explanation names things: assets, accounts ("you", names), times, amounts."""

    def __init__(self, call: Call, now: float | None, facts: Facts) -> None:
        self.call = call
        self.now = now
        self.facts = facts

    @staticmethod
    def asset(value: Any) -> str:
        return _render(value, asset=True)

    def is_you(self, account: Any) -> bool:
        return self.call.sender is not None and account == self.call.sender

    def who(self, account: Any) -> str:
        """``you (0x…)`` for the sender, ``Name (0x…)`` when a name is known, else the
        address."""
        if self.is_you(account):
            return f"you ({account})"
        return self.party(account)

    def party(self, account: Any) -> str:
        """An account other than "you": ``Name (0x…)`` when a name is known."""
        name = self.facts.name_of(str(account))
        return f"{name} ({account})" if name else str(account)

    def verb(self, account: Any, plural: str, singular: str) -> str:
        """The verb agreeing with :meth:`who`: "you are" and "0x… is"."""
        return plural if self.is_you(account) else singular

    def time(self, value: Any) -> str:
        return format_time(int(value), self.now)

    def native(self, value: Any) -> str:
        return format_amount(int(value), NATIVE)

    def call_arg(self, *names: str) -> Any:
        for name in names:
            if name in self.call.args:
                return self.call.args[name]
        return None


def _status(value: Any) -> str:
    return value.name.lower() if isinstance(value, IntEnum) else str(value)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _role(w: _Words, args: Mapping[str, Any]) -> str:
    account, role = args["account"], known_roles().get(args["neededRole"])
    lack = f"{w.who(account)} {w.verb(account, 'lack', 'lacks')}"
    if role is None:
        return f"{lack} role {_render(args['neededRole'])}"
    from provledger.chain.deploy import AUTHORITY_ROLES  # deploy imports this module

    keys = {name: key for key, name in AUTHORITY_ROLES.items()}
    if role not in keys:
        return (
            f"{lack} {role}, which only the deployment's own contracts hold "
            "(`provledger deploy` grants it)"
        )
    # The contracts never set another admin role: DEFAULT_ADMIN_ROLE administers every role.
    granter = "an admin" if role == "DEFAULT_ADMIN_ROLE" else "an admin (DEFAULT_ADMIN_ROLE)"
    return (
        f"{lack} {role}: {granter} grants it with `provledger roles grant {keys[role]} {account}`"
    )


def _not_holder(
    w: _Words, asset: Any, account: Any, holder: Any = None, *, unapproved: bool = False
) -> str:
    """``account`` does not hold ``asset``: "no longer" for a former holder, with the holder
    now (looked up when not given); ``unapproved`` adds that the holder has not approved
    ``account`` to move it."""
    holder = holder or w.facts.holder_of(int(asset))
    if holder:
        now = f": {w.party(holder)} holds it now"
        now += f" and has not approved {'you' if w.is_you(account) else 'it'}" if unapproved else ""
    else:
        now = ", and its holder has not approved it" if unapproved else ""
    former = w.facts.held(str(account), int(asset))
    if w.is_you(account):
        hold = "no longer hold" if former else "do not hold"
        return f"{w.who(account)} {hold} asset {w.asset(asset)}{now}"
    hold = "no longer holds" if former else "does not hold"
    return f"{w.party(account)} {hold} asset {w.asset(asset)}{now}"


def _insufficient_approval(w: _Words, args: Mapping[str, Any]) -> str:
    operator, asset = args["operator"], args["tokenId"]
    if w.is_you(operator):
        return _not_holder(w, asset, operator, unapproved=True)
    holder = w.facts.holder_of(int(asset))
    by = f"its holder {w.party(holder)}" if holder else "its holder"
    return (
        f"{w.party(operator)} may not move asset {w.asset(asset)}: {by} has not approved it "
        "(the approval was withdrawn, or the asset changed hands)"
    )


def _invalid_approver(w: _Words, args: Mapping[str, Any]) -> str:
    asset = w.call_arg("tokenId")
    approver = args["approver"]
    if asset is None:
        return f"{w.who(approver)} {w.verb(approver, 'do', 'does')} not hold the asset to approve"
    return _not_holder(w, asset, approver) + ", so only its holder may approve a move"


def _not_active(w: _Words, args: Mapping[str, Any]) -> str:
    account, status = args["account"], args["status"]
    be = w.verb(account, "are", "is")
    if status == ParticipantStatus.SUSPENDED:
        return (
            f"{w.who(account)} {be} suspended as a participant: only a registrar can "
            "reinstate the account (the registry's reinstateParticipant)"
        )
    whom = "you" if w.is_you(account) else "it"
    return (
        f"{w.who(account)} {be} not a participant: a registrar (REGISTRAR_ROLE) adds {whom} "
        f"with `provledger participants add {account} --jurisdiction CC --name NAME`"
    )


def _permit(w: _Words, asset: Any, recipient: Any) -> str:
    return (
        "an export approver (EXPORT_APPROVER_ROLE) issues one with "
        f"`provledger export permit {w.asset(asset)} {recipient} --days 30`"
    )


def _unexpected_status(w: _Words, args: Mapping[str, Any]) -> str:
    asset, status, expected = w.asset(args["assetId"]), args["status"], args["expected"]
    sentence = f"asset {asset} is {_status(status)}, but this step needs it {_status(expected)}"
    if expected == AssetStatus.APPLIED and status == AssetStatus.NOTICED:
        sentence += ": it was accepted already, and its public notice runs"
    elif expected == AssetStatus.NOTICED and status == AssetStatus.APPLIED:
        sentence += f": a registrar accepts it first with `provledger review accept {asset}`"
    return sentence


def _unknown_asset(w: _Words, args: Mapping[str, Any]) -> str:
    asset = args.get("assetId", args.get("tokenId"))
    return (
        f"asset {w.asset(asset)} is not registered "
        "(`provledger hash FILE` prints the asset id of a file)"
    )


def _invalid_currency(w: _Words, args: Mapping[str, Any]) -> str:
    currency = args["currency"]
    if isinstance(currency, bytes):  # an appraisal's ISO 4217 code
        return f"{_text(currency)!r} is not a three-letter ISO 4217 currency code (e.g. CNY)"
    return f"{currency} cannot be a currency of the market (not a token contract)"


def _cannot_receive(w: _Words, args: Mapping[str, Any]) -> str:
    receiver = args["receiver"]
    if int(str(receiver), 16) == 0:
        return "an asset cannot go to the zero address: give the new holder's address"
    return f"{receiver} is a contract that does not accept ERC-721 assets"


_Explainer = Callable[[_Words, Mapping[str, Any]], str]

_EXPLAINERS: Final[dict[str, _Explainer]] = {
    # -- roles, pause
    "AccessControlUnauthorizedAccount": _role,
    "AccessControlBadConfirmation": lambda w, a: (
        "an account renounces a role only for itself: `provledger roles revoke` (by an admin) "
        "takes one from another account"
    ),
    "EnforcedPause": lambda w, a: (
        "the registry is paused by its admin: nothing changes until it is unpaused"
    ),
    "ExpectedPause": lambda w, a: "the registry is not paused",
    # -- holding and approvals (ERC-721)
    "ERC721InsufficientApproval": _insufficient_approval,
    "ERC721InvalidApprover": _invalid_approver,
    "ERC721IncorrectOwner": lambda w, a: _not_holder(w, a["tokenId"], a["sender"], a["owner"]),
    "ERC721NonexistentToken": _unknown_asset,
    "ERC721InvalidReceiver": _cannot_receive,
    "ERC721InvalidSender": lambda w, a: f"{a['sender']} cannot send an asset",
    "ERC721InvalidOwner": lambda w, a: f"{a['owner']} cannot hold assets",
    "ERC721InvalidOperator": lambda w, a: f"{a['operator']} cannot be approved to move assets",
    "NotAssetHolder": lambda w, a: _not_holder(w, a["assetId"], a["caller"], a["holder"]),
    "UnknownAsset": _unknown_asset,
    # -- participants
    "ParticipantNotActive": _not_active,
    "ParticipantNotSuspended": lambda w, a: (
        f"{w.party(a['account'])} is not suspended (it is {_status(a['status'])})"
    ),
    "ParticipantAlreadyRegistered": lambda w, a: (
        f"{w.party(a['account'])} is already a participant (`provledger participants list`)"
    ),
    "InvalidJurisdiction": lambda w, a: (
        f"{_text(a['jurisdiction'])!r} is not a two-letter jurisdiction code (e.g. CN)"
    ),
    "InvalidParticipant": lambda w, a: f"{a['account']} cannot be a participant",
    # -- registration
    "UnknownCategory": lambda w, a: (
        f"category {a['category']} is not on the published list (`provledger categories` lists it)"
    ),
    "InvalidCategory": lambda w, a: f"{a['category']} is not a category code",
    "InvalidGrade": lambda w, a: (
        f"grade {a['grade']} is not 1 (general), 2 (important) or 3 (core)"
    ),
    "ZeroContentHash": lambda w, a: "the content hash is zero: hash the data itself",
    "EmptyMetadataURI": lambda w, a: "the metadata URI is empty",
    "ZeroMetadataHash": lambda w, a: "the metadata hash is zero",
    "EmptyRegistrationList": lambda w, a: "the list of registrations is empty",
    "AssetAlreadyRegistered": lambda w, a: (
        f"this content is already registered, as asset {w.asset(a['assetId'])} by "
        f"{'you' if w.is_you(a['registrant']) else w.party(a['registrant'])} "
        f"(`provledger verify {_render(a['contentHash'])}` shows it)"
    ),
    "UnknownParent": lambda w, a: f"parent {w.asset(a['parentId'])} is not registered",
    "InvalidRelation": lambda w, a: (
        f"relation {a['relation']} to parent {w.asset(a['parentId'])} is not one of the "
        "relations (`provledger register --help` lists them)"
    ),
    "DuplicateParent": lambda w, a: f"parent {w.asset(a['parentId'])} is named twice",
    "TooManyParents": lambda w, a: f"{a['count']} parents, more than the {a['max']} allowed",
    "ParentNotUsable": lambda w, a: (
        f"parent {w.asset(a['parentId'])} is {_status(a['status'])} and cannot be derived from"
    ),
    "ParentNeitherHeldNorLicensed": lambda w, a: (
        f"{w.who(a['registrant'])} {w.verb(a['registrant'], 'neither hold', 'neither holds')} "
        f"parent {w.asset(a['parentId'])} nor a valid licence to it: its holder "
        f"{w.party(a['holder'])} grants one with "
        f"`provledger license grant {w.asset(a['parentId'])} {a['registrant']}`"
    ),
    "SignatureExpired": lambda w, a: (
        f"the signature expired {w.time(a['deadline'])}: the registrant signs the registration "
        "again with `provledger sign`"
    ),
    "InvalidRegistrationSignature": lambda w, a: (
        f"the signature is by {a['recovered']}, not by the registrant {a['registrant']}: "
        "the registration was changed after it was signed, or signed with another key"
    ),
    "InvalidAccountNonce": lambda w, a: (
        f"the signature's nonce is spent or out of turn: {w.party(a['account'])} is at nonce "
        f"{a['currentNonce']}: the registrant signs again with `provledger sign FILE "
        f"--category CODE --nonce {a['currentNonce']}`"
    ),
    "InvalidModule": lambda w, a: f"{a['module']} is not a contract that can be a module",
    "CallerNotRegistry": lambda w, a: (
        f"only the registry calls this, not {a['caller']}: go through the registry"
    ),
    # -- status, restrictions, transfers
    "AssetFrozen": lambda w, a: (
        f"asset {w.asset(a['assetId'])} is frozen by an arbiter during a dispute: it moves "
        "again once the arbiter rules (`provledger dispute rule`)"
    ),
    "AssetUnderObjection": lambda w, a: (
        f"an objection against asset {w.asset(a['assetId'])} is open: nothing moves until a "
        "registrar resolves it"
    ),
    "AssetNotTransferable": lambda w, a: (
        f"asset {w.asset(a['assetId'])} is {_status(a['status'])} and can no longer move"
    ),
    "AssetNotModifiable": lambda w, a: (
        f"asset {w.asset(a['assetId'])} is {_status(a['status'])} and can no longer change"
    ),
    "CrossBorderTransferProhibited": lambda w, a: (
        f"asset {w.asset(a['assetId'])} is core data (grade {a['grade']}): it never goes "
        f"from {_text(a['fromJurisdiction'])} to {_text(a['toJurisdiction'])}, under any permit"
    ),
    # -- export permits
    "ExportPermitMissing": lambda w, a: (
        f"asset {w.asset(a['assetId'])} crosses the border to {w.party(a['recipient'])} only "
        f"under an export permit: {_permit(w, a['assetId'], a['recipient'])}"
    ),
    "ExportPermitExpired": lambda w, a: (
        f"the export permit of asset {w.asset(a['assetId'])} for {w.party(a['recipient'])} "
        f"expired {w.time(a['expiresAt'])}: {_permit(w, a['assetId'], a['recipient'])}"
    ),
    "ExportPermitDestinationMismatch": lambda w, a: (
        f"the export permit of asset {w.asset(a['assetId'])} names {_text(a['permitted'])}, "
        f"but {w.party(a['recipient'])} is in {_text(a['actual'])} now: "
        f"{_permit(w, a['assetId'], a['recipient'])}"
    ),
    "ExportPermitNotApplicable": lambda w, a: (
        f"asset {w.asset(a['assetId'])} is grade {a['grade']}: "
        + (
            "it crosses borders without a permit"
            if a["grade"] == 1
            else "core data never crosses a border, so no permit can allow it"
        )
    ),
    "PermitExpiryInPast": lambda w, a: (
        f"the expiry {w.time(a['expiresAt'])} is already past by the chain's clock"
    ),
    # -- review, notice, objections, certificates
    "InvalidNoticePeriod": lambda w, a: (
        f"a public notice of {a['period']} s is not between 1 s and {a['max']} s"
    ),
    "UnexpectedStatus": _unexpected_status,
    "NoticePeriodNotOver": lambda w, a: (
        f"the public notice of asset {w.asset(a['assetId'])} runs until "
        f"{w.time(a['noticeEndsAt'])}: certify it after that"
    ),
    "NoticePeriodOver": lambda w, a: (
        f"the public notice of asset {w.asset(a['assetId'])} ended "
        f"{w.time(a['noticeEndsAt'])}: objections are closed"
    ),
    "OpenObjections": lambda w, a: (
        f"asset {w.asset(a['assetId'])} has {a['count']} open objection(s): a registrar "
        "resolves them before it is certified"
    ),
    "ZeroDocumentHash": lambda w, a: "the document hash is zero: give the document",
    "UnknownObjection": lambda w, a: f"there is no objection #{a['objectionId']}",
    "ObjectionAlreadyResolved": lambda w, a: f"objection #{a['objectionId']} is already resolved",
    "InvalidRegistrationType": lambda w, a: (
        f"certificate type {a['registrationType']} is not one of initial, license, transfer, "
        "change, cancellation or objection"
    ),
    "AlreadyCertified": lambda w, a: (
        f"asset {w.asset(a['assetId'])} is already certified "
        f"(registration no. {a['registrationNumber']})"
    ),
    "NotInitiallyCertified": lambda w, a: (
        f"asset {w.asset(a['assetId'])} has no initial certificate yet: a registrar issues it "
        f"with `provledger certify {w.asset(a['assetId'])} --type initial`"
    ),
    # -- appraisals
    "ZeroValuation": lambda w, a: "a valuation must be more than zero",
    "InvalidCurrency": _invalid_currency,
    "InvalidValuationMethod": lambda w, a: (
        f"valuation method {a['method']} is not one of the methods "
        "(`provledger appraise --help` lists them)"
    ),
    "ZeroReportHash": lambda w, a: "the appraisal report's hash is zero: give the report",
    # -- licenses
    "InvalidLicenseKind": lambda w, a: (
        f"license kind {a['kind']} is not processing-use or product-operation"
    ),
    "InvalidLicensee": lambda w, a: f"{a['licensee']} cannot be a licensee",
    "ZeroTermsHash": lambda w, a: "the license terms' hash is zero: give the terms",
    "LicenseExpiryInPast": lambda w, a: (
        f"the expiry {w.time(a['expiresAt'])} is already past by the chain's clock"
    ),
    "UnknownLicense": lambda w, a: f"there is no license #{a['licenseId']}",
    "LicenseAlreadyRevoked": lambda w, a: (
        f"license #{a['licenseId']} was revoked {w.time(a['revokedAt'])}"
    ),
    "LicenseAlreadyExpired": lambda w, a: (
        f"license #{a['licenseId']} expired {w.time(a['expiresAt'])}"
    ),
    "SoldLicenseNotRevocable": lambda w, a: (
        f"license #{a['licenseId']} was sold through the market: it lasts until it expires "
        "and cannot be revoked"
    ),
    # -- disputes
    "UnknownDispute": lambda w, a: f"there is no dispute #{a['disputeId']}",
    "DisputeClosed": lambda w, a: f"dispute #{a['disputeId']} is closed: it was ruled on",
    "DisputeAlreadyFrozen": lambda w, a: (
        f"the asset of dispute #{a['disputeId']} is already frozen"
    ),
    "DisputeNotFrozen": lambda w, a: (
        f"dispute #{a['disputeId']} is not frozen: an arbiter freezes it first with "
        f"`provledger dispute freeze {a['disputeId']}`"
    ),
    "InvalidRuling": lambda w, a: (
        f"ruling {a['ruling']} is not dismiss, transfer-to-claimant or cancel-asset"
    ),
    # -- batches
    "ZeroRoot": lambda w, a: "the batch root is zero",
    "EmptyBatch": lambda w, a: "the batch holds no content hash",
    "BatchAlreadyAnchored": lambda w, a: (
        f"batch {_render(a['root'])} was already anchored by "
        f"{'you' if w.is_you(a['submitter']) else w.party(a['submitter'])} "
        f"{w.time(a['anchoredAt'])}"
    ),
    "UnknownBatch": lambda w, a: f"no batch {_render(a['root'])} is anchored",
    "NotBatchSubmitter": lambda w, a: (
        f"batch {_render(a['root'])} was anchored by {w.party(a['submitter'])}: only it "
        "registers the batch's content"
    ),
    "InvalidMerkleProof": lambda w, a: (
        f"content {_render(a['contentHash'])} is not a leaf of batch {_render(a['root'])} "
        "(`provledger verify FILE` finds the batch that holds it)"
    ),
    # -- market
    "ZeroPrice": lambda w, a: "a price must be more than zero",
    "UnknownCurrency": lambda w, a: (
        f"the market does not take {a['currency']}: it takes the tokens its admin listed, "
        "or ETH (`--currency native`)"
    ),
    "ExpiryInPast": lambda w, a: (
        f"the expiry {w.time(a['expiresAt'])} is already past by the chain's clock"
    ),
    "MinBidAbovePrice": lambda w, a: (
        f"the minimum bid {a['minBid']} is above the price {a['price']}"
    ),
    "ZeroLicenseDuration": lambda w, a: "a license on offer must last at least a day (--days)",
    "LicenseDurationTooLong": lambda w, a: (
        f"a license of {a['licenseDuration']} s is longer than the {a['maximum']} s allowed"
    ),
    "MarketNotApproved": lambda w, a: (
        f"the market is not approved to move asset {w.asset(a['assetId'])}: its holder "
        f"{w.party(a['holder'])} lists it again with `provledger market list`, which approves it"
    ),
    "UnknownOffer": lambda w, a: (
        f"there is no offer #{a['offerId']} (`provledger market offers` lists them)"
    ),
    "OfferNotOpen": lambda w, a: f"offer #{a['offerId']} is {_status(a['status'])}",
    "OfferExpired": lambda w, a: f"offer #{a['offerId']} expired {w.time(a['expiresAt'])}",
    "NotOfferSeller": lambda w, a: (
        f"offer #{a['offerId']} is {w.party(a['seller'])}'s, not "
        + ("yours" if w.is_you(a["caller"]) else f"{w.party(a['caller'])}'s")
    ),
    "AssetMovedSinceListing": lambda w, a: (
        f"the asset of offer #{a['offerId']} changed hands since it was listed: "
        f"{w.party(a['holder'])} holds it, not the seller {w.party(a['seller'])}"
    ),
    "BuyerIsSeller": lambda w, a: f"offer #{a['offerId']} is your own",
    "WrongPayment": lambda w, a: (
        f"the offer costs {w.native(a['expected'])}, not {w.native(a['sent'])}"
    ),
    "PaymentShortfall": lambda w, a: (
        f"the market received {a['received']} of the {a['expected']} due in token "
        f"{a['currency']} (a token that takes a fee on transfers cannot pay)"
    ),
    "BidsNotAccepted": lambda w, a: (
        f"offer #{a['offerId']} takes no bids (its minimum bid is 0): buy it at its price "
        f"with `provledger market buy {a['offerId']}`"
    ),
    "BidBelowMinimum": lambda w, a: (
        f"a bid of {a['amount']} is below offer #{a['offerId']}'s minimum of {a['minimum']}"
    ),
    "UnknownBid": lambda w, a: f"there is no bid #{a['bidId']}",
    "BidNotOpen": lambda w, a: f"bid #{a['bidId']} is {_status(a['status'])}",
    "BidExpired": lambda w, a: f"bid #{a['bidId']} expired {w.time(a['expiresAt'])}",
    "NotBidder": lambda w, a: (
        f"bid #{a['bidId']} is {w.party(a['bidder'])}'s, not "
        + ("yours" if w.is_you(a["caller"]) else f"{w.party(a['caller'])}'s")
    ),
    "NothingToWithdraw": lambda w, a: (
        f"the market owes {'you' if w.is_you(a['account']) else w.party(a['account'])} "
        "nothing in " + ("ETH" if int(a["currency"], 16) == 0 else f"token {a['currency']}")
    ),
    "NativeTransferFailed": lambda w, a: (
        f"{a['account']} refused a payment of {w.native(a['amount'])}: it is a contract that "
        "takes no ETH"
    ),
    "FeeAboveCap": lambda w, a: (
        f"a fee of {a['feeBps']} basis points is above the cap of {a['cap']}"
    ),
    "InvalidFeeRecipient": lambda w, a: f"{a['feeRecipient']} cannot receive the market's fees",
    # -- tokens the market is paid in (ERC-20)
    "ERC20InsufficientBalance": lambda w, a: (
        f"{w.who(a['sender'])} {w.verb(a['sender'], 'hold', 'holds')} {a['balance']} of the "
        f"token, and {a['needed']} are needed"
    ),
    "ERC20InsufficientAllowance": lambda w, a: (
        f"{w.party(a['spender'])} may spend {a['allowance']} of the token, and {a['needed']} "
        "are needed: the payer approves more"
    ),
    "SafeERC20FailedOperation": lambda w, a: f"token {a['token']} refused the transfer",
    "ReentrancyGuardReentrantCall": lambda w, a: "a call re-entered the contract and was refused",
}
