"""The gateway as the CLI asks it: GET a JSON answer, follow a list's cursors, name accounts.

A gateway's errors become one line: no answer or a 5xx is a network failure (exit 3), a 4xx
the gateway's problem detail (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Final

import requests
import typer
from eth_utils.address import is_address

from provledger.config import Settings
from provledger.errors import InputError, ServiceUnavailableError
from provledger.jsondoc import JsonDocumentError, parse_json

GatewayOption = Annotated[
    str | None,
    typer.Option("--gateway", help="Gateway URL [env PROVLEDGER_GATEWAY_URL]."),
]
#: Pages fetched at most when a command follows cursors (1,000 items each).
MAX_PAGES: Final = 100
TIMEOUT_SECONDS: Final = 30.0
#: The largest answer read from a gateway (a page of 1,000 events is about 2 MiB).
ANSWER_MAX_BYTES: Final = 64 << 20


class GatewayUnavailableError(ServiceUnavailableError):
    """The gateway cannot be reached or answered with a server error."""

    template = "cannot reach the gateway at {url}: {reason}"
    url: str
    reason: str


class GatewayRefusedError(InputError):
    """The gateway answered 4xx; the message is its problem detail."""


def require_gateway(settings: Settings) -> str:
    """The gateway URL, without a trailing slash."""
    if settings.gateway_url is None:
        raise InputError(
            "this command asks a gateway: give --gateway or set PROVLEDGER_GATEWAY_URL"
        )
    return settings.gateway_url.rstrip("/")


def problem_detail(response: requests.Response, path: str) -> str:
    """What a refusal or a server error says: its problem's detail, else its first words."""
    try:
        problem = parse_json(response.content, what=path, max_bytes=ANSWER_MAX_BYTES)
        detail = problem.get("detail") or problem.get("title")
    except (JsonDocumentError, AttributeError):
        detail = None
    text = str(detail) if detail else response.text[:200] or response.reason or "no detail"
    return " ".join(text.split())


def gateway_request(
    method: str,
    base: str,
    path: str,
    *,
    refused: Callable[[int, str], Exception] | None = None,
    timeout: float = TIMEOUT_SECONDS,
    **options: Any,
) -> requests.Response:
    """``method`` on ``path`` of the gateway; no answer or a 5xx is a network failure (exit
    3), a 4xx ``refused(status, detail)`` (exit 2, by default :class:`GatewayRefusedError`)."""
    try:
        response = requests.request(method, base + path, timeout=timeout, **options)
    except requests.RequestException as error:
        reason = (
            "connection refused or host unreachable"
            if isinstance(error, requests.ConnectionError)
            else str(error) or type(error).__name__
        )
        raise GatewayUnavailableError(base, reason) from None
    if response.status_code >= 400:
        detail = problem_detail(response, path)
        response.close()
        if response.status_code >= 500:
            raise GatewayUnavailableError(base, f"{path} answered {response.status_code}: {detail}")
        if refused is not None:
            raise refused(response.status_code, detail)
        raise GatewayRefusedError(f"the gateway refused {path}: {detail}")
    return response


def gateway_get(base: str, path: str, params: dict[str, Any] | None = None) -> Any:
    """GET ``path`` of the gateway and return its JSON; 4xx and 5xx become one-line errors."""
    response = gateway_request("GET", base, path, params=params)
    try:
        return parse_json(response.content, what=path, max_bytes=ANSWER_MAX_BYTES)
    except JsonDocumentError as error:
        raise GatewayUnavailableError(base, f"its answer to {error}") from None


def gateway_pages(
    base: str, path: str, limit: int = 1000, query: dict[str, Any] | None = None
) -> list[Any]:
    """Every item of a paginated list (with the filters of ``query``), following its cursors."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {**(query or {}), "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = gateway_get(base, path, params)
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    return items


def party_names(base: str, accounts: Iterable[Any]) -> dict[str, str]:
    """The names of those of ``accounts`` (addresses; other values are passed over) that the
    gateway knows as named participants, as ``Name (CN)``, by address."""
    names: dict[str, str] = {}
    for address in dict.fromkeys(accounts):
        if not (isinstance(address, str) and is_address(address)) or int(address, 16) == 0:
            continue
        try:
            party = gateway_get(base, f"/participants/{address}")
        except GatewayRefusedError:  # not a participant
            continue
        if party.get("name"):
            names[address] = f"{party['name']} ({party['jurisdiction']})"
    return names
