"""``provledger watch``: follow a gateway's event stream (``GET /stream``) in the terminal.

One line per event as it is indexed (``--json``: the event's JSON, one per line); a lost
connection is resumed with the last event's id after the two seconds the stream asks, so
nothing is missed and nothing repeated. Ctrl-C or SIGTERM ends it (exit 0).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

import requests
import typer

from provledger.cli import gateway
from provledger.cli.base import app, complete, err, out, run_until_signalled, settings_from
from provledger.cli.gateway import (
    GatewayOption,
    GatewayUnavailableError,
    gateway_request,
    party_names,
    require_gateway,
)
from provledger.cli.notify import RemindBeforeOption, with_filter_options
from provledger.config import Settings
from provledger.errors import InputError, ProvledgerError
from provledger.services.notify.subscriptions import OPTION_FIELDS
from provledger.units import utc_time

#: The length of an account as ``0x`` text.
ADDRESS_LENGTH: Final = 42
#: Seconds before a lost stream is opened again, unless it asked for another (``retry:``).
RETRY_SECONDS: Final = 2.0

ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", help="An API key of the gateway [env PROVLEDGER_API_KEY]."),
]


@dataclass
class Event:
    """One server-sent event."""

    id: str | None
    kind: str
    data: str


def parse_events(lines: Iterator[str]) -> Iterator[Event]:
    """The events of a ``text/event-stream`` body, line by line (comments skipped)."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield Event(fields.get("id"), fields.get("event", "message"), "\n".join(data))
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        else:
            fields[name] = value


def accounts_of(event: Event) -> list[str]:
    """The accounts an event's body names (none for a retraction)."""
    body: dict[str, Any] = json.loads(event.data)
    args: dict[str, Any] = body.get("event", {}).get("args", {})
    return [value for value in args.values() if _is_account(value)]


