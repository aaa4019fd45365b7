"""Opening the store: engines for SQLite (WAL) and PostgreSQL, the schema, the writer lock.

The default is a SQLite file; a ``postgresql://`` URL selects PostgreSQL through psycopg 3.
Only one indexer writes: on PostgreSQL an advisory lock elects it, on SQLite an exclusive
lock on a file next to the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

from provledger.config import mask_url
from provledger.errors import ConfigurationError, ProvledgerError, ServiceUnavailableError
from provledger.store import schema

#: ``pg_advisory_lock`` key of the provledger writer: the first 8 bytes of sha256("provledger").
WRITER_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(b"provledger.indexer").digest()[:8], "big", signed=True
)


class QueryTimeoutError(ServiceUnavailableError):
    """A read ran past the query time limit and was cancelled."""

    seconds: float

    def _message(self) -> str:
        return f"the query ran longer than {self.seconds * 1000:g} ms and was cancelled"


class IndexNotBuiltError(ServiceUnavailableError):
    """The database holds no index yet: the indexer has not created its tables."""

    template = "the index is not built yet: run provledger index first"


class IndexSchemaError(IndexNotBuiltError):
    """The database holds an index of another schema version (an older provledger built it)."""

    template = (
        "the index was built with schema version {stored} and this provledger reads version "
        "{current}: run provledger index to rebuild it from the chain (it reports its progress)"
    )
    stored: str
    current: int


class DatabaseUnavailableError(ServiceUnavailableError):
    """A PostgreSQL connection was lost, or cannot be opened: the gateway's to the index, or
    any command's to its database."""

    template = "the {what} cannot be reached ({reason}); retry shortly"
    what: str
    """``index database`` for the gateway's reads; else ``database at`` its masked URL."""
    reason: str


class WriterLockHeldError(ProvledgerError):
    """Another indexer holds the writer lock."""

    template = "another indexer is writing to {where}"
    where: str


def normalise_url(url: str) -> str:
    """A SQLAlchemy URL: plain paths become SQLite files; ``postgresql://`` uses psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` is SQLite."""
    return engine.dialect.name == "sqlite"


def sqlite_file(url: URL) -> str | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = url.database
    return None if not database or database == ":memory:" else database


def sqlite_path(url: str) -> Path | None:
    """The file a database URL or SQLite path names; None for PostgreSQL and in-memory SQLite.
    Whether it exists tells whether there is an index to serve: opening one creates it."""
    parsed = make_url(normalise_url(url))
    database = sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
    return None if database is None else Path(database)


#: How long a SQLite connection waits for a lock before it gives up.
BUSY_TIMEOUT_MS: Final = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Larger pages halve B-tree work on bulk inserts; only a new database takes the setting.
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB
    cursor.close()


