"""What one GraphQL operation may ask for: its depth and its cost, refused before it runs.

Both limits are graphql-core validation rules, so a refused operation never reaches a
resolver (nor the database):

* **Depth** is the number of fields on the longest path from the operation's root, the root
  field counted: ``{ asset { id } }`` has depth 2. Named and inline fragments are followed.
* **Cost** is the number of objects the operation can return. Each field of an object type
  costs one object per item of the lists around it. A connection (a field with a ``first``
  argument, or whose type's name ends in ``Connection``) returns at most ``first`` items
  (a literal, or the request's variable; :data:`DEFAULT_FIRST` when absent), so its list
  fields (``edges``, ``nodes``) count ``first`` objects and multiply what they select by
  ``first``; its other fields (``pageInfo``) are one object per connection. A list outside a
  connection, with no ``first`` of its own, counts as a page of :data:`DEFAULT_FIRST`. So
  ``{ assets(first: 100) { edges { node { id } } } }`` costs 1 + 100 + 100 = 201.

Introspection (``__schema``, ``__type``, ``__typename``) is free in both. Its own cyclic
lists (``fields { type { fields … } }``) are bounded instead by graphql-core's
``MaxIntrospectionDepthRule`` (one of its specified rules), whose error :class:`QueryLimits`
codes as the depth limit's. Each error carries
``extensions.code``: :data:`DEPTH_LIMIT_EXCEEDED` or :data:`COST_LIMIT_EXCEEDED`.

The cost depends on the request's variables, so it must not be cached by query text alone:
a schema with these limits must not also use strawberry's ``ValidationCache``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension

DEFAULT_MAX_DEPTH: Final = 10
DEFAULT_MAX_COST: Final = 5_000
#: The page size of a connection asked for without ``first``, as the schema's connections use.
DEFAULT_FIRST: Final = 20
DEPTH_LIMIT_EXCEEDED: Final = "DEPTH_LIMIT_EXCEEDED"
COST_LIMIT_EXCEEDED: Final = "COST_LIMIT_EXCEEDED"

#: The range of GraphQL's ``Int``: a ``first`` outside it fails coercion when the query runs.
_INT_RANGE: Final = range(-(2**31), 2**31)


def query_depth(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> int:
    """The depth of ``operation``: the most fields on one path from its root, fragments
    followed and introspection fields left out. An unknown or cyclic fragment adds nothing
    (the specified rules report those)."""
    depths: dict[str, int] = {}
    entered: set[str] = set()

    def fragment_depth(name: str) -> int:
        fragment = fragments.get(name)
        if fragment is None or name in entered:
            return 0
        if name not in depths:
            entered.add(name)
            depths[name] = selection_depth(fragment.selection_set)
            entered.discard(name)
        return depths[name]

    def selection_depth(selection_set: SelectionSetNode) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                inner = selection.selection_set
                depth = 1 + (selection_depth(inner) if inner else 0)
            elif isinstance(selection, InlineFragmentNode):
                depth = selection_depth(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                depth = fragment_depth(selection.name.value)
            else:  # pragma: no cover - the three kinds of selection are all there are
                continue
            deepest = max(deepest, depth)
        return deepest

    return selection_depth(operation.selection_set)


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
    *,
    default_first: int = DEFAULT_FIRST,
) -> int:
    """The cost of ``operation`` (see the module's docstring) given the request's
    ``variables``. Fields the schema does not have and unknown fragments cost nothing (the
    specified rules report those)."""
    return _CostWalk(schema, operation, fragments, variables or {}, default_first).cost()


class _CostWalk:
    """One operation's cost. A selection's cost is computed per object of its parent and
    multiplied out by the caller, so each fragment is costed once per page bound however
    often it is spread (spreads nested in spreads would otherwise cost exponential time)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_first: int,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.default_first = default_first
        self.variables = dict(variables)
        # A variable the request leaves out takes its default from the operation.
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)
        self.memo: dict[tuple[str, int | None], int] = {}
        self.entered: set[str] = set()

    def cost(self) -> int:
        root = self.schema.get_root_type(self.operation.operation)
        return 0 if root is None else self.selections(self.operation.selection_set, root, None)

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, bound: int | None
    ) -> int:
        """The cost of ``selection_set`` on one object of type ``parent``; ``bound`` is the
        page size when ``parent`` is a connection, which its list fields return."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, bound)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                if kind is not None:
                    total += self.selections(selection.selection_set, kind, bound)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, bound)
        return total

    def fragment(self, name: str, bound: int | None) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.entered:  # unknown or cyclic: reported elsewhere
            return 0
        kind = self.schema.get_type(fragment.type_condition.name.value)
        if kind is None:
            return 0
        key = (name, bound)
        if key not in self.memo:
            self.entered.add(name)
            self.memo[key] = self.selections(fragment.selection_set, kind, bound)
            self.entered.discard(name)
        return self.memo[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, bound: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        kind = get_named_type(definition.type)
        if not is_composite_type(kind):
            return 0  # scalars and enums come with their object
        inner = node.selection_set
        first = self.first(node, definition) if self.is_connection(definition, kind) else None
        if is_list_type(get_nullable_type(definition.type)):
            if first is None:  # a connection's list, else a list of unknown length
                first = bound if bound is not None else self.default_first
            return first * (1 + (self.selections(inner, kind, None) if inner else 0))
        return 1 + (self.selections(inner, kind, first) if inner else 0)

    @staticmethod
    def is_connection(definition: GraphQLField, kind: GraphQLNamedType) -> bool:
        return "first" in definition.args or kind.name.endswith("Connection")

    def first(self, node: FieldNode, definition: GraphQLField) -> int:
        """The page size ``node`` asks for: its ``first`` argument, else the schema's default
        for it, else :attr:`default_first`."""
        value: object = Undefined
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value, Undefined)
            elif isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, NullValueNode):
                value = None
            else:
                value = None  # not an Int: ValuesOfCorrectTypeRule refuses it
        declared = definition.args.get("first")
        if value is Undefined and declared is not None:
            value = _default_of(declared)
        # A bool is an int to Python, not to GraphQL; a value that is no Int fails coercion
        # when the query runs, so it needs no estimate of its own.
        if type(value) is int and value in _INT_RANGE:
            return max(0, value)
        return self.default_first


@cache
def depth_limit_rule(max_depth: int = DEFAULT_MAX_DEPTH) -> type[ValidationRule]:
    """A validation rule refusing each operation deeper than ``max_depth``
    (:func:`query_depth`) with a :data:`DEPTH_LIMIT_EXCEEDED` error."""

    class DepthLimitRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = query_depth(node, _fragments(self.context.document))
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"{node.operation.value} depth {depth:,} exceeds the limit of "
                        f"{max_depth:,} (each field inside another's selection adds 1)",
                        node,
                        extensions={
                            "code": DEPTH_LIMIT_EXCEEDED,
                            "depth": depth,
                            "limit": max_depth,
                        },
                    )
                )

    return DepthLimitRule


def cost_error(node: OperationDefinitionNode, cost: int, max_cost: int) -> GraphQLError:
    """The refusal of an operation that costs ``cost``, over ``max_cost``."""
    return GraphQLError(
        f"{node.operation.value} cost {cost:,} exceeds the limit of "
        f'{max_cost:,} (each list multiplies its fields by its "first")',
        node,
        extensions={"code": COST_LIMIT_EXCEEDED, "cost": cost, "limit": max_cost},
    )


def cost_limit_rule(
    max_cost: int = DEFAULT_MAX_COST,
    variables: Mapping[str, Any] | None = None,
    *,
    default_first: int = DEFAULT_FIRST,
) -> type[ValidationRule]:
    """A validation rule refusing each operation that costs more than ``max_cost``
    (:func:`query_cost`, with the request's ``variables``) with a :data:`COST_LIMIT_EXCEEDED`
    error."""

    class CostLimitRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            context = self.context
            cost = query_cost(
                context.schema,
                node,
                _fragments(context.document),
                variables,
                default_first=default_first,
            )
            if cost > max_cost:
                self.report_error(cost_error(node, cost, max_cost))

    return CostLimitRule


class IntrospectionDepthRule(MaxIntrospectionDepthRule):
    """graphql-core's bound on introspection's nested lists, its error coded
    :data:`DEPTH_LIMIT_EXCEEDED` like the depth limit's (introspection is free in that one)."""

    def report_error(self, error: GraphQLError) -> None:
        """Report ``error`` with its code."""
        error.extensions = {**(error.extensions or {}), "code": DEPTH_LIMIT_EXCEEDED}
        super().report_error(error)


class QueryLimits(SchemaExtension):
    """A strawberry extension adding the depth and cost limits to each operation's
    validation, the cost taken with that request's variables.

    Give the schema a factory, so each request has its own instance::

        strawberry.Schema(Query, extensions=[lambda: QueryLimits(max_depth=8, max_cost=2_000)])
    """

    def __init__(
        self,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_cost: int = DEFAULT_MAX_COST,
        default_first: int = DEFAULT_FIRST,
    ) -> None:
        self.max_depth = max_depth
        self.max_cost = max_cost
        self.default_first = default_first

    def on_operation(self) -> Iterator[None]:
        """Add the depth rules before the operation is validated. They are the same classes
        for every request, so that a validation cache (keyed by the document and the rules)
        serves them; the cost, which depends on the variables, is taken in
        :meth:`on_validate`."""
        context = self.execution_context
        # graphql-core's specified rules hold MaxIntrospectionDepthRule: swapped for the coded
        # one rather than added, or a deep introspection query would be refused twice.
        rules = [rule for rule in context.validation_rules if rule is not MaxIntrospectionDepthRule]
        context.validation_rules = (
            *rules,
            IntrospectionDepthRule,
            depth_limit_rule(self.max_depth),
        )
        yield

    def on_validate(self) -> Iterator[None]:
        """Validate (unless a validation cache before this extension did), then refuse a
        valid operation that costs more than the limit with this request's variables."""
        from strawberry.schema.schema import validate_document  # imports this package

        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = validate_document(
                context.schema._schema, document, context.validation_rules
            )
        errors = list(context.pre_execution_errors or ())  # the cache's list stays as it is
        only_depth = all(
            (error.extensions or {}).get("code") == DEPTH_LIMIT_EXCEEDED for error in errors
        )
        if document is not None and only_depth:  # a valid operation, or one only too deep
            errors += cost_errors(
                context.schema._schema,
                document,
                context.variables,
                max_cost=self.max_cost,
                default_first=self.default_first,
            )
            context.pre_execution_errors = errors
        yield


def cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    *,
    max_cost: int,
    default_first: int = DEFAULT_FIRST,
) -> list[GraphQLError]:
    """The refusals (:func:`cost_error`) of the operations of a valid ``document`` that cost
    more than ``max_cost`` with the request's ``variables``."""
    fragments = _fragments(document)
    return [
        cost_error(node, cost, max_cost)
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
        and (cost := query_cost(schema, node, fragments, variables, default_first=default_first))
        > max_cost
    ]


def _default_of(argument: GraphQLArgument) -> object:
    """An argument's default value: strawberry's schemas hold it coerced (``default_value``),
    graphql-core 3.3's from SDL as given (``default``, a value or a literal)."""
    if argument.default_value is not Undefined:
        return argument.default_value
    given = argument.default
    if given is None:
        return Undefined
    return value_from_ast_untyped(given.literal) if given.literal is not None else given.value


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
