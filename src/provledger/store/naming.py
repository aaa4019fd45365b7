"""The naming convention of provledger's tables, and the metadata the index's tables are
declared on (:mod:`provledger.store.schema`, :mod:`provledger.store.document_tables`)."""

from __future__ import annotations

from sqlalchemy import MetaData


def new_metadata() -> MetaData:
    """New table metadata with the index's naming convention (the access log and relay use it)."""
    return MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


metadata = new_metadata()
