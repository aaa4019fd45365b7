"""The GraphQL schema published in the repository (docs/schema.graphql) is the one the gateway
serves; a change to the schema without the file fails here, naming the command that writes it."""

from __future__ import annotations

from pathlib import Path

from provledger.api.graphql.build import build_schema

PUBLISHED = Path(__file__).resolve().parents[3] / "docs" / "schema.graphql"


def test_the_published_schema_is_the_served_one() -> None:
    served = build_schema().as_str() + "\n"
    assert PUBLISHED.read_text(encoding="utf-8") == served, (
        "docs/schema.graphql is stale: run `provledger graphql-schema -o docs/schema.graphql`"
    )


def test_every_type_and_list_field_is_described() -> None:
    schema = build_schema()._schema
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Boolean", "Int", "Float", "ID", "JSON"):
            continue
        assert kind.description, f"{name} has no description"
    assert schema.query_type is not None
    for name, field in schema.query_type.fields.items():
        assert field.description, f"Query.{name} has no description"
