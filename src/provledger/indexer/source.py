"""Where logs and block headers come from.

:class:`JsonRpcSource` speaks raw JSON-RPC over HTTP (one ``requests`` session, batched header
requests, orjson parsing): the fast path for anvil and real nodes. :class:`Web3Source` goes
through any web3 provider, including the embedded eth-tester chain. Both raise
:class:`RpcError` with the node's message, and :class:`RangeTooLargeError` (with the node's
suggested range when it gives one) for "too many results" style refusals.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson
import requests

from provledger.config import RPC_TIMEOUT_SECONDS
from provledger.errors import ProvledgerError

if TYPE_CHECKING:
    from web3 import Web3
from provledger.indexer.decoding import RawLog
from provledger.store.records import BlockHeader

#: Node messages that mean "ask for fewer blocks" (geth, Infura, Alchemy, QuickNode, reth,
#: Tenderly and geth forks word it differently); rate limits and reverts do not match.
_TOO_LARGE: Final = re.compile(
    r"too many results|more than [\d,]+ results|exceeds? (the )?(limit|max)|exceeded max|"
    r"limited to (a )?[\d,]+|block range|range .{0,60}(too (large|wide|big)|bigger than)|"
    r"response size|query timeout|timed? ?out",
    re.IGNORECASE,
)
_SUGGESTED_HEX: Final = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")
_SUGGESTED_DECIMAL: Final = re.compile(r"range\s+(\d+)\s*-\s*(\d+)")


class RpcError(ProvledgerError):
    """The node answered with an error, an unreadable reply, or not at all."""

    def __init__(
        self,
        method: str,
        message: str,
        *,
        block_range: tuple[int, int] | None = None,
        malformed: bool = False,
    ) -> None:
        self.method = method
        self.detail = message
        self.block_range = block_range
        self.malformed = malformed
        """True when the node answered, but not with a well-formed reply."""
        where = f" for blocks {block_range[0]}-{block_range[1]}" if block_range else ""
        super().__init__(f"{method}{where}: {message}")


class RangeTooLargeError(RpcError):
    """The node refused a log range as too large; ``suggested_end`` is its hint, if any."""

    def __init__(
        self, method: str, message: str, block_range: tuple[int, int], suggested_end: int | None
    ) -> None:
        super().__init__(method, message, block_range=block_range)
        self.suggested_end = suggested_end


def classify_log_error(message: str, block_range: tuple[int, int]) -> RpcError:
    """Turn a node's ``eth_getLogs`` error message into the right exception."""
    if _TOO_LARGE.search(message):
        end: int | None = None
        hexed = _SUGGESTED_HEX.search(message)
        if hexed:
            end = int(hexed.group(2), 16)
        else:
            decimal = _SUGGESTED_DECIMAL.search(message)
            end = int(decimal.group(2)) if decimal else None
        if end is not None and not block_range[0] <= end < block_range[1]:
            end = None
        return RangeTooLargeError("eth_getLogs", message, block_range, end)
    return RpcError("eth_getLogs", message, block_range=block_range)


def _error_text(error: Any) -> str:
    """A JSON-RPC error's message, with its ``data`` when it gives one (some nodes explain
    range limits only there)."""
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message", error))
    data = error.get("data")
    if data:
        detail = data if isinstance(data, str) else orjson.dumps(data).decode()
        message = f"{message} ({detail})"
    return message


class LogSource(Protocol):
    """What the scanner needs from a node."""

    def chain_id(self) -> int:
        """The chain id."""
        ...

    def head(self) -> int:
        """The latest block number."""
        ...

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        """Logs of ``addresses`` in blocks ``start..end`` inclusive, in chain order."""
        ...

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        """Headers of the given blocks."""
        ...


def _header(block: dict[str, Any]) -> BlockHeader:
    def number(value: Any) -> int:
        return int(value, 16) if isinstance(value, str) else int(value)

    def hexed(value: Any) -> str:
        return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()

    return BlockHeader(
        number=number(block["number"]),
        hash=hexed(block["hash"]),
        parent_hash=hexed(block["parentHash"]),
        timestamp=number(block["timestamp"]),
    )


