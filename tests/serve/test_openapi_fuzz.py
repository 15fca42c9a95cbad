"""Schemathesis against the OpenAPI schema (in-process ASGI, bounded examples): no input gets a 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from serve_helpers import copy_model, make_settings

from serve.main import create_app

MAX_EXAMPLES = 50


@pytest.fixture(scope="module")
def api_schema(tiny_model_dir: Path) -> Iterator[Any]:
    # Auth off so generated bodies reach validation and the model (auth has its own tests).
    app = create_app(
        make_settings(tiny_model_dir, auth=False, api_key_hashes=(), admin_key_hashes=(), access_log=False)
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


def start_and_wait_ready(api_schema: Any) -> None:
    """Start the app's lifespan and wait for the model (schemathesis' pytest plugin ends lifespans after
    every test, so each test starts its own)."""
    with asgi.get_client(api_schema.app) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.05)


# Every operation of the schema, with whether negative (schema-violating) bodies are generated for it;
# test_every_operation_is_fuzzed keeps this list in step with the app.
OPERATIONS = [
    ("POST", "/v1/classify", True),
    ("POST", "/v1/classify/batch", True),
    ("POST", "/v1/admin/reload", True),
    ("GET", "/v1/model", False),
    ("GET", "/healthz", False),
    ("GET", "/readyz", False),
    ("GET", "/metrics", False),
]


def _cases(api_schema: Any, method: str, path: str, negative: bool) -> Any:
    operation = api_schema[path][method]
    strategy = operation.as_strategy(GenerationMode.POSITIVE)
    if negative:
        strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))
    return strategy


@pytest.mark.parametrize(("method", "path", "negative"), OPERATIONS)
def test_no_input_gets_a_server_error(api_schema: Any, method: str, path: str, negative: bool) -> None:
    # Driven with hypothesis directly: schemathesis' lazy-schema pytest integration fails under pytest 9.
    start_and_wait_ready(api_schema)

    @given(case=_cases(api_schema, method, path, negative))
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    check()


@pytest.fixture(scope="module")
def two_model_schema(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    live = copy_model(tiny_model_dir, tmp_path_factory.mktemp("fuzz") / "live", "scopeguard-live")
    app = create_app(
        make_settings(
            tiny_model_dir,
            live_model=live,
            auth=False,
            api_key_hashes=(),
            admin_key_hashes=(),
            access_log=False,
        )
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


@pytest.mark.parametrize(
    ("method", "path", "negative"),
    [("POST", "/v1/classify", True), ("POST", "/v1/classify/batch", True), ("GET", "/v1/model", True)],
)
def test_no_input_gets_a_server_error_with_a_live_model(
    two_model_schema: Any, method: str, path: str, negative: bool
) -> None:
    start_and_wait_ready(two_model_schema)

    @given(case=_cases(two_model_schema, method, path, negative))
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    check()


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == {(method, path) for method, path, _ in OPERATIONS}


def test_schema_documents_every_endpoint_with_examples(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/v1/classify",
        "/v1/classify/batch",
        "/v1/model",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    body = spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ConversationIn"}
    assert body["examples"]
    assert "TurnIn" in spec["components"]["schemas"]
    responses = spec["paths"]["/v1/classify"]["post"]["responses"]
    assert {"200", "400", "401", "413", "422", "429", "503"} <= set(responses)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