def _is_account(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("0x") and len(value) == ADDRESS_LENGTH


class Names:
    """The names of accounts as the gateway knows them (participants with a known name),
    asked once per account; an account asked about while the gateway was away is asked again
    the next time."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._known: dict[str, str | None] = {}

    def of(self, accounts: Sequence[str]) -> dict[str, str]:
        """``Name (CN)`` by address, for those of ``accounts`` that have one."""
        new = [account for account in accounts if account not in self._known]
        if new:
            with contextlib.suppress(ProvledgerError):  # the gateway away: no names this time
                found = party_names(self.base, new)
                self._known.update({account: found.get(account) for account in new})
        return {account: name for account in accounts if (name := self._known.get(account))}


def describe(event: Event, names: dict[str, str] | None = None) -> str:
    """One line for a person: when, where, what, about which asset and which accounts (by
    name, from ``names``, where they have one)."""
    body: dict[str, Any] = json.loads(event.data)
    if body["type"] == "retract":
        return (
            f"retracted  block {body['block_number']} log {body['log_index']}: the chain "
            f"reorganised and that event is gone ({body['retracts']})"
        )
    shown = body["event"]
    line = _line_of(shown, names or {})
    if body["type"] == "remind":  # about the grant (or issue) of what expires
        return f"reminder   {body['reminder']} at {body['expires_at']}: {line}"
    return line


def _account(value: str, names: dict[str, str]) -> str:
    """An account for people: by name where it has one, the zero address as what it means."""
    if int(value, 16) == 0:
        return "nobody (the zero address)"
    if value in names:
        return f"{names[value]} {value[:6]}…{value[-4:]}"
    return value


def _line_of(shown: dict[str, Any], names: dict[str, str]) -> str:
    when = utc_time(shown["block_time"])
    args = shown["args"]
    asset = args.get("asset_id") or args.get("token_id")
    about = [f"asset {asset}"] if asset else []
    # The accounts the event names (the gateway sends them checksummed), by name if known.
    about += [
        f"{field} {_account(value, names)}" for field, value in args.items() if _is_account(value)
    ]
    return (
        f"{when}  block {shown['block_number']}  {shown['event']:<22} {'  '.join(about)}"
        f"  ({shown['finality']})"
    ).rstrip()


@app.command("watch")
@with_filter_options
def watch_command(
    gateway: GatewayOption = None,
    api_key: ApiKeyOption = None,
    finality: Annotated[
        str, typer.Option(help="Show events once their block is pending, safe or final.")
    ] = "pending",
    remind_before: RemindBeforeOption = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
    *,
    fields: dict[str, Sequence[str]],
) -> None:
    """Follow what the ledger records as it is indexed, through a gateway's event stream:
    every event that matches every filter given (none: every event), reminders of licences
    and export permits about to expire, and retractions after a reorg. Runs until Ctrl-C.

    Example: provledger watch --gateway http://127.0.0.1:8000 --api-key plk_… --event Transfer
    """
    settings = settings_from(gateway_url=gateway, api_key=api_key)
    options = {field: option for option, field in OPTION_FIELDS.items()}
    query = [("finality", finality), ("remind_before", remind_before)]
    query += [(options[field], value) for field, values in fields.items() for value in values]
    complete(lambda: _follow(settings, query, as_json))


def _follow(settings: Settings, query: list[tuple[str, str]], as_json: bool) -> None:
    base = require_gateway(settings)
    if settings.api_key is None:
        raise InputError("watch needs an API key: give --api-key or set PROVLEDGER_API_KEY")
    headers = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}
    stopping = threading.Event()
    last: list[str] = []
    # The first connection's refusal (a bad filter, a wrong key) ends the command at once.
    current = [_open(base, query, headers)]
    names = Names(base)

    def loop() -> None:
        response: requests.Response | None = current[0]
        while not stopping.is_set():
            if response is None:
                if stopping.wait(RETRY_SECONDS):
                    return
                resumed = {**headers, **({"Last-Event-ID": last[-1]} if last else {})}
                try:
                    response = _open(base, query, resumed)
                    current[0] = response
                except InputError:
                    raise
                except GatewayUnavailableError as error:  # the gateway is away: try again
                    err.print(f"stream lost ({error}); reconnecting", highlight=False)
                    continue
            try:
                lines = response.iter_lines()
                for item in parse_events(line.decode("utf-8") for line in lines):
                    if item.id is not None:
                        last.append(item.id)
                        del last[:-1]
                    out.print(
                        item.data if as_json else describe(item, names.of(accounts_of(item))),
                        highlight=False,
                        soft_wrap=True,
                        markup=False,
                    )
                    if stopping.is_set():
                        return
            except (requests.RequestException, UnicodeDecodeError) as error:
                if not stopping.is_set():
                    err.print(f"stream lost ({error}); reconnecting", highlight=False)
            except (AttributeError, OSError, ValueError):
                if not stopping.is_set():  # stop() closed the response under the reader
                    raise
                return
            finally:
                response.close()
            response = None

    def stop() -> None:
        stopping.set()
        _interrupt(current[0])

    run_until_signalled(loop, stop)


def _interrupt(response: requests.Response) -> None:
    """Wake the thread reading ``response`` (its read returns at once, the stream ended):
    shut its socket down. Closing the response instead would wait for the read to end, until
    the stream's next heartbeat."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _open(base: str, query: list[tuple[str, str]], headers: dict[str, str]) -> requests.Response:
    """The stream's response, its headers read; a gateway that answers something else than an
    event stream is a failure of the gateway (exit 3)."""
    response = gateway_request(
        "GET",
        base,
        "/stream",
        params=query,
        headers=headers,
        stream=True,
        timeout=gateway.TIMEOUT_SECONDS,  # more than the stream's heartbeat interval
    )
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if kind != "text/event-stream":
        response.close()
        raise GatewayUnavailableError(base, f"/stream answered {kind or 'no type'}, not events")
    return response
