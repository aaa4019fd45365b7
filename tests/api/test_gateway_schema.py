"""Schemathesis against the gateway's own OpenAPI: no 5xx, no answer outside the schema.

Every operation gets generated cases (valid and invalid parameters and bodies), driven here
through hypothesis directly (schemathesis's pytest fixture loader does not run on pytest 9).
The test counts the cases it ran and requires at least 1,000.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.conftest import Indexed
from helpers.world import RELAYER_INDEX
from provledger.api.app import create_app

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
def test_generated_requests_stay_within_the_schema(indexed: Indexed, tmp_path: Path) -> None:
    # The same gateway, relaying too (dev key 11 on the embedded chain), so that the relay's
    # routes answer as configured: without a live API key every generated request gets 401.
    settings = indexed.app.state.gateway.settings.model_copy(
        update={
            "relayer_dev_account": RELAYER_INDEX,
            "relay_database_url": str(tmp_path / "relay.sqlite"),
        }
    )
    app = create_app(settings, engine=indexed.app.state.gateway.engine, w3=indexed.world.w3)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ran: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises: a broken schema
        label = f"{operation.method.upper()} {operation.path}"
        ran[label] = 0
        _checker(operation, ran, label)()
    assert len(ran) >= 20, sorted(ran)
    assert sum(ran.values()) >= MINIMUM_CASES, ran
