"""The call a revert answers, and what an explanation may look up about the chain.

:class:`Call` is who sent a transaction or ``eth_call``, to which contract of the deployment,
which function with which arguments; :func:`decode_call` reads it from call data. A
:class:`CallLog` attached to a ``Web3`` remembers the last call and answers the :class:`Facts`
an explanation needs (holders, former holdings, names) from the same node.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from provledger.chain.artifacts import abi_items, load_artifact
from provledger.chain.reverts import typed_value

if TYPE_CHECKING:
    from web3 import Web3
    from web3.types import RPCEndpoint

T = TypeVar("T")


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
    for contract, item in abi_items("function"):
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
            name.lstrip("_"): typed_value(value, kind, None)
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
    """Remembers the last call a ``Web3`` asked its node to run, for
    :func:`~provledger.chain.explain.explain`, and looks up the :class:`Facts` an explanation
    needs on the same node.

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
