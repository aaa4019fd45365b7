"""Which EVM a node runs, found by running it: read-only calls that execute one new opcode each.

Each probe is ``eth_call`` with no ``to``: the node runs the data as creation code and returns
what it would deploy (nothing here); no transaction is sent and nothing is written. A probe that
fails while the control probe (the same shape with no new opcode) runs means the node lacks the
opcode, and with it the hardfork that introduced it. A node that does not answer at all is a
chain failure, raised by the provider as
:class:`~provledger.chain.connection.ChainUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception, Web3RPCError

from provledger.chain.artifacts import DEFAULT_EVM_VERSION, EVM_VERSIONS
from provledger.errors import ConfigurationError, ServiceUnavailableError


@dataclass(frozen=True)
class Opcode:
    """An opcode a hardfork introduced, with creation code that executes it and stops."""

    name: str
    eip: int
    fork: str
    """The hardfork (solc's ``evmVersion`` name) that introduced it."""
    probe: bytes

    def describe(self) -> str:
        """``MCOPY, EIP-5656``."""
        return f"{self.name}, EIP-{self.eip}"


#: The control probe: ``PUSH1 0 POP STOP``, which every EVM runs.
CONTROL: Final = bytes.fromhex("60005000")

PUSH0: Final = Opcode("PUSH0", 3855, "shanghai", bytes.fromhex("5f5000"))
"""``PUSH0 POP STOP``."""
TRANSIENT_STORAGE: Final = Opcode(
    "TSTORE/TLOAD", 1153, "cancun", bytes.fromhex("600160005d60005c5000")
)
"""``TSTORE(0, 1)``, ``TLOAD(0)``, ``POP``, ``STOP``."""
MCOPY: Final = Opcode("MCOPY", 5656, "cancun", bytes.fromhex("6020600060205e00"))
"""``MCOPY(dest 32, src 0, size 32)``, ``STOP``."""

#: What each artifact set needs of the node, by its EVM version.
REQUIREMENTS: Final[Mapping[str, tuple[Opcode, ...]]] = {
    "shanghai": (PUSH0,),
    "cancun": (PUSH0, TRANSIENT_STORAGE, MCOPY),
}


class EvmProbeFailedError(ServiceUnavailableError):
    """The node refuses even the control probe, so what it lacks cannot be told."""

    template = (
        "the node at {url} does not run a read-only creation call (eth_call without 'to'), so "
        "its EVM version cannot be checked: {reason}"
    )
    url: str
    reason: str


class NodeEvmTooOldError(ConfigurationError):
    """The node lacks opcodes the chosen artifact set needs: deploying would leave contracts
    that fail in some calls."""

    url: str
    evm_version: str
    missing: tuple[Opcode, ...]

    def _message(self) -> str:
        names = ", and ".join(opcode.describe() for opcode in self.missing)
        verb = "is" if len(self.missing) == 1 else "are"
        older = [version for version in EVM_VERSIONS if _older(version, self.evm_version)]
        if older:
            fix = f"deploy the {older[0]} build with --evm-version {older[0]}"
        else:
            fix = f"provledger has no build for an EVM older than {self.evm_version}"
        return (
            f"the node at {self.url} runs an EVM older than {self.evm_version} ({names}, {verb} "
            f"missing): these contracts need {self.evm_version}; {fix}"
        )


def _older(version: str, than: str) -> bool:
    # EVM_VERSIONS runs newest first.
    return EVM_VERSIONS.index(version) > EVM_VERSIONS.index(than)


def _runs(w3: Web3, code: bytes) -> tuple[bool, str]:
    """Whether the node runs ``code`` as creation code in a read-only call, and if not, why."""
    try:
        w3.eth.call({"data": HexBytes(code)})
    except Web3RPCError as error:
        detail = (error.rpc_response or {}).get("error")
        if isinstance(detail, dict) and detail.get("message"):
            return False, str(detail["message"])
        return False, error.message
    except (Web3Exception, ValueError) as error:
        return False, str(error) or type(error).__name__
    return True, ""


class EvmProbe:
    """What one node runs; each opcode is probed once, when first asked about."""

    def __init__(self, w3: Web3, url: str) -> None:
        self.w3 = w3
        self.url = url
        self._checked = False
        self._runs: dict[Opcode, bool] = {}

    def _check_control(self) -> None:
        if not self._checked:
            ok, reason = _runs(self.w3, CONTROL)
            if not ok:
                raise EvmProbeFailedError(self.url, reason)
            self._checked = True

    def runs(self, opcode: Opcode) -> bool:
        """Whether the node executes ``opcode``."""
        self._check_control()
        if opcode not in self._runs:
            self._runs[opcode] = _runs(self.w3, opcode.probe)[0]
        return self._runs[opcode]

    def missing(self, evm_version: str) -> tuple[Opcode, ...]:
        """The opcodes the ``evm_version`` artifact set needs that the node lacks."""
        return tuple(opcode for opcode in REQUIREMENTS[evm_version] if not self.runs(opcode))

    def require(self, evm_version: str) -> None:
        """:class:`NodeEvmTooOldError` unless the node runs what ``evm_version`` needs."""
        missing = self.missing(evm_version)
        if missing:
            raise NodeEvmTooOldError(self.url, evm_version, missing)

    def newest(self) -> str:
        """The newest EVM version with an artifact set the node runs.

        Raises:
            NodeEvmTooOldError: it runs none of them (named for the oldest).
        """
        for version in EVM_VERSIONS:
            if not self.missing(version):
                return version
        oldest = EVM_VERSIONS[-1]
        raise NodeEvmTooOldError(self.url, oldest, self.missing(oldest))


def choose_evm_version(w3: Web3, url: str, requested: str = DEFAULT_EVM_VERSION) -> str:
    """The artifact set to deploy: ``requested``, checked against the node, or with ``"auto"``
    the newest the node runs.

    Raises:
        NodeEvmTooOldError: the node lacks an opcode the set needs (exit 2: nothing was sent).
        EvmProbeFailedError: the node does not run even the control probe.
    """
    probe = EvmProbe(w3, url)
    if requested == "auto":
        return probe.newest()
    probe.require(requested)
    return requested
