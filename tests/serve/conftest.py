"""Fixtures for the HTTP service tests: settings with known keys, an app on the tiny model, a client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import make_settings, wait_ready

from serve.main import create_app
from serve.settings import ENV_PREFIX, Settings


@pytest.fixture(autouse=True)
def _no_scopeguard_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the developer's environment."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def settings(tiny_model_dir: Path) -> Settings:
    return make_settings(tiny_model_dir)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        wait_ready(test_client)
        yield test_client
