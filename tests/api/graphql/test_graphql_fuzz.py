"""Fuzzing ``POST /graphql`` with hypothesis-graphql: at least 1,000 queries, none answered
with a 5xx, every error a GraphQL error with a message.

The queries come from the schema the gateway serves (read by introspection: the SDL of
``build_schema()``), in three kinds:

* **valid** operations (hypothesis-graphql, ``Mode.POSITIVE``), tuned so that most get past
  argument parsing and down to the links: their strings often swapped for values the index
  holds (asset ids, accounts, hashes, read from the gateway first), ``first`` mostly a small
  page, ``after`` mostly none or a cursor the gateway issued for that list, ``where`` and
  ``block`` often none; sent with their arguments inline or hoisted into variables;
* **schema violations** (hypothesis-graphql, ``Mode.NEGATIVE``): an argument of the wrong
  type, a required one missing, an unknown enum value;
* **mutants**, made here: unknown fields and arguments, values of the wrong kind, huge or
  negative ``first``, garbage ``after`` cursors, nesting past the depth limit (by fields,
  fragments and introspection), brackets nested thousands deep, aliases past the cost limit,
  unterminated strings, truncated or noisy text (NULs and lone surrogates too), mutations and
  subscriptions, operation names that name nothing, variables of the wrong type, strings a
  database may not take (NULs, lone surrogates, LIKE wildcards, quotes, 10,000 characters),
  whole numbers at the edges of 32 and 64 bits.

Every answer must have a status below 500 and be a JSON object holding ``data`` and/or a
non-empty ``errors`` list, each error with a non-empty ``message`` that names no traceback,
exception class or database driver and has no ``INTERNAL_SERVER_ERROR`` code; and nothing may
be logged as a resolver's unexpected exception. A valid operation must be answered (status
200) with ``data`` holding exactly its root fields, its errors all a field's, unless the depth
or cost limit refused it; and a fair share of them must be answered without any error (else
the fuzzing never reaches the resolvers). A schema violation must be refused before it runs.

SQLite takes all three kinds (at least :data:`MINIMUM_QUERIES`); PostgreSQL, whose text holds
no NULs and whose INTEGER columns stop at 2^31 - 1, the kinds that reach the database: valid
operations, garbage cursors, huge pages, variables of the wrong type, hostile strings and
numbers at the edges. ``PROVLEDGER_TEST_PROFILE=deep`` (``make test-deep``) sends four times
as many, not derandomized. The smallest request of each crash the fuzzing found stays as a
regression test (:data:`FOUND`), a strict xfail on the backends it still crashes on.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Final, TypeVar

import graphql
import pytest
from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    TypeNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries

from api.conftest import Indexed
from provledger.api.graphql.limits import COST_LIMIT_EXCEEDED, DEPTH_LIMIT_EXCEEDED
from provledger.api.graphql.router import INTERNAL_MESSAGE, INTERNAL_SERVER_ERROR
from provledger.errors import ProvledgerError

DEEP: Final = os.environ.get("PROVLEDGER_TEST_PROFILE") == "deep"
SCALE: Final = 4 if DEEP else 1
#: Queries sent to the SQLite index, at least: the acceptance point's count.
MINIMUM_QUERIES: Final = 1000
#: Examples of each kind by backend (times :data:`SCALE`); SQLite's add up to
#: :data:`MINIMUM_QUERIES`.
EXAMPLES: Final = {
    "sqlite": {"valid": 430, "violation": 190, "mutant": 380},
    "postgresql": {"valid": 80, "mutant": 40},
}
#: The share of valid operations that must be answered without any error.
CLEAN_SHARE: Final = 0.2

MAX_LONG: Final = 2**53 - 1
LIMIT_CODES: Final = frozenset({DEPTH_LIMIT_EXCEEDED, COST_LIMIT_EXCEEDED})

#: What an error message shows when something crashed instead of refusing: a traceback, a
#: Python exception class, a database driver, an exception's stock text.
CRASH_MARKERS: Final = re.compile(
    r"Traceback|File \"|\b(?:Attribute|Type|Key|Index|Value|ZeroDivision|Recursion|Overflow"
    r"|Assertion|Name|UnboundLocal|NotImplemented|Runtime|Lookup|UnicodeEncode|UnicodeDecode"
    r"|Operational|Integrity|Data|Programming|Internal|Database)Error\b|StopIteration"
    r"|sqlalchemy|psycopg|sqlite3|NoneType|has no attribute|not subscriptable"
    r"|unsupported operand|positional argument|object is not|\[SQL:",
    re.IGNORECASE,
)

N = TypeVar("N", bound=graphql.Node)


# ------------------------------------------------------------------------------ requests


@dataclass(frozen=True)
class Request:
    """One POST to /graphql: its JSON body, and the kind of query it carries."""

    kind: str
    body: dict[str, Any]
    #: The root fields a valid operation's ``data`` must hold; None for the other kinds.
    roots: tuple[str, ...] | None = None

    def __repr__(self) -> str:  # what hypothesis shows of a failing example: the body to send
        return f"Request({self.kind!r}, {json.dumps(self.body, ensure_ascii=True)})"


def _request(
    kind: str,
    query: str,
    variables: object = None,
    operation_name: str | None = None,
    roots: tuple[str, ...] | None = None,
) -> Request:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation_name is not None:
        body["operationName"] = operation_name
    return Request(kind, body, roots)


def _document(document: DocumentNode) -> DocumentNode:
    return document


#: The custom scalar ``Long``: mostly small numbers (the index's ids and block numbers), and
#: its whole range and edges.
LONGS: Final = st.one_of(
    st.integers(0, 100),
    st.integers(-2, 100),
    st.integers(-MAX_LONG, MAX_LONG),
    st.sampled_from([MAX_LONG, -MAX_LONG, 2**31, 2**32, 1_700_000_000]),
).map(lambda number: IntValueNode(value=str(number)))
CUSTOM_SCALARS: Final = {"Long": LONGS}

NAMES: Final = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,24}\Z")
#: Text of any code point: NULs, controls, and lone surrogates (which hypothesis leaves out
#: unless asked; they travel escaped in JSON).
ANY_TEXT: Final = st.text(
    st.one_of(*[st.characters(min_codepoint=0)] * 3, st.sampled_from("\ud800\udbff\udc00\udfff")),
    max_size=40,
)
#: Page sizes of valid operations: mostly small (a query's cost stays under the limit and
#: its links get rows), now and then up to a page's most.
PAGE_SIZES: Final = st.one_of(*[st.integers(0, 3)] * 3, st.integers(0, 100))


@dataclass(frozen=True)
class Target:
    """The gateway under fuzzing: the schema it serves, strings its index holds (ids,
    accounts, hashes, and near misses of them) and cursors it issued, by connection type."""

    schema: GraphQLSchema
    values: list[str]
    cursors: dict[str, list[str]]
    #: The last block indexed.
    head: int
    #: The text filters (root list, field) that take any text (the rest parse theirs).
    free_text_filters: list[tuple[str, str]]

    @cached_property
    def blocks(self) -> st.SearchStrategy[ValueNode]:
        """``block`` arguments of valid operations: none, or a block the index holds."""
        numbers = st.integers(0, self.head).map(lambda number: f"{{ number: {number} }}")
        return st.one_of(st.just(NullValueNode()), numbers.map(graphql.parse_value))

    @cached_property
    def valid(self) -> st.SearchStrategy[DocumentNode]:
        """hypothesis-graphql's valid operations as documents: mostly of one root field
        each (each root field as likely as the next), now and then of several."""

        def of(fields: Sequence[str] | None) -> st.SearchStrategy[DocumentNode]:
            return queries(
                self.schema, fields=fields, custom_scalars=CUSTOM_SCALARS, print_ast=_document
            )

        assert self.schema.query_type is not None
        return st.one_of(
            [of([name]) for name in sorted(self.schema.query_type.fields)] + [of(None)]
        )

    @cached_property
    def all_cursors(self) -> list[str]:
        return sorted(cursor for cursors in self.cursors.values() for cursor in cursors)

    @cached_property
    def connection_fields(self) -> frozenset[str]:
        """Names of the fields that page (they take ``first`` and ``after``), on any type."""
        return frozenset(
            name
            for kind in self.schema.type_map.values()
            if isinstance(kind, GraphQLObjectType)
            for name, definition in kind.fields.items()
            if "first" in definition.args
        )

    @cached_property
    def deep_types(self) -> dict[str, list[tuple[str, str]]]:
        """For each object type from which paths of any length lead, its fields (with their
        types) that lead on: the steps of a walk deeper than any limit. Fields with required
        arguments are left out."""
        edges: dict[str, list[tuple[str, str]]] = {}
        for kind in self.schema.type_map.values():
            if isinstance(kind, GraphQLObjectType) and not kind.name.startswith("__"):
                edges[kind.name] = [
                    (name, graphql.get_named_type(definition.type).name)
                    for name, definition in kind.fields.items()
                    if isinstance(graphql.get_named_type(definition.type), GraphQLObjectType)
                    and not any(map(graphql.is_required_argument, definition.args.values()))
                ]
        deep = set(edges)
        while True:
            kept = {name for name in deep if any(to in deep for _, to in edges[name])}
            if kept == deep:
                break
            deep = kept
        return {name: [(f, to) for f, to in edges[name] if to in deep] for name in deep}

    @cached_property
    def text_filters(self) -> list[tuple[str, str]]:
        """The root lists and the fields of their ``where`` that take a text filter."""
        return self.filters_of("String")

    @cached_property
    def number_filters(self) -> list[tuple[str, str]]:
        """The root lists and the fields of their ``where`` that take a whole-number filter."""
        return self.filters_of("Long")

    def filters_of(self, scalar: str) -> list[tuple[str, str]]:
        """The root lists and the fields of their ``where`` whose filter compares ``scalar``s."""
        assert self.schema.query_type is not None
        found = []
        for name, definition in self.schema.query_type.fields.items():
            where = definition.args.get("where")
            kind = None if where is None else graphql.get_named_type(where.type)
            if not isinstance(kind, GraphQLInputObjectType):
                continue
            for field_name, field in kind.fields.items():
                condition = graphql.get_named_type(field.type)
                if not isinstance(condition, GraphQLInputObjectType):
                    continue
                equals = condition.fields.get("eq")
                if equals is not None and graphql.get_named_type(equals.type).name == scalar:
                    found.append((name, field_name))
        return found

    def leaf(self, type_name: str) -> str:
        """A scalar field of the object type ``type_name``, without arguments."""
        kind = self.schema.get_type(type_name)
        assert isinstance(kind, GraphQLObjectType)
        name: str
        for name, definition in kind.fields.items():
            if (
                graphql.is_leaf_type(graphql.get_named_type(definition.type))
                and not definition.args
            ):
                return name
        return "__typename"


# ------------------------------------------------------------------------------ documents


def _nodes(document: DocumentNode, kind: type[N]) -> list[N]:
    """Every node of ``kind`` in ``document``, in document order."""
    found: list[N] = []

    class Collect(Visitor):
        def enter(self, node: graphql.Node, *_: object) -> None:
            if isinstance(node, kind):
                found.append(node)

    visit(document, Collect())
    return found


def _replaced(document: DocumentNode, old: graphql.Node, new: graphql.Node) -> DocumentNode:
    """``document`` with the node ``old`` (itself, not an equal one) replaced by ``new``."""

    class Replace(Visitor):
        def enter(self, node: graphql.Node, *_: object) -> graphql.Node | None:
            return new if node is old else None

    replaced: DocumentNode = visit(document, Replace())
    return replaced


def _operation(document: DocumentNode) -> OperationDefinitionNode:
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation


def _roots(document: DocumentNode) -> tuple[str, ...]:
    return tuple(
        (selection.alias or selection.name).value
        for selection in _operation(document).selection_set.selections
        if isinstance(selection, FieldNode)
    )


def _with_variables(
    document: DocumentNode, definitions: tuple[VariableDefinitionNode, ...]
) -> DocumentNode:
    operation = _operation(document)
    return _replaced(document, operation, replace(operation, variable_definitions=definitions))


def _with_argument(node: FieldNode, name: str, value: ValueNode) -> FieldNode:
    kept = tuple(argument for argument in node.arguments or () if argument.name.value != name)
    return replace(node, arguments=(*kept, ArgumentNode(name=NameNode(value=name), value=value)))


def _type_node(kind: GraphQLInputType) -> TypeNode:
    if isinstance(kind, GraphQLNonNull):
        inner = _type_node(kind.of_type)
        assert isinstance(inner, NamedTypeNode | ListTypeNode)
        return NonNullTypeNode(type=inner)
    if isinstance(kind, GraphQLList):
        return ListTypeNode(type=_type_node(kind.of_type))
    assert isinstance(kind, GraphQLNamedType)
    return NamedTypeNode(name=NameNode(value=kind.name))


def _hoisted(document: DocumentNode, schema: GraphQLSchema) -> tuple[DocumentNode, dict[str, Any]]:
    """``document`` with each argument's value moved into a variable of the argument's type,
    and the variables' values."""
    type_info = TypeInfo(schema)
    definitions: list[VariableDefinitionNode] = []
    variables: dict[str, Any] = {}

    class Hoist(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> ArgumentNode | None:
            argument = type_info.get_argument()
            if argument is None:
                return None
            name = f"v{len(definitions)}"
            variables[name] = value_from_ast_untyped(node.value)
            variable = VariableNode(name=NameNode(value=name))
            definitions.append(
                VariableDefinitionNode(variable=variable, type=_type_node(argument.type))
            )
            return ArgumentNode(name=node.name, value=variable)

    hoisted = visit(document, TypeInfoVisitor(type_info, Hoist()))
    return _with_variables(hoisted, tuple(definitions)), variables


# ------------------------------------------------------------------------------ valid operations


def _tuned(draw: st.DrawFn, target: Target) -> DocumentNode:
    """A valid operation, tuned to reach the resolvers (see the module's docstring)."""
    known = st.sampled_from(target.values)
    type_info = TypeInfo(target.schema)

    class Tune(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: object) -> StringValueNode | None:
            return replace(node, value=draw(known)) if draw(st.integers(0, 2)) else None

        def leave_field(self, node: FieldNode, *_: object) -> FieldNode | None:
            definition, parent = type_info.get_field_def(), type_info.get_parent_type()
            if definition is None or not node.arguments or draw(st.integers(0, 9)) == 0:
                return None  # hypothesis-graphql's arguments, now and then
            given = {argument.name.value: argument.value for argument in node.arguments}
            for name, argument in definition.args.items():
                kind = graphql.get_named_type(argument.type)
                if isinstance(kind, GraphQLInputObjectType) and "number" in kind.fields:
                    given[name] = draw(target.blocks)
            if "first" in definition.args:
                if draw(st.booleans()):
                    given["where"] = NullValueNode()
                given["first"] = IntValueNode(value=str(draw(PAGE_SIZES)))
                given["after"] = NullValueNode()
                # Cursors were read from the root lists, in their default order.
                issued = target.cursors.get(graphql.get_named_type(definition.type).name)
                if issued and parent is target.schema.query_type and draw(st.booleans()):
                    given["after"] = StringValueNode(value=draw(st.sampled_from(issued)))
                    given["orderBy"] = NullValueNode()
                    given["orderDirection"] = EnumValueNode(value="ASC")
            arguments = tuple(
                ArgumentNode(name=NameNode(value=name), value=value)
                for name, value in given.items()
                if name in definition.args
            )
            return replace(node, arguments=arguments)

    tuned: DocumentNode = visit(draw(target.valid), TypeInfoVisitor(type_info, Tune()))
    return tuned


@st.composite
def valid_requests(draw: st.DrawFn, target: Target) -> Request:
    """A valid operation, tuned to reach the resolvers, arguments inline or in variables."""
    document = _tuned(draw, target)
    roots = _roots(document)
    if draw(st.booleans()):
        document, variables = _hoisted(document, target.schema)
        return _request("valid", print_ast(document), variables, roots=roots)
    return _request("valid", print_ast(document), roots=roots)


def violation_requests(target: Target) -> st.SearchStrategy[Request]:
    """hypothesis-graphql's operations with one schema violation."""
    violations = queries(target.schema, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE)
    return violations.map(lambda query: _request("violation", query))


# ------------------------------------------------------------------------------ mutants


def _junk_value(depth: int = 2) -> st.SearchStrategy[ValueNode]:
    """A literal of any kind: a value of the wrong kind wherever it is put."""
    leaves: list[st.SearchStrategy[ValueNode]] = [
        ANY_TEXT.map(lambda text: StringValueNode(value=text)),
        st.one_of(
            st.integers(), st.sampled_from([2**31, 2**53, 2**63, 2**64, -(2**70), 10**40])
        ).map(lambda number: IntValueNode(value=str(number))),
        st.sampled_from(["1.5", "-0.0", "1e309", "-1e-400", "3.0"]).map(
            lambda text: FloatValueNode(value=text)
        ),
        st.booleans().map(lambda flag: BooleanValueNode(value=flag)),
        NAMES.map(lambda name: EnumValueNode(value=name)),
        st.just(NullValueNode()),
        NAMES.map(lambda name: VariableNode(name=NameNode(value=name))),
    ]
    if depth > 0:
        inner = _junk_value(depth - 1)
        leaves.append(
            st.lists(inner, max_size=3).map(lambda values: ListValueNode(values=tuple(values)))
        )
        leaves.append(
            st.lists(st.tuples(NAMES, inner), max_size=3).map(
                lambda pairs: ObjectValueNode(
                    fields=tuple(
                        ObjectFieldNode(name=NameNode(value=name), value=value)
                        for name, value in pairs
                    )
                )
            )
        )
    return st.one_of(leaves)


JUNK_VALUES: Final = _junk_value()


def _junk_json(depth: int = 2) -> st.SearchStrategy[Any]:
    """A JSON value of any kind."""
    leaves: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**53, 2**64, -(2**63) - 1, 1.5, 1e300]),
        ANY_TEXT,
    ]
    if depth > 0:
        inner = _junk_json(depth - 1)
        leaves.append(st.lists(inner, max_size=3))
        leaves.append(st.dictionaries(NAMES, inner, max_size=3))
    return st.one_of(leaves)


