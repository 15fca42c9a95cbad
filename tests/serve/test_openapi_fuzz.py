"""Schemathesis against the OpenAPI schema (in-process ASGI, bounded examples): no input gets a 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from serve_helpers import make_settings

from serve.main import create_app

MAX_EXAMPLES = 50


@pytest.fixture(scope="module")
def api_schema(tiny_model_dir: Path) -> Iterator[Any]:
    # Auth off so generated bodies reach validation and the model (auth has its own tests).
    app = create_app(make_settings(tiny_model_dir, auth=False, api_key_hashes=(), admin_key_hashes=(),
                                   access_log=False))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan
    with asgi.get_client(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.05)
    yield schema
    asgi.shutdown_lifespans()


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error])


def test_schema_documents_every_endpoint_with_examples(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {"/v1/classify", "/v1/classify/batch", "/v1/model", "/v1/admin/reload",
                                  "/healthz", "/readyz", "/metrics"}
    body = spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ConversationIn"}
    assert body["examples"]
    assert "TurnIn" in spec["components"]["schemas"]
    responses = spec["paths"]["/v1/classify"]["post"]["responses"]
    assert {"200", "400", "401", "413", "422", "429", "503"} <= set(responses)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