def _sqlite_query_only(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")  # any write fails: "readonly database"


def create_store_engine(
    url: str,
    *,
    read_only: bool = False,
    query_timeout: float | None = None,
    pool_size: int = 5,
    max_overflow: int = 10,
) -> Engine:
    """An engine for ``url`` with the project's settings.

    ``read_only`` engines are the gateway's; ``query_timeout`` (seconds) cancels a statement
    that runs longer with :class:`QueryTimeoutError`; ``pool_size`` and ``max_overflow`` size
    the connection pool (SQLAlchemy's defaults unless given).
    """
    pool = {"pool_size": pool_size, "max_overflow": max_overflow}
    full = normalise_url(url)
    parsed = make_url(full)
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_file(parsed)
        if database is not None:
            folder = Path(database).parent
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
        else:
            pool = {}  # one connection per thread: SQLAlchemy's pool for in-memory databases
        engine = create_engine(full, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        if read_only:
            event.listen(engine, "connect", _sqlite_query_only)
            event.listen(engine, "connect", _schema_check(engine))
            event.listen(engine, "handle_error", _index_not_built)
        if query_timeout is not None:
            _limit_sqlite_statements(engine, query_timeout)
        return engine
    if parsed.get_backend_name() == "postgresql":
        options = []
        extra: dict[str, Any] = {}
        if read_only:
            # The gateway's reads: each statement in its own snapshot, as under READ COMMITTED
            # anyway, without the BEGIN and ROLLBACK round trips around every request.
            options.append("-c default_transaction_read_only=on")
            extra["isolation_level"] = "AUTOCOMMIT"
        if query_timeout is not None:
            options.append(f"-c statement_timeout={max(1, round(query_timeout * 1000))}")
        if options:
            extra["connect_args"] = {"options": " ".join(options)}
        # The indexer's engine pings every connection it takes from the pool; the gateway's
        # only those idle for a while (one round trip fewer on every busy request).
        engine = create_engine(full, pool_pre_ping=not read_only, **pool, **extra)
        if read_only:
            _ping_after_idle(engine)
            event.listen(engine, "connect", _schema_check(engine))
            event.listen(engine, "handle_error", _index_not_built)
        what = "index database" if read_only else f"database at {mask_url(full)}"
        event.listen(engine, "handle_error", _database_lost(what))
        if query_timeout is not None:
            event.listen(engine, "handle_error", _timeout_error(query_timeout, _postgres_cancelled))
        return engine
    raise ConfigurationError(f"database URL {url!r} is neither SQLite nor PostgreSQL")


#: A gateway connection idle in the pool for longer than this is pinged before it is used.
PING_AFTER_IDLE_SECONDS: Final = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled PostgreSQL connection before use only if it sat idle for longer than
    :data:`PING_AFTER_IDLE_SECONDS`; one that fails is replaced before the request uses it.

    Pinging every checkout (``pool_pre_ping``) costs a round trip on every request. A gateway
    under load reuses its connections within milliseconds, and a server restart then shows as
    one failed request (503) per worker, after which SQLAlchemy replaces the whole pool; an
    idle gateway notices the restart by the ping and answers its next request normally.
    """

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except engine.dialect.loaded_dbapi.Error as error:
            # the pool drops this connection and checks out another (a new one if need be)
            raise DisconnectionError(f"idle connection lost: {error}") from error

    event.listen(engine, "checkin", on_checkin)
    event.listen(engine, "checkout", on_checkout)


#: SQLite calls the progress handler every this many virtual machine instructions.
_PROGRESS_STEPS: Final = 1000


def _limit_sqlite_statements(engine: Engine, seconds: float) -> None:
    """Interrupt a statement once it has run ``seconds``: every execution sets a deadline on
    its connection (covering the reading of its rows), which a progress handler checks; the
    deadline is lifted when the connection goes back to the pool."""

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info["deadline"] = [math.inf]
        dbapi_connection.set_progress_handler(
            lambda: time.monotonic() > deadline[0], _PROGRESS_STEPS
        )

    def before_execute(conn: Connection, *_: Any) -> None:
        conn.connection.info["deadline"][0] = time.monotonic() + seconds

    def on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        connection_record.info["deadline"][0] = math.inf

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "reset", on_reset)
    event.listen(engine, "handle_error", _timeout_error(seconds, _sqlite_interrupted))


def _timeout_error(seconds: float, cancelled: Callable[[Any], bool]) -> Callable[[Any], None]:
    """A ``handle_error`` listener that turns a statement ``cancelled`` says was cancelled
    into :class:`QueryTimeoutError`."""

    def translate(context: Any) -> None:
        if cancelled(context.original_exception):
            raise QueryTimeoutError(seconds) from context.original_exception

    return translate


def _index_not_built(context: Any) -> None:
    """A ``handle_error`` listener of the gateway's engines: a read of a table that is not
    there (SQLite's "no such table", PostgreSQL's undefined_table) means the indexer has not
    created the index yet, which :class:`IndexNotBuiltError` says instead of a database error."""
    error = context.original_exception
    if "no such table" in str(error) or getattr(error, "sqlstate", None) == "42P01":
        raise IndexNotBuiltError() from error


def _database_lost(what: str) -> Callable[[Any], None]:
    """A ``handle_error`` listener of a PostgreSQL engine: a lost connection, or one that cannot
    be opened, is :class:`DatabaseUnavailableError` naming ``what`` (the gateway answers 503,
    a command one line and exit 3), not an unexpected failure. SQLAlchemy has already discarded
    the pool's connections older than the loss."""

    def translate(context: Any) -> None:
        error = context.original_exception
        if context.is_pre_ping or not isinstance(error, context.dialect.loaded_dbapi.Error):
            return  # the pool replaces a connection its ping found lost; a listener's own error
        if context.is_disconnect or context.connection is None:  # lost, or never opened
            reason = str(error).strip().splitlines()[0]
            raise DatabaseUnavailableError(what, reason) from error

    return translate


def _sqlite_interrupted(error: Any) -> bool:
    return "interrupted" in str(error)


def _postgres_cancelled(error: Any) -> bool:
    return getattr(error, "sqlstate", None) == "57014"  # query_canceled


def _schema_check(engine: Engine) -> Callable[[Any, Any], None]:
    """A ``connect`` listener for the gateway's ``engine``: a connection to an index of another
    schema version is refused with :class:`IndexSchemaError` (its hashes would not compare
    with this version's), until the indexer has rebuilt it. A database without the index's
    tables passes (:func:`_index_not_built` answers its reads)."""
    driver_error = engine.dialect.loaded_dbapi.Error

    def check(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(_STORED_VERSION)
            found = cursor.fetchone()
        except driver_error:  # no meta table yet
            return
        finally:
            cursor.close()
        if found is not None and str(found[0]) != str(schema.SCHEMA_VERSION):
            dbapi_connection.close()
            raise IndexSchemaError(str(found[0]), schema.SCHEMA_VERSION)

    return check


_STORED_VERSION: Final = "SELECT value FROM meta WHERE key = 'schema_version'"


def stored_schema_version(engine: Engine) -> str | None:
    """The schema version the index in ``engine``'s database was built with; None if there is
    none yet."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(schema.meta.name):
            return None
        found = conn.exec_driver_sql(_STORED_VERSION).scalar()
    return None if found is None else str(found)


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet; :class:`IndexSchemaError` if the database
    holds an index of another schema version (only the indexer rebuilds one)."""
    stored = stored_schema_version(engine)
    if stored is not None and stored != str(schema.SCHEMA_VERSION):
        raise IndexSchemaError(stored, schema.SCHEMA_VERSION)
    create_tables(engine)


def create_tables(engine: Engine) -> None:
    """Create every table that does not exist yet, whatever the database holds (the caller
    has checked its schema version)."""
    schema.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop every provledger table (a rebuild follows)."""
    schema.metadata.drop_all(engine)


@contextmanager
def writer_lock(engine: Engine) -> Iterator[None]:
    """Hold the single-writer lock for the duration of the block; :class:`WriterLockHeldError` if
    another process holds it (a caller that waits asks again, and can be stopped meanwhile)."""
    if is_sqlite(engine):
        database = sqlite_file(engine.url)
        if database is None:
            yield
            return
        path = Path(f"{database}.writer.lock")
        with path.open("a") as handle:
            if not _try_flock(handle.fileno()):
                raise WriterLockHeldError(str(database))
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        if not _try_advisory(conn):
            raise WriterLockHeldError(engine.url.render_as_string())
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": WRITER_LOCK_KEY})
            conn.commit()


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _try_advisory(conn: Connection) -> bool:
    acquired = conn.execute(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": WRITER_LOCK_KEY}
    ).scalar_one()
    conn.commit()
    return bool(acquired)


class ReaderRoleError(ConfigurationError):
    """A reader role cannot be made as asked."""


_ROLE_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def create_reader_role(engine: Engine, name: str, password: str | None = None) -> None:
    """Create (or update) PostgreSQL role ``name`` that can log in and only read the index.

    It may SELECT every table of the schema, now and (through default privileges of the role
    that runs this, the indexer's) every table a rebuild creates later; it owns nothing and is
    granted no write. The gateway connects with it through ``api_database_url``.
    """
    if is_sqlite(engine):
        raise ReaderRoleError(
            "a reader role is a PostgreSQL role; on SQLite the gateway's connections are "
            "query-only already"
        )
    if not _ROLE_NAME.fullmatch(name):
        raise ReaderRoleError(
            f"role name {name!r}: use lowercase letters, digits and _ (at most 63, not first "
            "a digit)"
        )
    from psycopg import sql

    role = sql.Identifier(name)
    secret = sql.SQL("PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(
            sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {}").format(
                role, secret
            )
        )
        database = sql.Identifier(conn.exec_driver_sql("SELECT current_database()").scalar_one())
        for statement in (
            "GRANT CONNECT ON DATABASE {database} TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
        ):
            cursor.execute(sql.SQL(statement).format(database=database, role=role))
