"""The one settings object.

Every field can be set by an environment variable ``PROVLEDGER_<FIELD>`` (e.g.
``PROVLEDGER_RPC_URL``); command-line flags override both. With nothing set, provledger runs an
embedded in-process chain.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """provledger's settings; defaults give the embedded chain."""

    model_config = SettingsConfigDict(env_prefix="PROVLEDGER_", extra="ignore", frozen=True)

    rpc_url: str | None = Field(
        default=None,
        description="JSON-RPC URL of the chain; unset runs the embedded eth-tester chain.",
    )
    deployments_dir: Path = Field(
        default=Path("deployments"),
        description="Folder holding deployments/<chain-id>.json records.",
    )
    keystore: Path | None = Field(
        default=None,
        description="Encrypted keystore file (Web3 Secret Storage) of the signing account.",
    )
    password_file: Path | None = Field(
        default=None,
        description="File holding the keystore password; prompted for when unset.",
    )
    database_url: str = Field(
        default="sqlite:///.provledger/index.sqlite",
        description="Index database: a SQLite URL or path (default), or a postgresql:// URL.",
    )
    blob_dir: Path = Field(
        default=Path(".provledger/blobs"),
        description="Content-addressed folder of off-chain documents (metadata documents, "
        "batch manifests), named by their SHA-256.",
    )
    confirmations: int = Field(
        default=12,
        ge=0,
        description="Blocks below the head after which an indexed record is reported safe.",
    )
    finality_depth: int = Field(
        default=64,
        ge=1,
        description="Blocks below the head after which a record is final; the reorg window.",
    )
    max_block_range: int = Field(
        default=100_000,
        ge=1,
        description="Most blocks one eth_getLogs request may span (lower it for nodes that "
        "limit ranges, e.g. 2000).",
    )
    dev_account: int | None = Field(
        default=None,
        description="Sign with well-known dev key N (0-19); refused on non-development chains.",
    )
    host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the gateway listens on.")
    workers: int = Field(default=1, ge=1, le=64, description="Gateway worker processes.")
    upload_max_bytes: int = Field(
        default=1 << 30,
        ge=1,
        description="Largest file POST /verify hashes (streamed, never held in memory).",
    )
    manifest_max_bytes: int = Field(
        default=16 << 20, ge=1, description="Largest folder manifest POST /verify accepts."
    )
    ready_max_lag: int = Field(
        default=10,
        ge=0,
        description="/ready answers 503 while the index is more blocks than this behind the head.",
    )
    page_size: int = Field(
        default=100, ge=1, le=1000, description="Default page size of list endpoints (max 1000)."
    )