class JsonRpcSource:
    """Raw JSON-RPC over HTTP."""

    HEADER_BATCH: Final = 200
    MAX_LOG_REPLY_BYTES: Final = 16 * 2**20
    """A log reply over this size (for more than one block) is dropped unread and the range
    split: what a range holds is unknown until it is fetched, and a range that grew over sparse
    blocks can reach dense ones; this bounds the memory of one batch whatever the density."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = RPC_TIMEOUT_SECONDS,
        max_log_reply_bytes: int = MAX_LOG_REPLY_BYTES,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.max_log_reply_bytes = max_log_reply_bytes
        self.session = requests.Session()
        self.session.headers["Content-Type"] = "application/json"
        self._ids = itertools.count(1)

    def _post(self, payload: Any, method: str, block_range: tuple[int, int] | None = None) -> Any:
        capped = (
            method == "eth_getLogs" and block_range is not None and block_range[1] > block_range[0]
        )
        try:
            response = self.session.post(
                self.url, data=orjson.dumps(payload), timeout=self.timeout, stream=True
            )
            with response:
                content = self._read(response, self.max_log_reply_bytes if capped else None)
        except requests.exceptions.Timeout as error:
            if method == "eth_getLogs" and block_range is not None:
                raise RangeTooLargeError(method, "request timed out", block_range, None) from error
            raise RpcError(method, f"no answer within {self.timeout:g} s") from error
        except requests.exceptions.RequestException as error:
            raise RpcError(method, f"connection failed: {type(error).__name__}") from error
        if content is None:
            assert block_range is not None
            limit = self.max_log_reply_bytes / 2**20
            raise RangeTooLargeError(method, f"reply over {limit:g} MiB", block_range, None)
        if response.status_code == 413 and block_range is not None:
            raise RangeTooLargeError(method, "HTTP 413: response too large", block_range, None)
        if response.status_code >= 400 and not content.startswith((b"{", b"[")):
            raise RpcError(method, f"HTTP {response.status_code}", block_range=block_range)
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as error:
            raise RpcError(
                method, "malformed reply (not JSON)", block_range=block_range, malformed=True
            ) from error

    @staticmethod
    def _read(response: requests.Response, limit: int | None) -> bytes | None:
        """The reply body, or None once it exceeds ``limit`` bytes (the rest is not read)."""
        if limit is None:
            return response.content
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=1 << 20):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def call(
        self, method: str, params: list[Any], block_range: tuple[int, int] | None = None
    ) -> Any:
        """One JSON-RPC call; returns ``result`` or raises."""
        reply = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params},
            method,
            block_range,
        )
        if not isinstance(reply, dict):
            raise RpcError(method, "malformed reply", block_range=block_range, malformed=True)
        if "error" in reply:
            message = _error_text(reply["error"])
            if method == "eth_getLogs" and block_range is not None:
                raise classify_log_error(message, block_range)
            raise RpcError(method, message, block_range=block_range)
        if "result" not in reply:
            raise RpcError(
                method, "malformed reply (no result)", block_range=block_range, malformed=True
            )
        return reply["result"]

    def chain_id(self) -> int:
        """The chain id."""
        return int(self.call("eth_chainId", []), 16)

    def head(self) -> int:
        """The latest block number."""
        return int(self.call("eth_blockNumber", []), 16)

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        """Logs of ``addresses`` in ``start..end``."""
        result = self.call(
            "eth_getLogs",
            [{"fromBlock": hex(start), "toBlock": hex(end), "address": list(addresses)}],
            (start, end),
        )
        if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
            raise RpcError(
                "eth_getLogs",
                "malformed reply (result is not a list of logs)",
                block_range=(start, end),
                malformed=True,
            )
        return result

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one request; their results in call order, or :class:`RpcError`
        naming the first failed call."""
        if not calls:
            return []
        method = calls[0][0]
        payload = [
            {"jsonrpc": "2.0", "id": index, "method": name, "params": params}
            for index, (name, params) in enumerate(calls)
        ]
        replies = self._post(payload, method)
        if isinstance(replies, dict) and "error" in replies:
            raise RpcError(method, f"batch refused: {_error_text(replies['error'])}")
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise RpcError(method, "malformed batch reply", malformed=True)
        if not all(
            isinstance(reply, dict) and isinstance(reply.get("id"), int) for reply in replies
        ):
            raise RpcError(method, "malformed batch reply", malformed=True)
        replies.sort(key=lambda reply: reply["id"])  # a node may answer a batch in any order
        for reply in replies:
            if "error" in reply:
                name = calls[reply["id"]][0] if reply["id"] < len(calls) else method
                raise RpcError(name, _error_text(reply["error"]))
        return [reply.get("result") for reply in replies]

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        """Headers of ``numbers``, fetched in batched requests."""
        found: dict[int, BlockHeader] = {}
        for offset in range(0, len(numbers), self.HEADER_BATCH):
            chunk = numbers[offset : offset + self.HEADER_BATCH]
            blocks = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for block in blocks:
                if not block:
                    raise RpcError("eth_getBlockByNumber", "block missing from the reply")
                try:
                    header = _header(block)
                except (KeyError, TypeError, ValueError) as error:
                    raise RpcError(
                        "eth_getBlockByNumber", f"malformed header: {error!r}", malformed=True
                    ) from error
                found[header.number] = header
        missing = set(numbers) - set(found)
        if missing:
            raise RpcError("eth_getBlockByNumber", f"no header for blocks {sorted(missing)[:5]}")
        return found


