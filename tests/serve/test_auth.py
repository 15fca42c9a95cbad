"""API keys: required by default, hashed in the settings, admin keys separate; --no-auth opens the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from serve_helpers import ADMIN, ADMIN_KEY, API_KEY, AUTH, conversation, make_settings, wait_ready

from serve.auth import hash_key, key_matches, new_key
from serve.main import create_app
from serve.settings import Settings


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sg_wrong"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": API_KEY},
        {"Authorization": f"Bearer {hash_key(API_KEY)}"},  # the hash is not a key
        ADMIN,  # admin keys only open /v1/admin
    ],
)
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/classify"), ("POST", "/v1/classify/batch"), ("GET", "/v1/model")]
)
def test_api_needs_a_valid_api_key(
    client: TestClient, headers: dict[str, str], method: str, path: str
) -> None:
    body = conversation() if path == "/v1/classify" else {"conversations": [conversation()]}
    response = client.request(method, path, json=body if method == "POST" else None, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_auth_is_checked_before_the_body(client: TestClient) -> None:
    response = client.post("/v1/classify", content=b"{broken")
    assert response.status_code == 401


def test_admin_endpoint_needs_an_admin_key(client: TestClient) -> None:
    assert client.post("/v1/admin/reload").status_code == 401
    assert client.post("/v1/admin/reload", headers=AUTH).status_code == 401
    assert client.post("/v1/admin/reload", headers=ADMIN).status_code == 200


def test_probes_and_metrics_need_no_key(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200


def test_no_auth_accepts_requests_without_a_key(tiny_model_dir: Path) -> None:
    settings = make_settings(tiny_model_dir, auth=False, api_key_hashes=(), admin_key_hashes=())
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        assert client.post("/v1/classify", json=conversation()).status_code == 200
        assert client.get("/v1/model").status_code == 200


def test_auth_without_key_hashes_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValidationError, match="API_KEY_HASHES is empty"):
        Settings(_env_file=None, model=tiny_model_dir)  # type: ignore[call-arg]


def test_a_key_instead_of_a_hash_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a SHA-256 hex digest"):
        Settings(_env_file=None, api_key_hashes=(API_KEY,))  # type: ignore[call-arg]


def test_hashes_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = hash_key("a"), hash_key("b")
    monkeypatch.setenv("SCOPEGUARD_API_KEY_HASHES", f" {first.upper()} ,{second}")
    monkeypatch.setenv("SCOPEGUARD_ADMIN_KEY_HASHES", hash_key(ADMIN_KEY))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.api_key_hashes == (first, second)
    assert settings.admin_key_hashes == (hash_key(ADMIN_KEY),)


def test_settings_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / "serve.env"
    env_file.write_text(f"SCOPEGUARD_API_KEY_HASHES={hash_key('k')}\nSCOPEGUARD_PORT=9999\n")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.port == 9999
    assert settings.api_key_hashes == (hash_key("k"),)
    assert settings.host == "127.0.0.1"


def test_key_matching() -> None:
    key = new_key()
    assert key.startswith("sg_") and len(key) > 40
    assert new_key() != key
    assert key_matches(key, [hash_key("other"), hash_key(key)])
    assert not key_matches(key, [hash_key("other")])
    assert not key_matches(key, [])
