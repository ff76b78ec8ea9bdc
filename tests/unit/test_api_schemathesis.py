"""Property-based checks of every GET endpoint against the API's own OpenAPI document.

The app is called over ASGI, its read model fed the seed events: no broker. Schemathesis makes
requests from the document (valid and not) and fails on a 5xx, or on a response that breaks
the document. The stream is left out (it does not end), and so is publishing (it needs a
broker).
"""

from __future__ import annotations

from datetime import UTC, datetime

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sitrep.api.app import create_api
from sitrep.kafka.ports import free_port_block
from sitrep.settings import Settings
from tests.unit.test_api_app import fed

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_CLOSED = f"127.0.0.1:{free_port_block(1)}"

app = create_api(
    Settings.model_validate({"KAFKA_BOOTSTRAP_SERVERS": _CLOSED}),
    fed(),
    clock=lambda: NOW,
)
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", app)
    .include(method="GET")
    .exclude(path="/v1/stream")
    .exclude(path="/readyz")
)


# No 5xx, and every answer as documented. Not the checks that need the schema to say all the
# API refuses (an ``at`` of "0" is a string, and a 422): moments and cursors are checked in code.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_get_endpoints_conform_to_the_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