class Web3Source:
    """Any web3 provider (the embedded eth-tester chain included)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def chain_id(self) -> int:
        """The chain id."""
        return int(self.w3.eth.chain_id)

    def head(self) -> int:
        """The latest block number."""
        return int(self.w3.eth.block_number)

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        """Logs of ``addresses`` in ``start..end``."""
        from eth_utils.address import to_checksum_address

        try:
            found = self.w3.eth.get_logs(
                {
                    "fromBlock": start,
                    "toBlock": end,
                    "address": [to_checksum_address(address) for address in addresses],
                }
            )
        except Exception as error:  # a provider error of any kind
            raise classify_log_error(str(error), (start, end)) from error
        return [_json_log(item) for item in found]

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        """Headers of ``numbers``, one request each."""
        found = {}
        for number in numbers:
            try:
                block = self.w3.eth.get_block(number)
            except Exception as error:
                raise RpcError("eth_getBlockByNumber", str(error)) from error
            found[number] = _header(dict(block))
        return found


def _json_log(item: Any) -> RawLog:
    """A web3 log (ints, HexBytes) in JSON-RPC form (hex strings)."""

    def hexed(value: Any) -> str:
        return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()

    log: RawLog = {
        "address": str(item["address"]).lower(),
        "topics": [hexed(topic) for topic in item["topics"]],
        "data": hexed(item["data"]),
        "blockNumber": hex(int(item["blockNumber"])),
        "blockHash": hexed(item["blockHash"]),
        "transactionHash": hexed(item["transactionHash"]),
        "transactionIndex": hex(int(item["transactionIndex"])),
        "logIndex": hex(int(item["logIndex"])),
        "removed": bool(item.get("removed", False)),
    }
    return log


def source_for(
    rpc_url: str | None, w3: Web3 | None, *, timeout: float = RPC_TIMEOUT_SECONDS
) -> LogSource:
    """The fast JSON-RPC source for a URL (``timeout`` seconds a request), else a web3 source."""
    if rpc_url is not None:
        return JsonRpcSource(rpc_url, timeout=timeout)
    if w3 is None:
        raise ProvledgerError("an RPC URL or a web3 connection is needed")
    return Web3Source(w3)
