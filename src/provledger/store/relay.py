"""The relay's own records: API keys, relayed requests and their claims, the relayer's nonce.

They live apart from the index (which the indexer alone writes), in the database of the
``relay_database_url`` setting, which the gateway writes. Every decision that must hold across
gateway workers — admitting a request (idempotency, rate, gas budget, claims), taking the
relayer's next nonce — is made in one transaction that holds the database's write lock
(``BEGIN IMMEDIATE`` on SQLite, a table lock on PostgreSQL). On SQLite the writers also take
turns (:class:`~provledger.store.write_turns.WriteTurns`), so a busy worker cannot keep the
lock from a waiting one.

An API key is ``plk_<key id>_<secret>``; only the SHA-256 of the secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Connection, delete, event, func, insert, select, update

from provledger.errors import InputError, ProvledgerError, ServiceUnavailableError
from provledger.store.engine import create_store_engine, is_sqlite
from provledger.store.relay_schema import (
    ApiKey,
    RelayRequest,
    api_key_of,
    api_keys,
    claims,
    metadata,
    relayer_nonces,
    request_of,
    requests,
)
from provledger.store.write_turns import TurnTakingStore

KEY_PREFIX: Final = "plk_"
_LOCKED: Final = "provledger_relay_locked"
DAY_MS: Final = 86_400_000
#: States after which a request's transaction is settled.
SETTLED: Final = frozenset({"confirmed", "failed"})


class RelayStoreBusyError(ServiceUnavailableError):
    """The relay's database stayed locked by another writer past the busy timeout."""

    template = "the relay's records stayed locked by another writer; retry the request"


class RelayRefusalError(ProvledgerError):
    """A relay request refused before any transaction is sent."""


class IdempotencyConflictError(RelayRefusalError):
    """The idempotency key was used before by this API key."""

    template = "this idempotency key was already used, by request {request_id}"
    request_id: str


class AlreadyRelayingError(RelayRefusalError):
    """Another request not yet failed relays the same content hash or registrant nonce."""

    claim: str
    request_id: str

    def _message(self) -> str:
        what = self.claim.split(":", 1)[1].replace(":", " nonce ")
        return f"{what} is already being relayed by request {self.request_id}"


class RateLimitedError(RelayRefusalError):
    """The API key sent more requests in the last minute than its rate allows; ``retry_after``
    is the seconds until it may send again."""

    template = "this API key may send {rate} requests a minute; retry in {retry_after} s"
    rate: int
    retry_after: int


class GasBudgetExceededError(RelayRefusalError):
    """The request would take the API key over its gas budget for the day (UTC);
    ``retry_after`` is the seconds until the next day begins."""

    template = (
        "this API key's daily gas budget is {budget:,}; {used:,} used today, "
        "this request needs {wanted:,}"
    )
    budget: int
    used: int
    wanted: int
    retry_after: int


class UnknownApiKeyError(InputError):
    """``provledger apikey revoke`` named a key that does not exist."""

    template = "no API key {key_id}"
    key_id: str


