"""Change notifications: ``provledger notify keygen | subscribe | list | secret | status |
remove | run``.

Subscriptions live in the notify database (``--notify-database-url``,
PROVLEDGER_NOTIFY_DATABASE_URL); ``provledger index`` announces what each one matches in the
index's outbox, and ``notify run`` workers deliver it to the webhooks, signed with the
subscription's secret (derived from the master key of PROVLEDGER_NOTIFY_MASTER_KEY_FILE).
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import typer

from provledger.cli.base import (
    command_group,
    err,
    guarded,
    out,
    run_until_signalled,
    settings_command,
)
from provledger.cli.data_records import write_secret
from provledger.config import Settings
from provledger.errors import ServiceUnavailableError
from provledger.services.notify.signing import generate_master_key
from provledger.services.notify.subscriptions import (
    Subscriptions,
    fields_of_options,
    master_key,
    parse_filter,
    parse_lead,
    subscription_json,
)
from provledger.services.notify.worker import NotifyWorker
from provledger.store.engine import create_store_engine
from provledger.store.notify import FINALITIES, NotifyStore

notify_app = command_group(
    "notify", "Change notifications: subscriptions, and the workers that deliver them."
)

#: Seconds between two tries of a following worker whose index or database is not there.
WAIT_SECONDS: Final = 1.0
#: Who owns the subscriptions made on the command line (the API's are their key's).
CLI_OWNER = "cli"

NotifyDatabaseOption = Annotated[
    str | None,
    typer.Option(help="The notifications' database [env PROVLEDGER_NOTIFY_DATABASE_URL]."),
]
MasterKeyFileOption = Annotated[
    Path | None,
    typer.Option(
        help="The notifications' master key file [env PROVLEDGER_NOTIFY_MASTER_KEY_FILE]."
    ),
]
IndexDatabaseOption = Annotated[
    str | None,
    typer.Option(help="The index database [env PROVLEDGER_DATABASE_URL]."),
]
RemindBeforeOption = Annotated[
    str,
    typer.Option(
        help="Remind of licences and export permits this long before they expire "
        "(events LicenseExpiring, ExportPermitExpiring): 7d, 36h, 90m."
    ),
]
SubscriptionArgument = Annotated[str, typer.Argument(help="The subscription's id (sub_…).")]
Values = list[str] | None
#: The filter options of `notify subscribe` and `watch` (:func:`with_filter_options`).
FILTER_OPTIONS: Final[dict[str, Any]] = {
    "asset": Annotated[Values, typer.Option(help="An asset id (repeat for more).")],
    "holder": Annotated[Values, typer.Option(help="The asset's holder (repeatable).")],
    "registrant": Annotated[Values, typer.Option(help="The asset's registrant.")],
    "licensee": Annotated[Values, typer.Option(help="The event's licensee.")],
    "participant": Annotated[Values, typer.Option(help="Any account the event names.")],
    "event": Annotated[Values, typer.Option(help="An event name, e.g. ObjectionLodged.")],
    "category": Annotated[Values, typer.Option(help="A category code.")],
    "grade": Annotated[Values, typer.Option(help="A grade: 1, 2 or 3.")],
}
Command = TypeVar("Command", bound=Callable[..., None])


def with_filter_options(action: Command) -> Command:
    """``action`` with the filter options (:data:`FILTER_OPTIONS`) after its own parameters:
    its command takes ``--asset`` ... ``--grade``, and ``action`` gets the filter's fields
    they give as ``fields`` (:func:`fields_of_options`)."""
    own = inspect.signature(action, eval_str=True).parameters.values()
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in FILTER_OPTIONS.items()
    ]

    @functools.wraps(action)
    def command(*args: Any, **values: Any) -> None:
        given = {name: values.pop(name) for name in FILTER_OPTIONS}
        action(*args, fields=fields_of_options(given), **values)

    kept = [p for p in own if p.name != "fields"]
    signature = inspect.Signature([*kept, *added])
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    del command.__wrapped__  # typer must read the signature above, not the action's
    return command  # type: ignore[return-value]


STORE_OPTIONS: dict[str, Any] = {"notify_database_url": NotifyDatabaseOption}
KEY_OPTIONS: dict[str, Any] = {**STORE_OPTIONS, "notify_master_key_file": MasterKeyFileOption}


def _line(text: str) -> None:
    out.print(text, highlight=False, soft_wrap=True, markup=False)


@notify_app.command("keygen")
def notify_keygen_command(
    key_file: Annotated[Path, typer.Argument(help="The master key file to write (mode 600).")],
) -> None:
    """Make the master key webhook secrets are derived from
    (PROVLEDGER_NOTIFY_MASTER_KEY_FILE). A new key changes every subscription's secret.

    Example: provledger notify keygen /etc/provledger/notify.key
    """

    def run() -> None:
        write_secret(key_file, generate_master_key() + "\n", replace=False)
        _line(f"notifications' master key written to {key_file} (mode 600)")

    guarded(run)


@settings_command(notify_app, "subscribe", **KEY_OPTIONS)
@with_filter_options
def notify_subscribe_command(
    settings: Settings,
    as_json: bool,
    url: Annotated[str, typer.Option("--url", help="The webhook: an http(s) URL.")],
    finality: Annotated[
        str,
        typer.Option(help=f"Announce events once their block is {', '.join(FINALITIES)}."),
    ] = "pending",
    remind_before: RemindBeforeOption = "7d",
    *,
    fields: dict[str, Sequence[str]],
) -> None:
    """Subscribe a webhook to the events that match every filter given (none: every event).
    The secret that signs its deliveries is printed (`notify secret` shows it again).

    Example: provledger notify subscribe --url https://hooks.example.com/ledger
    --holder 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --event ObjectionLodged
    """
    wanted, lead = parse_filter(fields), parse_lead(remind_before)
    with NotifyStore.open(settings.notify_database_url) as store:
        made, secret = Subscriptions(store, settings).create(
            owner=CLI_OWNER, wanted=wanted, finality=finality, url=url, remind_before=lead
        )
    if as_json:
        _line(json.dumps({**subscription_json(made), "secret": secret}))
        return
    _line(f"subscription {made.id} to {made.url} ({made.finality})")
    _line(f"secret: {secret}")
    _line("it hears of the events indexed from now on")


@settings_command(notify_app, "list", **STORE_OPTIONS)
def notify_list_command(settings: Settings, as_json: bool) -> None:
    """List the subscriptions: id, finality, webhook, filter and reminder lead time (never the
    secrets).

    Example: provledger notify list --json
    """
    with NotifyStore.open(settings.notify_database_url) as store:
        listed = [subscription_json(item) for item in store.listed()]
    if as_json:
        _line(json.dumps(listed))
        return
    if not listed:
        _line("no subscriptions")
    for item in listed:
        wanted = " ".join(
            f"{name}={','.join(map(str, values))}" for name, values in item["filter"].items()
        )
        _line(
            f"{item['id']}  {item['finality']:7}  {item['url']}  {wanted or 'every event'}  "
            f"(expiry reminders {item['remind_before']} ahead)"
        )


@settings_command(notify_app, "secret", **KEY_OPTIONS)
def notify_secret_command(settings: Settings, subscription: SubscriptionArgument) -> None:
    """Show a subscription's secret again (derived from the master key).

    Example: provledger notify secret sub_3f9a1c2b7d4e5f6a7b8c9d0e
    """
    with NotifyStore.open(settings.notify_database_url) as store:
        _line(Subscriptions(store, settings).secret(subscription))


@settings_command(notify_app, "status", **STORE_OPTIONS)
def notify_status_command(
    settings: Settings, as_json: bool, subscription: SubscriptionArgument
) -> None:
    """Where a subscription's delivery stands: its last outbox position, the failures of the
    delivery at its head, and its dead letters.

    Example: provledger notify status sub_3f9a1c2b7d4e5f6a7b8c9d0e
    """
    with NotifyStore.open(settings.notify_database_url) as store:
        store.get(subscription)
        cursor = store.cursor(subscription)
        dead = store.dead(subscription)
    letters = [
        {"delivery_id": row["delivery_id"], "error": row["error"], "attempts": row["attempts"]}
        for row in dead
    ]
    answer = {
        "subscription": subscription,
        "delivered_through": cursor.seq,
        "failed_attempts": cursor.attempts,
        "last_error": cursor.last_error,
        "dead_letters": letters,
    }
    if as_json:
        _line(json.dumps(answer))
        return
    failing = (
        f", {cursor.attempts} failed attempts ({cursor.last_error})" if cursor.attempts else ""
    )
    _line(f"{subscription}: delivered through outbox position {cursor.seq}{failing}")
    for row in letters:
        _line(f"dead: {row['delivery_id']} after {row['attempts']} attempts ({row['error']})")


@settings_command(notify_app, "remove", **STORE_OPTIONS)
def notify_remove_command(settings: Settings, subscription: SubscriptionArgument) -> None:
    """Remove a subscription: nothing more is announced or delivered to it.

    Example: provledger notify remove sub_3f9a1c2b7d4e5f6a7b8c9d0e
    """
    with NotifyStore.open(settings.notify_database_url) as store:
        store.remove(subscription)
    _line(f"subscription {subscription} removed")


@settings_command(notify_app, "run", database_url=IndexDatabaseOption, **KEY_OPTIONS)
def notify_run_command(
    settings: Settings,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is waiting now, then stop.")
    ] = False,
    poll: Annotated[
        float, typer.Option(min=0.01, help="Seconds between looks at the outbox when idle.")
    ] = 0.2,
    threads: Annotated[
        int, typer.Option(min=1, max=256, help="Subscriptions delivered at once.")
    ] = 8,
) -> None:
    """Deliver the outbox's notifications to the subscriptions' webhooks until stopped (Ctrl-C
    or SIGTERM). Several workers may run: they share the subscriptions.

    Example: provledger notify run --notify-master-key-file /etc/provledger/notify.key
    """
    key = master_key(settings)
    index = create_store_engine(settings.database_url, read_only=True)
    with NotifyStore.open(settings.notify_database_url) as store:
        worker = NotifyWorker(
            store,
            index,
            key,
            confirmations=settings.confirmations,
            finality_depth=settings.finality_depth,
            allow_private=settings.notify_allow_private,
            timeout=settings.notify_timeout,
            poll_ms=int(poll * 1000),
            lease_ms=int(settings.notify_lease_seconds * 1000),
            threads=threads,
        )
        totals = {"delivered": 0, "failed": 0, "dead": 0}

        def one_pass() -> bool:
            done = worker.run_once()
            totals["delivered"] += done.delivered
            totals["failed"] += done.failed
            totals["dead"] += done.dead
            return bool(done.delivered or done.skipped)

        if once:
            while one_pass():
                pass
        else:
            stopping = threading.Event()

            def loop() -> None:
                waiting: str | None = None
                while not stopping.is_set():
                    try:
                        again = one_pass()
                    except ServiceUnavailableError as error:  # no index yet, a database away
                        if str(error) != waiting:
                            waiting = str(error)
                            err.print(f"waiting: {error}", highlight=False, soft_wrap=True)
                        stopping.wait(max(poll, WAIT_SECONDS))
                        continue
                    waiting = None
                    if not again:
                        stopping.wait(poll)

            run_until_signalled(loop, stopping.set)
        store.let_go(worker.name)
    index.dispose()
    err.print(
        f"delivered {totals['delivered']:,}, failed attempts {totals['failed']:,}, "
        f"dead-lettered {totals['dead']:,}",
        highlight=False,
    )
