"""Documents the gateway has already accepted, run without strawberry's request pipeline.

A query document that parsed and validated once (the depth limit included) parses and
validates the same way every time: what a client sends again and again (a persisted query, an
app's fixed queries) is kept here with its parse, and its next requests go straight to
graphql-core's execution over strawberry's own schema and resolvers. Only the cost, which the
request's variables change, is taken again. strawberry's pipeline (its extension hooks around
parsing, validation and execution, the validation cache's key) costs about as much as running
a lookup of an asset with its licences; the answer is the same either way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from graphql import (
    ArgumentNode,
    DocumentNode,
    VariableNode,
    Visitor,
    execute,
    parse,
    visit,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe
from strawberry.utils.operation import get_operation_type

from provledger.api.graphql.limits import cost_errors

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A bounded map, the least recently used entry forgotten first; safe to share between
    threads."""

    def __init__(self, capacity: int, what: str = "entry") -> None:
        if capacity < 1:
            raise ValueError(f"a cache holds at least 1 {what}, not {capacity}")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The value under ``key``, if kept; it becomes the most recently used."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key``, forgetting the least recently used beyond the
        capacity."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class Prepared:
    """A document that passed validation, and the type of the operation a request runs."""

    document: DocumentNode
    operation: OperationType
    costed_by_variables: bool
    """Whether a variable gives a ``first``: if not, its cost, within the limit once, always
    is."""


def prepare(query: str, operation_name: str | None) -> Prepared:
    """``query``, which strawberry has just parsed and validated, kept parsed."""
    document = parse(query)
    return Prepared(
        document, get_operation_type(document, operation_name), _first_from_variable(document)
    )


def _first_from_variable(document: DocumentNode) -> bool:
    """Whether an argument ``first`` of ``document`` is a variable."""
    found = False

    class Firsts(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            nonlocal found
            found = found or (node.name.value == "first" and isinstance(node.value, VariableNode))

    visit(document, Firsts())
    return found


async def run_prepared(
    schema: strawberry.Schema,
    prepared: Prepared,
    *,
    variables: Mapping[str, Any] | None,
    context: Any,
    root_value: Any,
    operation_name: str | None,
    operation_extensions: dict[str, Any] | None,
    max_cost: int,
) -> ExecutionResult:
    """The answer to a request of a prepared document: refused when it costs more than
    ``max_cost`` with these ``variables``, else executed. Errors without a path are the
    variables' (graphql-core coerces them as execution starts)."""
    if prepared.costed_by_variables:
        refused = cost_errors(schema._schema, prepared.document, variables, max_cost=max_cost)
        if refused:
            return ExecutionResult(data=None, errors=refused, extensions={})
    result = await await_maybe(
        execute(
            schema._schema,
            prepared.document,
            root_value=root_value,
            context_value=context,
            variable_values=dict(variables) if variables is not None else None,
            operation_name=operation_name,
            executor_class=schema.execution_context_class,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # typed as bool
            operation_extensions=operation_extensions,
        )
    )
    return ExecutionResult(data=result.data, errors=result.errors, extensions={})