JUNK_JSON: Final = _junk_json()

Mutator = Callable[[st.DrawFn, Target], Request]


def _paged(
    document: DocumentNode, target: Target, argument: str, value: Callable[[], ValueNode]
) -> DocumentNode:
    """``document`` with ``argument`` of each paging field set to a ``value()``; a root
    ``assets`` is added first when it has none."""
    if not any(node.name.value in target.connection_fields for node in _nodes(document, FieldNode)):
        operation = _operation(document)
        extra = _operation(
            graphql.parse("{ assets { totalCount edges { cursor node { assetId } } } }")
        )
        selections = (*operation.selection_set.selections, *extra.selection_set.selections)
        selection_set = replace(operation.selection_set, selections=selections)
        document = _replaced(document, operation.selection_set, selection_set)

    class Page(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> FieldNode | None:
            if node.name.value not in target.connection_fields:
                return None
            return _with_argument(node, argument, value())

    paged: DocumentNode = visit(document, Page())
    return paged


def unknown_field(draw: st.DrawFn, target: Target) -> Request:
    """A field no type has, in some selection set."""
    document = draw(target.valid)
    chosen = draw(st.sampled_from(_nodes(document, SelectionSetNode)))
    extra = FieldNode(name=NameNode(value=draw(NAMES)))
    document = _replaced(document, chosen, replace(chosen, selections=(*chosen.selections, extra)))
    return _request("mutant:unknown-field", print_ast(document))


def unknown_argument(draw: st.DrawFn, target: Target) -> Request:
    """An argument the field does not take."""
    document = draw(target.valid)
    chosen = draw(st.sampled_from(_nodes(document, FieldNode)))
    changed = _with_argument(chosen, "x" + draw(NAMES), draw(JUNK_VALUES))
    return _request("mutant:unknown-argument", print_ast(_replaced(document, chosen, changed)))


def wrong_value(draw: st.DrawFn, target: Target) -> Request:
    """An argument (or an input field) given a value of another kind."""
    document = draw(target.valid)
    arguments = _nodes(document, ArgumentNode) + _nodes(document, ObjectFieldNode)
    if not arguments:
        return unknown_argument(draw, target)
    chosen = draw(st.sampled_from(arguments))
    changed = replace(chosen, value=draw(JUNK_VALUES))
    return _request("mutant:wrong-value", print_ast(_replaced(document, chosen, changed)))


FIRSTS: Final = st.one_of(
    st.sampled_from([0, -1, 101, 1000, 5001, 2**31 - 1, 2**31, -(2**31), 2**63, 10**40]),
    st.integers(),
)


def huge_first(draw: st.DrawFn, target: Target) -> Request:
    """``first`` of every page (a literal, or a variable) far past a page's size."""
    document = draw(target.valid)
    first = draw(FIRSTS)
    if draw(st.booleans()):
        document = _paged(document, target, "first", lambda: IntValueNode(value=str(first)))
        return _request("mutant:huge-first", print_ast(document))
    variable = VariableNode(name=NameNode(value="first"))
    document = _paged(document, target, "first", lambda: variable)
    declared = NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="Int")))
    document = _with_variables(
        document, (VariableDefinitionNode(variable=variable, type=declared),)
    )
    return _request("mutant:huge-first", print_ast(document), {"first": first})