def now_ms() -> int:
    """Wall-clock milliseconds (request times are compared across processes)."""
    return int(time.time() * 1000)


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class RelayStore(TurnTakingStore):
    """The relay's records in one database."""

    metadata = metadata

    @classmethod
    def open(cls, url: str) -> RelayStore:
        """The relay store at ``url`` (a SQLite path or URL, or ``postgresql://``)."""
        engine = create_store_engine(url, pool_size=20, max_overflow=40)
        if is_sqlite(engine):
            event.listen(engine, "handle_error", _busy_error)

            # The driver's own BEGIN is deferred; SQLAlchemy's "begin" event issues it instead,
            # IMMEDIATE (taking the write lock at once) for the decisions of _locked.
            @event.listens_for(engine, "connect")
            def _driver_begin_off(dbapi_connection: Any, _: Any) -> None:
                dbapi_connection.isolation_level = None

            @event.listens_for(engine, "begin")
            def _begin(conn: Connection) -> None:
                locked = conn.get_execution_options().get(_LOCKED, False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if locked else "BEGIN")

        return cls(engine)

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A transaction that holds the relay's write lock from its start until it ends, so
        two workers never both read the same nonce or count the same minute's requests."""
        with (
            self._writing(),
            self.engine.connect().execution_options(**{_LOCKED: True}) as conn,
            conn.begin(),
        ):
            if not is_sqlite(self.engine):
                conn.exec_driver_sql("LOCK TABLE relay_nonces IN SHARE ROW EXCLUSIVE MODE")
            yield conn

    # ------------------------------------------------------------ API keys
    def create_key(self, name: str, *, rate_per_minute: int, daily_gas: int) -> tuple[str, str]:
        """A new API key; returns (key id, the key to hand out — shown once, stored hashed)."""
        if not name or len(name) > 100:
            raise InputError("an API key needs a name of 1 to 100 characters")
        if rate_per_minute < 1 or daily_gas < 1:
            raise InputError("the rate and the daily gas budget must be at least 1")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
        with self._transaction() as conn:
            conn.execute(
                insert(api_keys).values(
                    key_id=key_id,
                    name=name,
                    secret_sha256=_secret_hash(secret),
                    rate_per_minute=rate_per_minute,
                    daily_gas=daily_gas,
                    created_at=now_ms(),
                )
            )
        return key_id, f"{KEY_PREFIX}{key_id}_{secret}"

    def revoke_key(self, key_id: str) -> None:
        """Revoke ``key_id``: from now on it authenticates nothing."""
        with self._transaction() as conn:
            found = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            ).rowcount
            if (
                not found
                and not conn.execute(
                    select(api_keys.c.key_id).where(api_keys.c.key_id == key_id)
                ).first()
            ):
                raise UnknownApiKeyError(key_id)

    def keys(self) -> list[ApiKey]:
        """Every API key, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))
            return [api_key_of(row) for row in rows]

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key ``token`` is, or None (unknown, malformed, wrong secret or revoked)."""
        if not token.startswith(KEY_PREFIX) or token.count("_") < 2:
            return None
        key_id, secret = token[len(KEY_PREFIX) :].split("_", 1)
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_sha256, _secret_hash(secret)):
            return None
        return api_key_of(row)

    # ------------------------------------------------------------ requests
    def admit(
        self,
        key: ApiKey,
        *,
        idempotency_key: str | None,
        body: bytes,
        documents: Sequence[dict[str, Any]],
        asset_ids: Sequence[str],
        claimed: Sequence[str],
        gas_estimate: int,
    ) -> str:
        """Record a request as queued, or refuse it: idempotency key reused, over the key's
        rate or gas budget, or a claim (content hash, registrant nonce) already taken."""
        now = now_ms()
        with self._locked() as conn:
            self._refuse_reuse(conn, key, idempotency_key)
            self._refuse_over_rate(conn, key, now)
            day_start = now - now % DAY_MS
            used = conn.execute(
                select(func.coalesce(func.sum(requests.c.gas_estimate), 0)).where(
                    requests.c.key_id == key.key_id,
                    requests.c.created_at >= day_start,
                    requests.c.status != "failed",
                )
            ).scalar_one()
            if used + gas_estimate > key.daily_gas:
                raise GasBudgetExceededError(
                    key.daily_gas, int(used), gas_estimate, (day_start + DAY_MS - now) // 1000 + 1
                )
            taken = conn.execute(
                select(claims.c.claim, claims.c.request_id).where(claims.c.claim.in_(claimed))
            ).first()
            if taken is not None:
                raise AlreadyRelayingError(taken.claim, taken.request_id)
            request_id = secrets.token_hex(16)
            conn.execute(
                insert(requests).values(
                    request_id=request_id,
                    key_id=key.key_id,
                    idempotency_key=idempotency_key,
                    body_sha256=hashlib.sha256(body).hexdigest(),
                    status="queued",
                    documents=json.dumps(list(documents)),
                    asset_ids=json.dumps(list(asset_ids)),
                    gas_estimate=gas_estimate,
                    replacements=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                insert(claims), [{"claim": claim, "request_id": request_id} for claim in claimed]
            )
        return request_id

    def precheck(self, key: ApiKey, idempotency_key: str | None) -> None:
        """Refuse early, before the node is asked anything: an idempotency key ``key`` sent
        before, or ``key`` over its rate (:meth:`admit` checks both again under the lock)."""
        with self.engine.connect() as conn:
            self._refuse_reuse(conn, key, idempotency_key)
            self._refuse_over_rate(conn, key, now_ms())

    def _refuse_over_rate(self, conn: Connection, key: ApiKey, now: int) -> None:
        times = list(
            conn.execute(
                select(requests.c.created_at)
                .where(requests.c.key_id == key.key_id, requests.c.created_at > now - 60_000)
                .order_by(requests.c.created_at)
            ).scalars()
        )
        if len(times) >= key.rate_per_minute:
            oldest = times[-key.rate_per_minute]
            raise RateLimitedError(key.rate_per_minute, max(1, (oldest + 60_000 - now) // 1000 + 1))

    def _refuse_reuse(self, conn: Connection, key: ApiKey, idempotency_key: str | None) -> None:
        if idempotency_key is None:
            return
        earlier = conn.execute(
            select(requests.c.request_id).where(
                requests.c.key_id == key.key_id, requests.c.idempotency_key == idempotency_key
            )
        ).scalar_one_or_none()
        if earlier is not None:
            raise IdempotencyConflictError(earlier)

    def get(self, request_id: str) -> RelayRequest | None:
        """The request ``request_id``, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(requests).where(requests.c.request_id == request_id)).first()
        return None if row is None else request_of(row)

    def unsettled(self) -> list[RelayRequest]:
        """Requests whose transaction is not yet confirmed or failed, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(requests)
                .where(requests.c.status.in_(("queued", "submitted", "mined")))
                .order_by(requests.c.created_at)
            )
            return [request_of(row) for row in rows]

    def update(self, request_id: str, *, expect: str | None = None, **values: Any) -> bool:
        """Change a request (only if its status is ``expect``, when given); False if it was not.

        A request that fails gives up its claims, so the registrations may be relayed again.
        """
        condition = [requests.c.request_id == request_id]
        if expect is not None:
            condition.append(requests.c.status == expect)
        with self._transaction() as conn:
            changed = conn.execute(
                update(requests).where(*condition).values(updated_at=now_ms(), **values)
            ).rowcount
            if changed and values.get("status") == "failed":
                conn.execute(delete(claims).where(claims.c.request_id == request_id))
        return bool(changed)

    # ------------------------------------------------------------ the relayer's nonce
    @contextmanager
    def next_nonce(self, address: str, chain_next: int) -> Iterator[tuple[int, Connection]]:
        """The relayer's next nonce, under the relay's write lock until the block ends.

        It is the larger of the stored one and the chain's count of the relayer's
        transactions (a restart, or transactions sent by other means). The block records the
        sent transaction on the connection it is given; on leaving normally the nonce is
        used, on an exception it is not.
        """
        with self._locked() as conn:
            stored = conn.execute(
                select(relayer_nonces.c.next_nonce).where(relayer_nonces.c.address == address)
            ).scalar_one_or_none()
            nonce = max(chain_next, stored or 0)
            yield nonce, conn
            if stored is None:  # the lock keeps another worker from inserting meanwhile
                conn.execute(insert(relayer_nonces).values(address=address, next_nonce=nonce + 1))
            else:
                conn.execute(
                    update(relayer_nonces)
                    .where(relayer_nonces.c.address == address)
                    .values(next_nonce=nonce + 1)
                )

    def record_sent(
        self,
        conn: Connection,
        request_id: str,
        *,
        nonce: int,
        tx_hash: str,
        max_fee: int,
        priority_fee: int,
        replacements: int = 0,
    ) -> None:
        """Record on ``conn`` (inside :meth:`next_nonce` or :meth:`replacing`) that the
        request's transaction was sent."""
        conn.execute(
            update(requests)
            .where(requests.c.request_id == request_id)
            .values(
                status="submitted",
                nonce=nonce,
                tx_hash=tx_hash,
                max_fee=max_fee,
                priority_fee=priority_fee,
                replacements=replacements,
                updated_at=now_ms(),
            )
        )

    @contextmanager
    def replacing(self, request_id: str, tx_hash: str) -> Iterator[Connection | None]:
        """The relay's write lock for replacing the transaction ``tx_hash`` of a request;
        ``None`` if another worker replaced it (or it settled) meanwhile."""
        with self._locked() as conn:
            current = conn.execute(
                select(requests.c.tx_hash, requests.c.status).where(
                    requests.c.request_id == request_id
                )
            ).first()
            if current is None or current.tx_hash != tx_hash or current.status != "submitted":
                yield None
            else:
                yield conn


@contextmanager
def open_relay_store(url: str) -> Iterator[RelayStore]:
    """The relay store at ``url`` for the duration of the block (its connections closed after)."""
    store = RelayStore.open(url)
    try:
        yield store
    finally:
        store.close()


def _busy_error(context: Any) -> None:
    """A ``handle_error`` listener: SQLite's "database is locked" becomes
    :class:`RelayStoreBusyError`."""
    if "database is locked" in str(context.original_exception):
        raise RelayStoreBusyError() from context.original_exception
