"""POST /v1/admin/reload: the new model is loaded and warmed, then swapped in; a bad one changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import ADMIN, AUTH, conversation, copy_model, make_settings, wait_ready

from serve.main import create_app


@pytest.fixture
def served(tmp_path: Path, tiny_model_dir: Path) -> Path:
    return copy_model(tiny_model_dir, tmp_path / "served", "scopeguard-served-1")


@pytest.fixture
def admin_client(served: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(served))) as client:
        wait_ready(client)
        yield client


def test_reload_picks_up_a_changed_model_folder(admin_client: TestClient, served: Path) -> None:
    config = json.loads((served / "scopeguard.json").read_text())
    (served / "scopeguard.json").write_text(json.dumps({**config, "model_id": "scopeguard-served-2"}))
    response = admin_client.post("/v1/admin/reload", headers=ADMIN)
    assert response.status_code == 200
    data = response.json()
    assert (data["model_id"], data["previous_model_id"]) == ("scopeguard-served-2", "scopeguard-served-1")
    assert admin_client.post("/v1/classify", json=conversation(), headers=AUTH).json()["model"] == (
        "scopeguard-served-2"
    )
    assert 'scopeguard_model_reloads_total{outcome="ok"} 1.0' in admin_client.get("/metrics").text


def test_reload_can_switch_to_another_folder(admin_client: TestClient, tmp_path: Path, served: Path) -> None:
    other = copy_model(served, tmp_path / "other", "scopeguard-other")
    response = admin_client.post("/v1/admin/reload", json={"model": str(other)}, headers=ADMIN)
    assert response.status_code == 200
    assert admin_client.get("/v1/model", headers=AUTH).json()["model_id"] == "scopeguard-other"
    # A later plain reload reloads the folder switched to.
    assert admin_client.post("/v1/admin/reload", headers=ADMIN).json()["model_id"] == "scopeguard-other"


def test_a_model_that_cannot_load_leaves_the_old_one_serving(
    admin_client: TestClient, tmp_path: Path
) -> None:
    response = admin_client.post("/v1/admin/reload", json={"model": str(tmp_path / "missing")}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_model"
    assert "still serving scopeguard-served-1" in response.json()["detail"]
    assert admin_client.get("/readyz").json()["model_id"] == "scopeguard-served-1"
    assert admin_client.post("/v1/classify", json=conversation(), headers=AUTH).status_code == 200
    assert 'scopeguard_model_reloads_total{outcome="failed"} 1.0' in admin_client.get("/metrics").text


def test_a_corrupt_model_is_refused_before_the_swap(
    admin_client: TestClient, tmp_path: Path, served: Path
) -> None:
    broken = copy_model(served, tmp_path / "broken", "scopeguard-broken")
    (broken / "model.onnx").write_bytes(b"garbage")
    response = admin_client.post("/v1/admin/reload", json={"model": str(broken)}, headers=ADMIN)
    assert response.status_code == 422
    assert admin_client.get("/v1/model", headers=AUTH).json()["model_id"] == "scopeguard-served-1"


def test_reload_rejects_unknown_fields_and_broken_json(admin_client: TestClient) -> None:
    response = admin_client.post("/v1/admin/reload", json={"path": "x"}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert response.json()["detail"].startswith("path: ")
    broken = admin_client.post(
        "/v1/admin/reload", content=b"{bad", headers={**ADMIN, "content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["code"] == "invalid_json"
