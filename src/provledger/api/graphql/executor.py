"""graphql-core's execution, with the plain fields of the records read without ceremony.

Most of what an answer holds are leaves read straight off a view: an asset's ``holder``, a
lineage node's ``depth``. For each, graphql-core builds a resolve-info record, looks for
arguments, calls strawberry's resolver (which reads the attribute), then completes the value
through the type's wrappers. :class:`LeafExecutor` reads such a field itself, the attribute by
its Python name and the value through the type's own serialisation, and hands anything else
(a null where none may be, a value the type refuses, a resolver, arguments, middleware) to
graphql-core unchanged, so answers and errors stay exactly graphql-core's. A list of a hundred
records with five fields each is five hundred such reads.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter


@dataclass(frozen=True)
class _Leaf:
    """A field read as an attribute: its Python name, its type, and whether it is non-null."""

    attribute: str
    kind: GraphQLLeafType
    required: bool


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], _Leaf]:
    """The plain leaf fields of ``schema``'s object types, by type and field name: strawberry
    fields with no resolver and no arguments whose type is a scalar or an enum, not a list."""
    found: dict[tuple[str, str], _Leaf] = {}
    for kind in schema.type_map.values():
        if not isinstance(kind, GraphQLObjectType) or kind.name.startswith("__"):
            continue
        for name, field in kind.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            plain = getattr(field.resolve, "_is_default", False)
            inner = get_nullable_type(field.type)
            if definition is None or not plain or field.args or not is_leaf_type(inner):
                continue
            found[(kind.name, name)] = _Leaf(
                definition.python_name, inner, isinstance(field.type, GraphQLNonNull)
            )
    return found


#: Each schema's plain leaves, found on its first execution.
_BY_SCHEMA: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Leaf]] = (
    weakref.WeakKeyDictionary()
)


class LeafExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, reading plain leaf fields directly (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        leaves = _BY_SCHEMA.get(self.schema)
        if leaves is None:
            leaves = _BY_SCHEMA[self.schema] = plain_leaves(self.schema)
        manager = self.middleware_manager
        self._leaves = leaves if manager is None or not manager.middlewares else {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """The field's value: read here when it is a plain leaf with a value its type takes,
        else by graphql-core."""
        node = field_details_list[0].node
        leaf = self._leaves.get((parent_type.name, node.name.value))
        if leaf is not None:  # a plain leaf has no arguments to be given
            try:
                value = getattr(source, leaf.attribute)
                if value is None:
                    if not leaf.required:
                        return None
                else:
                    coerced = leaf.kind.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # graphql-core reads it again, and reports what is wrong
                pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
