"""Connections to a chain: the embedded eth-tester chain, or any JSON-RPC node.

The embedded chain runs in-process on py-evm, with the dev accounts of :data:`DEV_MNEMONIC`
funded, so the same addresses exist on it and on anvil. :class:`DevChain` drives the test-only
RPC methods both understand: snapshots, mining, and moving the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, cast

import requests
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.exceptions import Web3RPCError
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCEndpoint, RPCResponse

from provledger.chain.accounts import DEV_ACCOUNT_COUNT, DEV_HD_PATH, DEV_MNEMONIC
from provledger.config import RPC_TIMEOUT_SECONDS, mask_url
from provledger.errors import ProvledgerError, ServiceUnavailableError

#: eth-tester's chain id.
EMBEDDED_CHAIN_ID: Final = 131277322940537


class ChainUnavailableError(ServiceUnavailableError):
    """The node cannot be reached or does not answer like an Ethereum node."""

    template = "cannot reach the chain at {url}: {reason}"
    url: str
    reason: str


def embedded_chain() -> Web3:
    """A fresh in-process chain (eth-tester on py-evm) with the dev accounts funded."""
    from eth_tester import EthereumTester, PyEVMBackend

    backend = PyEVMBackend.from_mnemonic(
        DEV_MNEMONIC, num_accounts=DEV_ACCOUNT_COUNT, hd_path=DEV_HD_PATH
    )
    return Web3(EthereumTesterProvider(EthereumTester(backend)))


@contextmanager
def node_errors(url: str, timeout: float) -> Iterator[None]:
    """Transport failures of a request to the node at ``url`` as :class:`ChainUnavailableError`."""
    try:
        yield
    except requests.exceptions.ConnectionError as error:
        raise ChainUnavailableError(url, "connection refused or host unreachable") from error
    except requests.exceptions.Timeout as error:
        raise ChainUnavailableError(url, f"no answer within {timeout:g} s") from error
    except requests.exceptions.HTTPError as error:
        status = "?" if error.response is None else error.response.status_code
        raise ChainUnavailableError(url, f"it answered HTTP {status}") from error
    except requests.exceptions.RequestException as error:
        raise ChainUnavailableError(url, type(error).__name__) from error
    except ValueError as error:  # the answer is not JSON
        raise ChainUnavailableError(url, f"its answer is not JSON-RPC: {error}") from error


class NodeProvider(HTTPProvider):
    """web3's HTTP provider, its transport failures raised as :class:`ChainUnavailableError` (a
    :class:`ServiceUnavailableError`: the gateway's 503, the CLI's exit 3) instead of requests'
    exceptions."""

    def __init__(self, url: str, *, timeout: float) -> None:
        # web3 retries an HTTP error, a dropped connection and a timeout 5 times by default: a
        # node that never answers then took five timeouts (155 s for 30 s) to report. Only the
        # quick failures are retried.
        super().__init__(
            url,
            request_kwargs={"timeout": timeout},
            exception_retry_configuration=ExceptionRetryConfiguration(
                errors=(ConnectionError, requests.exceptions.HTTPError)
            ),
        )
        self._shown_url = mask_url(url)
        self._timeout = timeout

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with node_errors(self._shown_url, self._timeout):
            return super().make_request(method, params)

    def make_batch_request(
        self, batch_requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        with node_errors(self._shown_url, self._timeout):
            return super().make_batch_request(batch_requests)


def rpc_chain(url: str, *, timeout: float = RPC_TIMEOUT_SECONDS, check: bool = True) -> Web3:
    """A connection to the JSON-RPC node at ``url``; with ``check``, checked with one
    ``eth_chainId`` call (:class:`ChainUnavailableError` if it fails)."""
    w3 = Web3(NodeProvider(url, timeout=timeout))
    if check:
        try:
            w3.eth.chain_id  # noqa: B018 - the call is the check
        except ChainUnavailableError:
            raise
        except Exception as error:  # an answer that is not an Ethereum node's
            raise ChainUnavailableError(
                mask_url(url), str(error) or type(error).__name__
            ) from error
    return w3


def connect(rpc_url: str | None, *, timeout: float = RPC_TIMEOUT_SECONDS) -> Web3:
    """The embedded chain when ``rpc_url`` is None, else the node at ``rpc_url``."""
    return embedded_chain() if rpc_url is None else rpc_chain(rpc_url, timeout=timeout)


def is_embedded(w3: Web3) -> bool:
    """Whether ``w3`` talks to an in-process eth-tester chain."""
    return isinstance(w3.provider, EthereumTesterProvider)


class DevChain:
    """Test-only controls of a dev chain (eth-tester or anvil): snapshots, mining, time."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._embedded = is_embedded(w3)

    def _request(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise Web3RPCError(f"{method} failed: {response['error']}")
        return response.get("result")

    def snapshot(self) -> Any:
        """Take a snapshot; give its id to :meth:`revert`."""
        return self._request("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        """Return the chain to a snapshot. On anvil a snapshot can be reverted to once."""
        self._request("evm_revert", [snapshot_id])

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        if self._embedded:
            self._request("evm_mine", [blocks])
        else:
            # One evm_mine per block, which every dev node knows: Hardhat has no anvil_mine,
            # and its hardhat_mine of more than a few blocks serves placeholder blocks whose
            # parentHash is zero, a chain that does not link.
            for _ in range(blocks):
                self._request("evm_mine", [])

    def timestamp(self) -> int:
        """The timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def set_time(self, timestamp: int) -> None:
        """Move the clock so the next transaction is evaluated at ``timestamp``.

        A block is mined on the way: on anvil it carries ``timestamp``; eth-tester mines it at
        ``timestamp - 1`` and puts its pending block at ``timestamp``.
        """
        if self._embedded:
            latest = self.timestamp()
            if timestamp < latest:
                raise ProvledgerError(
                    f"cannot set the clock back to {timestamp}: the latest block is at {latest}"
                )
            if timestamp <= latest + 1:
                return  # the next block is at latest + 1 already
            # eth-tester's own check compares with the pending block, whose time follows the
            # wall clock and runs ahead of a chain reverted to an old snapshot; the backend
            # itself only needs the time to be after the latest block.
            tester: Any = cast(EthereumTesterProvider, self.w3.provider).ethereum_tester
            tester.backend.time_travel(timestamp)
        else:
            self._request("evm_setNextBlockTimestamp", [hex(timestamp)])
            self._request("evm_mine", [])

    def advance(self, seconds: int) -> int:
        """Move the clock ``seconds`` past the latest block; return the time the next
        transaction is evaluated at (see :meth:`set_time` for the mined block's time)."""
        target = self.timestamp() + seconds
        self.set_time(target)
        return target
