"""Schemathesis against the gateway's own OpenAPI: no 5xx, no answer outside the schema.

Every operation gets generated cases (valid and invalid parameters and bodies), driven here
through hypothesis directly (schemathesis's pytest fixture loader does not run on pytest 9).
The test counts the cases it ran and requires at least 1,000.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.conftest import Indexed

#: No 5xx, and every answer within the schema: status, content type, body, headers.
#: (Not "positive data acceptance": an opaque cursor or an asset id is a string to the schema,
#: and refusing one the gateway did not issue is right.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES = 400 if os.environ.get("PROVLEDGER_TEST_PROFILE") == "deep" else 60
MINIMUM_CASES = 1000


def _checker(operation: Any, ran: dict[str, int], label: str) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        ran[label] += 1
        case.call_and_validate(checks=CHECKS)

    return check


@pytest.mark.parametrize("indexed", ["sqlite"], indirect=True)
def test_generated_requests_stay_within_the_schema(indexed: Indexed) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", indexed.app)
    ran: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises: a broken schema
        label = f"{operation.method.upper()} {operation.path}"
        ran[label] = 0
        _checker(operation, ran, label)()
    assert len(ran) >= 20, sorted(ran)
    assert sum(ran.values()) >= MINIMUM_CASES, ran