def _cursor_garbage(target: Target) -> st.SearchStrategy[str]:
    """Cursors the gateway did not issue: text, bytes and JSON in base64 (the gateway's own
    cursors are base64 of a JSON array), its cursors cut, stretched or with a character
    changed, and its cursors of other lists."""

    def base64_of(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    def flipped(cursor: str, at: int, char: str) -> str:
        at %= max(len(cursor), 1)
        return cursor[:at] + char + cursor[at + 1 :]

    cursors = st.sampled_from(target.all_cursors)
    return st.one_of(
        ANY_TEXT,
        st.binary(max_size=64).map(base64_of),
        JUNK_JSON.map(lambda value: base64_of(json.dumps(value).encode())),
        st.lists(JUNK_JSON, max_size=5).map(lambda value: base64_of(json.dumps(value).encode())),
        st.builds(flipped, cursors, st.integers(0, 200), st.sampled_from("A_-=+/.!\x00")),
        st.builds(lambda cursor, cut: cursor[:cut], cursors, st.integers(0, 40)),
        cursors.map(lambda cursor: cursor + "=="),
        cursors,
        st.sampled_from(["", "=", "0", "-1", "a" * 10_000, base64_of(b'["Asset"' * 5000)]),
    )


def garbage_after(draw: st.DrawFn, target: Target) -> Request:
    """``after`` of each page a cursor the gateway did not issue for it."""
    garbage = _cursor_garbage(target)
    document = _paged(
        draw(target.valid), target, "after", lambda: StringValueNode(value=draw(garbage))
    )
    return _request("mutant:garbage-after", print_ast(document))


#: Levels of an introspection query, each around the next.
INTROSPECTION_LEVELS: Final = [
    "name fields {{ type {{ {} }} }}",
    "ofType {{ {} }}",
    "interfaces {{ {} }}",
    "inputFields {{ type {{ {} }} }}",
    "possibleTypes {{ {} }}",
]


def deep_nesting(draw: st.DrawFn, target: Target) -> Request:
    """A walk through the schema's cycles past the depth limit, each level a plain field, an
    inline fragment or a named fragment; or introspection nested past its own limit."""
    if draw(st.integers(0, 4)) == 0:
        inner = "name"
        for _ in range(draw(st.integers(3, 40))):
            inner = draw(st.sampled_from(INTROSPECTION_LEVELS)).format(inner)
        return _request("mutant:deep-introspection", f"{{ __schema {{ types {{ {inner} }} }} }}")
    depth = draw(st.one_of(st.integers(9, 40), st.sampled_from([64, 200, 1000])))
    kind = "Query"
    path: list[tuple[str, str]] = []
    while len(path) < depth:
        path.append(draw(st.sampled_from(target.deep_types[kind])))
        kind = path[-1][1]
    fragments: list[str] = []
    body = target.leaf(kind)
    for index in range(len(path) - 1, -1, -1):
        name, kind = path[index]
        paging = "(first: 1)" if name in target.connection_fields else ""
        body = f"{name}{paging} {{ {body} }}"
        how = draw(st.integers(0, 5))
        parent = "Query" if index == 0 else path[index - 1][1]
        if how == 0:
            body = f"... on {parent} {{ {body} }}"
        elif how == 1:
            fragments.append(f"fragment F{index} on {parent} {{ {body} }}")
            body = f"...F{index}"
    query = " ".join([f"query Deep {{ {body} }}", *fragments])
    return _request("mutant:deep-nesting", query)


def bracket_nesting(draw: st.DrawFn, target: Target) -> Request:
    """Selections, lists or input objects nested thousands deep: the parser's recursion."""
    levels = draw(st.one_of(st.integers(11, 300), st.sampled_from([2_000, 10_000, 50_000])))
    shape = draw(st.sampled_from(["selection", "list", "object", "open"]))
    if shape == "selection":
        query = "{ assets " + "{ nodes " * levels + "{ assetId" + " }" * (levels + 2)
    elif shape == "list":
        query = "{ assets(where: " + "[" * levels + "1" + "]" * levels + ") { totalCount } }"
    elif shape == "object":
        query = "{ assets(where: " + "{or: " * levels + "{}" + "}" * levels + ") { totalCount } }"
    else:
        query = "{" * levels
    return _request("mutant:bracket-nesting", query)


def many_aliases(draw: st.DrawFn, target: Target) -> Request:
    """The same page under many aliases: past the cost limit, or aliases that conflict."""
    count = draw(st.integers(2, 300))
    first = draw(st.sampled_from([1, 20, 100]))
    same = draw(st.booleans())
    fields = " ".join(
        f"a{0 if same else index}: assets(first: {first + (index if same else 0)}) "
        f"{{ nodes {{ assetId }} }}"
        for index in range(count)
    )
    return _request("mutant:aliases", f"{{ {fields} }}")


def unterminated_string(draw: st.DrawFn, target: Target) -> Request:
    """A string that never ends (or a bad escape, or a raw newline) somewhere in the text."""
    text = print_ast(draw(target.valid))
    at = draw(st.integers(0, len(text)))
    broken = draw(
        st.sampled_from(['"', '"abc', '"""abc', '"\\u12', '"\\x"', '"a\nb"', '"\\', '"\\uD800"'])
    )
    return _request("mutant:unterminated-string", text[:at] + broken + text[at:])


def truncated(draw: st.DrawFn, target: Target) -> Request:
    """The text cut short (to nothing, too)."""
    text = print_ast(draw(target.valid))
    return _request("mutant:truncated", text[: draw(st.integers(0, len(text) - 1))])


def noise(draw: st.DrawFn, target: Target) -> Request:
    """Characters of any kind (NULs, lone surrogates, controls, punctuation) put in the text."""
    text = print_ast(draw(target.valid))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        extra = draw(st.one_of(ANY_TEXT, st.text(string.punctuation, min_size=1, max_size=4)))
        text = text[:at] + extra + text[at:]
    return _request("mutant:noise", text)


def operation_kind(draw: st.DrawFn, target: Target) -> Request:
    """A mutation or subscription (the schema has neither), several operations, or an
    operation name that names none."""
    text = print_ast(draw(target.valid))
    body = text.removeprefix("query ")
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return _request("mutant:operation", "mutation " + body)
    if choice == 1:
        return _request("mutant:operation", "subscription " + body)
    if choice == 2:
        return _request("mutant:operation", f"{text} {text}")
    if choice == 3:
        return _request("mutant:operation", f"query A {body} query B {body}", None, "C")
    return _request("mutant:operation", text, None, draw(NAMES))


def fragments(draw: st.DrawFn, target: Target) -> Request:
    """Fragments that spread each other in a cycle, are unknown, or sit on unknown types."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        query = (
            "{ ...A } fragment A on Query { ...B } fragment B on Query { status { events } ...A }"
        )
    elif choice == 1:
        query = "{ ...A } fragment A on Query { ...A }"
    elif choice == 2:
        query = f"{{ ...{draw(NAMES)} }}"
    else:
        query = f"{{ ...A }} fragment A on {draw(NAMES)} {{ status {{ events }} }}"
    return _request("mutant:fragments", query)


def directives(draw: st.DrawFn, target: Target) -> Request:
    """A directive that does not exist, lacks its argument, or takes a value of another kind."""
    document = draw(target.valid)
    chosen = draw(st.sampled_from(_nodes(document, FieldNode)))
    name = draw(st.sampled_from(["skip", "include", "deprecated", "specifiedBy", "oneOf"]) | NAMES)
    arguments: tuple[ArgumentNode, ...] = ()
    if draw(st.booleans()):
        arguments = (ArgumentNode(name=NameNode(value="if"), value=draw(JUNK_VALUES)),)
    directive = graphql.DirectiveNode(name=NameNode(value=name), arguments=arguments)
    changed = replace(chosen, directives=(*(chosen.directives or ()), directive))
    return _request("mutant:directives", print_ast(_replaced(document, chosen, changed)))


def wrong_variables(draw: st.DrawFn, target: Target) -> Request:
    """Arguments in variables, then a variable's value of another kind, one left out, one
    more, a declared type that does not fit, or variables that are not an object."""
    document, variables = _hoisted(draw(target.valid), target.schema)
    choice = draw(st.integers(0, 4))
    if choice == 4:
        junk = draw(st.one_of(st.lists(JUNK_JSON, max_size=2), ANY_TEXT, st.integers()))
        return _request("mutant:variables", print_ast(document), junk)
    if not variables or choice == 0:
        variables[draw(NAMES)] = draw(JUNK_JSON)
    elif choice == 1:
        variables[draw(st.sampled_from(sorted(variables)))] = draw(JUNK_JSON)
    elif choice == 2:
        del variables[draw(st.sampled_from(sorted(variables)))]
    else:
        definitions = list(_operation(document).variable_definitions or ())
        at = draw(st.integers(0, len(definitions) - 1))
        declared = draw(st.sampled_from(["String", "Int!", "[Long]", "Boolean", "AssetWhere"]))
        definitions[at] = replace(definitions[at], type=graphql.parse_type(declared))
        document = _with_variables(document, tuple(definitions))
    return _request("mutant:variables", print_ast(document), variables)


#: Text a database may not take, or may take for more than text: NULs, lone surrogates
#: (JSON carries them, UTF-8 does not), LIKE's wildcards, quotes, 10,000 characters.
HOSTILE_TEXT: Final = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\ud800",
            "x\udfff",
            "%",
            "_",
            "%_%",
            "'",
            "' OR '1'='1",
            "\\",
            "\u202e\ufeff",
            "\U0001f4a5",
            "",
            "a" * 10_000,
        ]
    ),
    ANY_TEXT,
)


def _with_hostile_strings(draw: st.DrawFn, value: Any) -> Any:
    if isinstance(value, str):
        return draw(HOSTILE_TEXT) if draw(st.booleans()) else value
    if isinstance(value, list):
        return [_with_hostile_strings(draw, item) for item in value]
    if isinstance(value, dict):
        return {key: _with_hostile_strings(draw, item) for key, item in value.items()}
    return value


def hostile_strings(draw: st.DrawFn, target: Target) -> Request:
    """A valid operation (tuned to reach the database) with its strings :data:`HOSTILE_TEXT`,
    in variables (lone surrogates too) or inline."""
    document = _tuned(draw, target)
    if draw(st.booleans()):
        document, variables = _hoisted(document, target.schema)
        hostile = _with_hostile_strings(draw, variables)
        return _request("mutant:hostile-strings", print_ast(document), hostile)

    class Hostile(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: object) -> StringValueNode | None:
            return replace(node, value=draw(HOSTILE_TEXT)) if draw(st.booleans()) else None

    document = visit(document, Hostile())
    return _request("mutant:hostile-strings", print_ast(document))


def hostile_filter(draw: st.DrawFn, target: Target) -> Request:
    """A list filtered on one of its text fields by :data:`HOSTILE_TEXT`, in a variable or
    inline: the text goes to the database when the field is free text."""
    filters = target.text_filters
    if draw(st.integers(0, 3)):  # mostly one that takes any text: the text reaches the database
        filters = target.free_text_filters
    name, field = draw(st.sampled_from(filters))
    operator = draw(st.sampled_from(["eq", "ne", "in"]))
    text = draw(HOSTILE_TEXT)
    value: object = [text] if operator == "in" else text
    where = f"{{ {field}: {{ {operator}: $s }} }}"
    if draw(st.booleans()):
        declared = "[String!]" if operator == "in" else "String"
        query = f"query ($s: {declared}) {{ {name}(where: {where}, first: 2) {{ totalCount }} }}"
        return _request("mutant:hostile-filter", query, {"s": value})
    kind = GraphQLList(graphql.GraphQLString) if operator == "in" else graphql.GraphQLString
    literal = graphql.ast_from_value(value, kind)
    assert literal is not None
    where = where.replace("$s", print_ast(literal))
    query = f"{{ {name}(where: {where}, first: 2) {{ totalCount nodes {{ __typename }} }} }}"
    return _request("mutant:hostile-filter", query)


#: ``Long``s at the edges of the integers databases keep: 32 and 64 bits, and Long's own.
EDGE_LONGS: Final = st.sampled_from(
    [0, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32, MAX_LONG, -MAX_LONG]
)


def edge_number_filter(draw: st.DrawFn, target: Target) -> Request:
    """A list filtered on one of its whole-number fields by :data:`EDGE_LONGS` (all valid
    ``Long``s), in a variable or inline: the number goes to the database."""
    name, field = draw(st.sampled_from(target.number_filters))
    operator = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in"]))
    number = draw(EDGE_LONGS)
    value: object = [number, draw(EDGE_LONGS)] if operator == "in" else number
    where = f"{{ {field}: {{ {operator}: $n }} }}"
    if draw(st.booleans()):
        declared = "[Long!]" if operator == "in" else "Long"
        query = f"query ($n: {declared}) {{ {name}(where: {where}, first: 2) {{ totalCount }} }}"
        return _request("mutant:edge-number-filter", query, {"n": value})
    where = where.replace("$n", json.dumps(value))  # JSON numbers and lists are GraphQL too
    query = f"{{ {name}(where: {where}, first: 2) {{ totalCount nodes {{ __typename }} }} }}"
    return _request("mutant:edge-number-filter", query)


MUTATORS: Final[list[Mutator]] = [
    unknown_field,
    unknown_argument,
    wrong_value,
    huge_first,
    garbage_after,
    deep_nesting,
    bracket_nesting,
    many_aliases,
    unterminated_string,
    truncated,
    noise,
    operation_kind,
    fragments,
    directives,
    wrong_variables,
    hostile_strings,
    hostile_filter,
    edge_number_filter,
]
#: The mutants whose faults reach the database (the rest are refused before it).
DATABASE_MUTATORS: Final[list[Mutator]] = [
    huge_first,
    garbage_after,
    wrong_variables,
    hostile_strings,
    hostile_filter,
    edge_number_filter,
]


@st.composite
def mutant_requests(draw: st.DrawFn, target: Target, mutators: Sequence[Mutator]) -> Request:
    """A request with one fault of ``mutators`` put in."""
    return draw(st.sampled_from(mutators))(draw, target)


# ------------------------------------------------------------------------------ the oracle


class Crashes(logging.Handler):
    """Collects what the gateway logs of an unexpected exception while answering: a resolver's
    exception that is no domain error (strawberry logs each error with its cause), or any
    error record of provledger's own."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.msg
        if isinstance(error, GraphQLError):
            cause = error.original_error
            while isinstance(cause, GraphQLError):
                cause = cause.original_error
            if error.path is None or cause is None or isinstance(cause, ProvledgerError):
                return  # a refused document or variable, or a domain error: an answer
        self.found.append(self.format(record))


@pytest.fixture
def crashes() -> Iterator[Crashes]:
    """The crash log, listening to strawberry's execution log and provledger's."""
    handler = Crashes()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    loggers = [logging.getLogger("strawberry.execution"), logging.getLogger("provledger")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def check_answer(request: Request, status: int, body: object, crashes: Crashes) -> bool:
    """The properties every answer must have (see the module's docstring); whether it is
    free of errors."""
    sent = json.dumps(request.body, ensure_ascii=False).lower()
    assert not crashes.found, f"the gateway crashed on {request}:\n" + "\n".join(crashes.found)
    assert status < 500, (status, body, request)
    assert isinstance(body, dict), (status, body, request)
    assert set(body) <= {"data", "errors", "extensions"}, body
    assert "data" in body or "errors" in body, body
    errors = body.get("errors")
    if "errors" in body:
        assert isinstance(errors, list), body
        assert errors, body
        for error in errors:
            assert isinstance(error, dict), body
            message = error.get("message")
            assert isinstance(message, str), (error, request)
            assert message.strip(), (error, request)
            assert message != INTERNAL_MESSAGE, (error, request)
            leaked = {match.group(0) for match in CRASH_MARKERS.finditer(message)}
            # What the request said itself (an unknown field named TypeError) may be echoed.
            leaked = {marker for marker in leaked if marker.lower() not in sent}
            assert not leaked, (leaked, error, request)
            code = (error.get("extensions") or {}).get("code")
            assert code != INTERNAL_SERVER_ERROR, (error, request)
    if request.kind == "violation":  # the schema is violated: refused before it runs
        assert errors, (body, request)
        assert body.get("data") is None, (body, request)
    if request.roots is not None:  # a valid operation: data, unless a limit refused it
        if any(
            (error.get("extensions") or {}).get("code") in LIMIT_CODES for error in errors or []
        ):
            assert body.get("data") is None, body  # refused before it ran
            return False
        assert status == 200, (status, body, request)
        assert "data" in body, (body, request)
        for error in errors or []:
            assert error.get("path"), ("a valid operation refused", error, request)
        data = body["data"]
        if data is not None:
            assert isinstance(data, dict), (data, request)
            assert list(data) == list(request.roots), (data, request)
    return not errors


# ------------------------------------------------------------------------------ the fuzzing


def served_schema(indexed: Indexed) -> GraphQLSchema:
    """The schema /graphql serves, read by introspection."""
    answer = indexed.client.post("/graphql", json={"query": graphql.get_introspection_query()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return graphql.build_client_schema(body["data"])


def harvest(indexed: Indexed) -> Target:
    """The schema /graphql serves, and the strings of the index (and near misses of them)
    and cursors of each list, read through it."""
    schema = served_schema(indexed)
    assert schema.query_type is not None
    lists = {
        name: graphql.get_named_type(definition.type).name
        for name, definition in schema.query_type.fields.items()
        if "first" in definition.args
    }
    query = (
        "{ "
        + " ".join(f"{name}(first: 50) {{ edges {{ cursor }} }}" for name in lists)
        + (
            " assets2: assets(first: 50) { nodes { assetId contentHash registrant holder"
            " registeredTx metadataHash batchRoot } }"
            " participants2: participants(first: 50) { nodes { account } }"
            " batches2: batches(first: 50) { nodes { root } } status { indexedBlock } }"
        )
    )
    answer = indexed.client.post("/graphql", json={"query": query})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    data = body["data"]
    cursors = {
        connection: [edge["cursor"] for edge in data[name]["edges"]]
        for name, connection in lists.items()
    }
    head = data["status"]["indexedBlock"]
    values: set[str] = {"up", "down", "both", "0x", "0", "-1", "0x" + "0" * 64}
    for node in data["assets2"]["nodes"] + data["participants2"]["nodes"]:
        values.update(value for value in node.values() if isinstance(value, str))
    values.update(node["root"] for node in data["batches2"]["nodes"])
    for asset_id in indexed.assets.values():
        values.update({hex(asset_id), str(asset_id), f"0x{asset_id:064X}", f" {asset_id}"})
    near = {value.upper() for value in values} | {value + "0" for value in values}
    assert sum(map(len, cursors.values())) >= 10, cursors
    assert len(values) >= 20, values
    target = Target(schema, sorted(values | near), cursors, head, [])
    for name, field in target.text_filters:
        query = f'{{ {name}(where: {{ {field}: {{ eq: "x" }} }}, first: 1) {{ totalCount }} }}'
        if "errors" not in indexed.client.post("/graphql", json={"query": query}).json():
            target.free_text_filters.append((name, field))
    assert target.free_text_filters, target.text_filters
    return target


def fuzz(
    indexed: Indexed, crashes: Crashes, strategy: st.SearchStrategy[Request], examples: int
) -> Counter[str]:
    """Send ``examples`` (times the profile's scale) requests of ``strategy`` and check each
    answer; how many were sent, by kind, and how many valid ones were answered cleanly."""
    sent: Counter[str] = Counter()

    @given(request=strategy)
    @settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=not DEEP,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    def send(request: Request) -> None:
        crashes.found.clear()
        content = json.dumps(request.body)  # ASCII: lone surrogates travel escaped
        answer = indexed.client.post(
            "/graphql", content=content, headers={"Content-Type": "application/json"}
        )
        kind = request.kind.split(":")[0]
        sent[kind] += 1
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
        if check_answer(request, answer.status_code, body, crashes) and kind == "valid":
            sent["valid, answered without errors"] += 1

    send()
    return sent


#: The index backends; the fuzzing and the found crashes run on each.
BACKENDS: Final = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def backend_of(indexed: Indexed) -> str:
    return "sqlite" if indexed.database_url.startswith("sqlite") else "postgresql"


@pytest.mark.parametrize("indexed", BACKENDS, indirect=True)
def test_fuzzed_queries_are_answered_without_a_crash(indexed: Indexed, crashes: Crashes) -> None:
    backend = backend_of(indexed)
    target = harvest(indexed)
    examples = EXAMPLES[backend]
    sent = fuzz(indexed, crashes, valid_requests(target), examples["valid"])
    if "violation" in examples:
        sent += fuzz(indexed, crashes, violation_requests(target), examples["violation"])
    mutators = MUTATORS if "violation" in examples else DATABASE_MUTATORS
    sent += fuzz(indexed, crashes, mutant_requests(target, mutators), examples["mutant"])
    total = sum(sent[kind] for kind in examples)
    assert total >= sum(examples.values()) * SCALE, sent
    if backend == "sqlite":
        assert total >= MINIMUM_QUERIES * SCALE, sent
    assert sent["valid, answered without errors"] >= CLEAN_SHARE * sent["valid"], sent


# ------------------------------------------------------------------------------ what it found


@dataclass(frozen=True)
class Found:
    """The smallest request of a crash the fuzzing found, and the backends it still crashes
    on: there the test is a strict xfail until the fix, which empties them."""

    query: str
    variables: dict[str, str] | None
    bug: str
    crashes_on: frozenset[str] = frozenset()


STATUS_IS: Final = "query ($s: String) { assets(where: { status: { eq: $s } }) { totalCount } }"
FOUND: Final = {
    "lone-surrogate": Found(
        STATUS_IS,
        {"s": "\ud800"},
        "a lone surrogate in a text filter (JSON carries it) reaches the driver, which "
        "cannot encode it (UnicodeEncodeError)",
    ),
    "nul": Found(
        STATUS_IS,
        {"s": "a\x00b"},
        "a NUL in a text filter reaches PostgreSQL, whose text cannot hold it (psycopg.DataError)",
    ),
    "integer-past-int4": Found(
        "{ assets(where: { category: { gt: 2147483648 } }) { totalCount } }",
        None,
        "a Long filter (within 2^53) on a column PostgreSQL keeps as INTEGER (assets.category, "
        "grade, metadata_version; events.log_index; holdings.from_log; offers.fee_bps; "
        "trades.log_index) past 2^31 - 1 reaches the database (NumericValueOutOfRange)",
    ),
    "link-where-in": Found(
        "{ participants(first: 1) { nodes { assetsRegistered(where: { grade: { in: [1] } }) "
        "{ totalCount } } } }",
        None,
        "a link's connection filtered with `in` keys its DataLoader by the filter, whose list "
        "cannot be hashed (TypeError: unhashable type: 'list' in _loader, api/graphql/schema.py)",
    ),
}


@pytest.mark.parametrize("found", FOUND.values(), ids=FOUND.keys())
@pytest.mark.parametrize("indexed", BACKENDS, indirect=True)
def test_requests_the_fuzzing_found_crashing_are_answered(
    indexed: Indexed, crashes: Crashes, found: Found, request: pytest.FixtureRequest
) -> None:
    document = graphql.parse(found.query)
    # A strict xfail must fail for its bug, not because the schema no longer has its fields.
    assert not graphql.validate(served_schema(indexed), document), "FOUND is out of date"
    if backend_of(indexed) in found.crashes_on:
        reason = f"bug: {found.bug}: INTERNAL_SERVER_ERROR"
        request.applymarker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
    sent = _request("found", found.query, found.variables, roots=_roots(document))
    content = json.dumps(sent.body)  # ASCII: a lone surrogate travels escaped
    answer = indexed.client.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )
    check_answer(sent, answer.status_code, answer.json(), crashes)
