"""The one settings object, and where each of its values came from.

Every field is read, in this order of precedence, from a command-line flag, an environment
variable ``PROVLEDGER_<FIELD>`` (e.g. ``PROVLEDGER_RPC_URL``), the ``[provledger]`` table of a
TOML file (``provledger.toml`` in the working directory, or the file named by ``--config`` /
``PROVLEDGER_CONFIG``), and the default. With nothing set, provledger runs an embedded
in-process chain. ``provledger config show`` prints the effective values and their sources.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from provledger.errors import ConfigurationError

ENV_PREFIX: Final = "PROVLEDGER_"
#: The environment variable naming the TOML settings file.
CONFIG_ENV: Final = "PROVLEDGER_CONFIG"
DEFAULT_CONFIG_FILE: Final = Path("provledger.toml")
#: The table of the TOML file that holds the settings.
CONFIG_TABLE: Final = "provledger"
#: Seconds a request to the node may go unanswered unless ``rpc_timeout`` says otherwise.
RPC_TIMEOUT_SECONDS: Final = 30.0

_config_file: ContextVar[Path | None] = ContextVar("provledger_config_file", default=None)


def config_file() -> Path | None:
    """The TOML settings file in effect: ``--config``, else ``PROVLEDGER_CONFIG``, else
    ``provledger.toml`` if the working directory has one."""
    chosen = _config_file.get()
    if chosen is not None:
        return chosen
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def set_config_file(path: Path | None) -> None:
    """Read settings from ``path`` from now on in this context (the CLI's ``--config``)."""
    _config_file.set(path)


def read_config_file(path: Path | None) -> dict[str, Any]:
    """The ``[provledger]`` table of ``path``; unknown keys are refused with a suggestion."""
    if path is None:
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"settings file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"settings file {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"settings file {path} is not valid TOML: {error}") from None
    table = document.get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"settings file {path}: [{CONFIG_TABLE}] must be a table")
    names = list(Settings.model_fields)
    for key in table:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"settings file {path}: unknown setting {key!r}{hint}")
    return dict(table)


class _TomlSource(PydanticBaseSettingsSource):
    """Settings from the TOML file of :func:`config_file`."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ answers for every field at once

    def __call__(self) -> dict[str, Any]:
        return read_config_file(config_file())


class Settings(BaseSettings):
    """provledger's settings; defaults give the embedded chain.

    Each field's docstring is its description (``use_attribute_docstrings``).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, use_attribute_docstrings=True
    )

    rpc_url: str | None = None
    """JSON-RPC URL of the chain; unset runs the embedded eth-tester chain."""

    rpc_timeout: float = Field(default=RPC_TIMEOUT_SECONDS, gt=0)
    """Seconds a request to the node may go unanswered: then a command ends with exit 3, the
    gateway answers 503, the indexer retries."""

    api_key: SecretStr | None = None
    """An API key of the gateway (`provledger apikey create` makes them), for `watch`."""

    gateway_url: str | None = None
    """URL of a provledger gateway that verifier commands (verify, history, lineage, proof) ask."""

    deployments_dir: Path = Path("deployments")
    """Folder holding deployments/<chain-id>.json records."""

    keystore: Path | None = None
    """Encrypted keystore file (Web3 Secret Storage) of the signing account."""

    keystore_dir: Path = Path(".provledger/keystore")
    """Folder of keystore files that `provledger account` creates and lists; --keystore may name
    an account of it by address."""

    password_file: Path | None = None
    """File holding the keystore password; prompted for when unset."""

    database_url: str = "sqlite:///.provledger/index.sqlite"
    """Index database: a SQLite URL or path (default), or a postgresql:// URL."""

    api_database_url: str | None = None
    """Database URL the gateway reads the index with; unset: database_url. On PostgreSQL, name a
    role that may only read (`provledger db reader` creates one)."""

    query_timeout_ms: int = Field(default=5_000, ge=1)
    """Longest a gateway query may run; a longer one is cancelled and answered with 503."""

    relay_database_url: str = "sqlite:///.provledger/relay.sqlite"
    """Database of the relay's API keys and relayed requests (the gateway writes it; the index
    stays the indexer's)."""

    relayer_keystore: Path | None = None
    """Keystore file of the account that pays the gas of relayed registrations."""

    relayer_password_file: Path | None = None
    """File holding the relayer keystore's password."""

    relayer_dev_account: int | None = None
    """Relay with dev key N (0-19) instead of a keystore; development chains only."""

    relay_replace_after: float = Field(default=60.0, gt=0)
    """Seconds a relayed transaction may wait unmined before it is sent again with more fee (a
    dropped one is sent again at once)."""

    relay_body_max_bytes: int = Field(default=1 << 20, ge=1)
    """Largest body POST /relay/registrations reads."""

    notify_database_url: str = "sqlite:///.provledger/notify.sqlite"
    """Database of the notifications' subscriptions and where each one's delivery stands (the
    indexer reads the subscriptions; `provledger notify run` workers deliver)."""

    notify_master_key_file: Path | None = None
    """File holding the master key webhook secrets are derived from: base64url of 32 bytes
    (`provledger notify keygen`). PROVLEDGER_NOTIFY_MASTER_KEY may hold the same text instead."""

    notify_master_key: SecretStr | None = None
    """The notifications' master key text itself (as in notify_master_key_file)."""

    notify_allow_private: bool = False
    """Let webhooks target loopback, private and link-local addresses (refused by default: a
    guard against server-side request forgery)."""

    notify_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a `notify run` worker holds a subscription it delivers (renewed at each
    delivery, at least three timeouts); a worker that dies lets go of it after that."""

    notify_streams_per_key: int = Field(default=4, ge=1)
    """Event streams (GET /stream) one API key may hold open in one gateway worker."""

    notify_heartbeat_seconds: float = Field(default=15.0, gt=0)
    """Seconds between two heartbeats (comment lines) of an idle event stream."""

    notify_prune_seconds: float = Field(default=60.0, gt=0)
    """Seconds between two prunings of the outbox by the indexer (what was delivered and is
    final goes)."""

    notify_stream_keep_days: float = Field(default=7.0, gt=0)
    """Days the indexer keeps an event stream's notifications (a client may resume that far
    back with Last-Event-ID), and keeps a stream subscription no client connects to."""

    notify_timeout: float = Field(default=10.0, gt=0)
    """Seconds a webhook receiver has to answer a delivery; a later answer counts as a failure
    and the delivery is tried again."""

    data_room: bool = False
    """Serve the data room (/data routes): holders upload an asset's bytes, kept encrypted, and
    the gateway streams them to whom the chain allows. Needs a node and a master key."""

    data_room_storage: str = ".provledger/dataroom"
    """Where the data room keeps its encrypted objects: a folder, or an object store URL
    (s3://bucket/prefix, gs://…, az://…; credentials from the store's usual environment)."""

    data_room_database_url: str = "sqlite:///.provledger/dataroom.sqlite"
    """Database of the data room: wrapped data keys, what is stored, used request nonces, and
    the access log with its anchored batches."""

    data_room_master_key_file: Path | None = None
    """File holding the master key(s) that wrap the data keys: base64url 32-byte keys, one a
    line, the first current (`provledger data keygen` makes one). Kept apart from the database
    and the storage. PROVLEDGER_DATA_ROOM_MASTER_KEY may hold the same text instead."""

    data_room_master_key: SecretStr | None = None
    """The master key text itself (as in data_room_master_key_file), for the environment."""

    data_room_anchor_keystore: Path | None = None
    """Keystore file of the account that anchors the access log's batches (an active
    participant)."""

    data_room_anchor_password_file: Path | None = None
    """File holding that keystore's password."""

    data_room_anchor_dev_account: int | None = None
    """Anchor the access log with dev key N (0-19) instead of a keystore; development chains."""

    data_room_anchor_interval: float = Field(default=300.0, gt=0)
    """Seconds between two anchorings of the access log's new records (none when nothing is
    new)."""

    data_room_max_bytes: int = Field(default=64 << 30, ge=1)
    """Largest upload the data room takes (a file, or a dataset folder's tar stream)."""

    blob_dir: Path = Path(".provledger/blobs")
    """Content-addressed folder of off-chain documents (metadata documents, batch manifests),
    named by their SHA-256."""

    confirmations: int = Field(default=12, ge=0)
    """Blocks below the head after which an indexed record is reported safe."""

    finality_depth: int = Field(default=64, ge=1)
    """Blocks below the head after which a record is final; the reorg window."""

    max_block_range: int = Field(default=100_000, ge=1)
    """Most blocks one eth_getLogs request may span (lower it for nodes that limit ranges, e.g.
    2000)."""

    dev_account: int | None = None
    """Sign with well-known dev key N (0-19); refused on non-development chains."""

    checkpoint_rpc_url: str | None = None
    """JSON-RPC URL of the target chain: a second EVM chain whose Checkpoint contract records
    this chain's block hashes (`provledger checkpoint`, `witness`, proof bundles' evidence)."""

    checkpoint_contract: str | None = None
    """Address of the Checkpoint contract on the target chain."""

    checkpoint_blocks: int = Field(default=256, ge=1)
    """`provledger checkpoint run` submits a checkpoint once this many final blocks are new."""

    checkpoint_minutes: float = Field(default=60.0, gt=0)
    """... or once this many minutes have passed since its last one and a final block is new."""

    checkpoint_max_blocks: int = Field(default=1024, ge=1)
    """Most source blocks one checkpoint covers (a long backlog is checkpointed in parts)."""

    checkpoint_database_url: str = "sqlite:///.provledger/services/checkpoints.sqlite"
    """Database where the gateway keeps the witnesses' co-signatures it was given."""

    witness_state: Path = Path(".provledger/witness.json")
    """File where `provledger witness` keeps the last checkpoint it co-signed (its view of the
    source chain's history)."""

    host: str = "127.0.0.1"
    """Address the gateway listens on."""

    port: int = Field(default=8000, ge=0, le=65535)
    """Port the gateway listens on."""

    workers: int = Field(default=1, ge=1, le=64)
    """Gateway worker processes."""

    upload_max_bytes: int = Field(default=1 << 30, ge=1)
    """Largest file POST /verify hashes (streamed, never held in memory)."""

    manifest_max_bytes: int = Field(default=16 << 20, ge=1)
    """Largest folder manifest POST /verify accepts."""

    ready_max_lag: int = Field(default=10, ge=0)
    """/ready answers 503 while the index is more blocks than this behind the head."""

    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the gateway from a browser (CORS), as a JSON list, e.g.
    ["https://portal.example.org"]; none by default (same origin only)."""

    heavy_threads: int = Field(default=2, ge=1, le=64)
    """Threads per gateway worker for CPU-heavy request work (folder manifests, proof bundles),
    off the event loop."""

    heavy_requests: int = Field(default=2, ge=1)
    """Requests of one heavy route (POST /verify/manifest, GET /assets/{id}/proof) a worker takes
    at once; one more is answered 503 with Retry-After."""

    graphql_max_depth: int = Field(default=10, ge=2, le=64)
    """Deepest nesting of fields a GraphQL query may have; a deeper one is refused before it
    reads anything."""

    graphql_max_cost: int = Field(default=5_000, ge=1)
    """Most records a GraphQL query may ask for (each list multiplies its fields by its
    ``first``); a costlier one is refused before it reads anything."""

    graphql_asof_max_events: int = Field(default=500_000, ge=0)
    """Most events a GraphQL answer as of a past block may replay (the index at that block is
    rebuilt from the events up to it); a block with more before it is refused."""

    graphql_asof_keep: int = Field(default=4, ge=1)
    """Past blocks whose replayed index is kept for the next question about them."""

    http_max_request_line: int = Field(default=8 << 10, ge=256)
    """Longest request target (path and query) the gateway reads, in bytes; longer: 414."""

    http_max_header_bytes: int = Field(default=32 << 10, ge=1024)
    """Largest request head (request line and header fields) the gateway reads, in bytes;
    larger: 431."""

    http_max_headers: int = Field(default=100, ge=8)
    """Most header fields in one request; more: 431."""

    http_header_timeout: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a request head once it starts (or once it connects); later:
    408 and the connection closed."""

    http_body_timeout: float = Field(default=30.0, gt=0)
    """Longest pause, in seconds, in a request body the gateway is reading; longer: 408 and the
    connection closed."""

    http_keep_alive_timeout: float = Field(default=5.0, gt=0)
    """Seconds an idle keep-alive connection stays open."""

    http_max_connections: int = Field(default=1000, ge=1)
    """Most connections one gateway worker holds; one more is answered 503 with Retry-After and
    closed."""

    page_size: int = Field(default=100, ge=1, le=1000)
    """Default page size of list endpoints (max 1000)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (keyword arguments) over the environment over the TOML file."""
        return (init_settings, env_settings, _TomlSource(settings_cls))


#: Settings whose values may carry credentials (a password in a URL, an API key in a query).
URL_SETTINGS: Final = frozenset(
    {
        "rpc_url",
        "gateway_url",
        "database_url",
        "api_database_url",
        "relay_database_url",
        "notify_database_url",
        "checkpoint_rpc_url",
        "checkpoint_database_url",
    }
)


def load_settings(flags: Mapping[str, object] | None = None) -> Settings:
    """The settings: the flags that were given (not None) over the environment over the file.

    A value that does not validate is a :class:`ConfigurationError` naming the setting, its
    source and the reason.
    """
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    try:
        return Settings.model_validate(given)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        source = setting_source(name, given)
        raise ConfigurationError(f"setting {name} ({source}): {first['msg']}") from None


def setting_source(
    name: str,
    flags: Mapping[str, object] | None = None,
    in_file: Mapping[str, object] | None = None,
) -> str:
    """Where the value of setting ``name`` comes from: flag, environment, file or default.

    ``in_file`` is the settings file's table when the caller has read it already.
    """
    if flags and flags.get(name) is not None:
        return "flag"
    variable = ENV_PREFIX + name.upper()
    if any(key.upper() == variable for key in os.environ):
        return f"env {variable}"
    path = config_file()
    table = read_config_file(path) if in_file is None else in_file
    return str(path) if name in table else "default"


#: A setting's value as JSON shows it: numbers and booleans as themselves, paths and URLs as
#: text, lists as lists, None when unset.
SettingValue = str | int | float | bool | list[str] | None


@dataclass(frozen=True)
class SettingRow:
    """One line of ``provledger config show``."""

    name: str
    value: SettingValue
    source: str

    @property
    def text(self) -> str:
        """The value in a table cell: ``-`` when unset, a list as JSON."""
        if self.value is None:
            return "-"
        if isinstance(self.value, list):
            return json.dumps(self.value)
        return str(self.value)


def mask_url(url: str) -> str:
    """``url`` with the password of its user part and its query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if "@" not in parts.netloc and not parts.query:
        return url  # nothing to hide (urlunsplit would also drop an empty authority)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe_settings(
    settings: Settings, flags: Mapping[str, object] | None = None
) -> list[SettingRow]:
    """Every setting with its effective value (credentials masked) and its source."""
    in_file = read_config_file(config_file())  # once, not once per setting
    return [
        SettingRow(
            name,
            _setting_value(name, getattr(settings, name)),
            setting_source(name, flags, in_file),
        )
        for name in Settings.model_fields
    ]


def _setting_value(name: str, value: object) -> SettingValue:
    """``value`` of setting ``name`` as JSON shows it, credentials in URLs masked."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if name in URL_SETTINGS:
        return mask_url(str(value))
    if isinstance(value, tuple | list):
        return [str(item) for item in value]
    return str(value)  # a path, a host
