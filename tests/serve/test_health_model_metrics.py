"""/healthz, /readyz (503 until the warm-up ran), /v1/model (model card files), /metrics."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import AUTH, conversation, make_settings, wait_ready

import serve.service
from serve.main import create_app


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_names_the_model(client: TestClient) -> None:
    data = client.get("/readyz").json()
    assert data["status"] == "ready"
    assert data["model_id"].startswith("scopeguard-tiny")


def test_503_until_the_model_is_loaded_and_warm(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real_load = serve.service.load_model

    def slow_load(
        model_dir: Path, threads: int | None, cache_windows: int, compute: str
    ) -> serve.service.LoadedModel:
        release.wait(30)
        return real_load(model_dir, threads, cache_windows, compute)

    monkeypatch.setattr(serve.service, "load_model", slow_load)
    with TestClient(create_app(make_settings(tiny_model_dir))) as client:
        assert client.get("/healthz").status_code == 200
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["code"] == "not_ready"
        assert "loading" in not_ready.json()["detail"]
        response = client.post("/v1/classify", json=conversation(), headers=AUTH)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert client.get("/v1/model", headers=AUTH).status_code == 503
        release.set()
        wait_ready(client)
        assert client.post("/v1/classify", json=conversation(), headers=AUTH).status_code == 200


def test_with_several_workers_startup_waits_for_the_model(tiny_model_dir: Path) -> None:
    # uvicorn's rolling worker restart (SIGHUP) trusts start-up; it must include the model load.
    with TestClient(create_app(make_settings(tiny_model_dir, workers=2))) as client:
        assert client.get("/readyz").status_code == 200


def test_a_model_that_fails_to_load_leaves_the_service_unready(tmp_path: Path, tiny_model_dir: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    with TestClient(create_app(make_settings(broken))) as client:
        for _ in range(200):
            response = client.get("/readyz")
            if "failed to load" in response.json()["detail"]:
                break
        assert response.status_code == 503
        assert str(broken) in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_a_missing_model_folder_stops_startup(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="is not a model folder"), TestClient(app):
        pass


def test_an_arithmetic_the_model_cannot_run_stops_startup(tiny_model_dir: Path) -> None:
    app = create_app(make_settings(tiny_model_dir, compute="fp32"))  # the tiny model is dynamic int8
    with pytest.raises(ValueError, match="this model computes in int8 only"), TestClient(app):
        pass
    with pytest.raises(ValueError, match="compute"):
        make_settings(tiny_model_dir, compute="bf16")


def test_model_info_without_card_files(client: TestClient, tiny_model_dir: Path) -> None:
    data = client.get("/v1/model", headers=AUTH).json()
    config = json.loads((tiny_model_dir / "scopeguard.json").read_text())
    assert data["model_id"] == config["model_id"]
    assert data["labels"] == ["business_support", "general_assistance"]
    assert data["threshold"] == config["threshold"]
    assert data["precision"] == config["precision"]
    assert data["compute"] == "int8"  # dynamic int8: the graph fixes its arithmetic
    assert data["metrics"] is None and data["provenance"] is None


def test_model_info_summarises_metrics_and_returns_provenance(tmp_path: Path, tiny_model_dir: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    overall = {
        "n": 120,
        "accuracy": 0.95,
        "macro_f1": 0.94,
        "general_precision": 0.9,
        "general_recall": 0.92,
        "general_f1": 0.91,
        "roc_auc": 0.99,
        "pr_auc": 0.97,
        "ece": 0.02,
        "confusion_matrix": {"labels": [], "matrix": []},
    }
    metrics = {
        "precision": "int8",
        "threshold": 0.42,
        "splits": {"test": {"overall": overall, "by_lang": {}}},
    }
    provenance = {"model_id": "x", "git": {"commit": "abc"}, "seed": 7}
    (model_dir / "metrics.json").write_text(json.dumps(metrics))
    (model_dir / "provenance.json").write_text(json.dumps(provenance))
    with TestClient(create_app(make_settings(model_dir))) as client:
        wait_ready(client)
        data = client.get("/v1/model", headers=AUTH).json()
    expected_overall = {k: v for k, v in overall.items() if k != "confusion_matrix"}
    assert data["metrics"] == {"precision": "int8", "threshold": 0.42, "splits": {"test": expected_overall}}
    assert data["provenance"] == provenance


def test_metrics_count_requests_labels_batches_and_model(tiny_model_dir: Path) -> None:
    with TestClient(create_app(make_settings(tiny_model_dir))) as client:
        wait_ready(client)
        labels = [
            client.post("/v1/classify", json=conversation(str(i)), headers=AUTH).json()["label"]
            for i in range(3)
        ]
        client.post("/v1/classify", json={"id": "x"}, headers=AUTH)
        client.post("/v1/classify", json=conversation())
        batch = {"conversations": [conversation("a"), conversation("b")]}
        client.post("/v1/classify/batch", json=batch, headers=AUTH)
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'scopeguard_http_requests_total{method="POST",route="/v1/classify",status="200"} 3.0' in text
    assert 'scopeguard_http_requests_total{method="POST",route="/v1/classify",status="422"} 1.0' in text
    assert 'scopeguard_http_requests_total{method="POST",route="/v1/classify",status="401"} 1.0' in text
    assert 'scopeguard_http_request_duration_seconds_count{method="POST",route="/v1/classify"} 5.0' in text
    assert "scopeguard_batch_request_items_sum 2.0" in text
    assert "scopeguard_inference_batch_conversations_count" in text
    label = labels[0]
    assert f'scopeguard_predictions_total{{label="{label}"}}' in text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("scopeguard_predictions_total{")
    )
    assert total == 5.0  # 3 single + 2 batch items; warm-up conversations are not predictions
    assert 'scopeguard_model_info{compute="int8",model_id="scopeguard-tiny' in text
    assert "scopeguard_ready 1.0" in text


def test_unknown_route_gets_a_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def _cache_windows(text: str, result: str) -> float:
    prefix = f'scopeguard_window_cache_windows{{result="{result}"}} '
    return float(next(line for line in text.splitlines() if line.startswith(prefix)).rsplit(" ", 1)[1])


@pytest.mark.parametrize("size", [16384, 0])
def test_a_resent_conversation_is_served_from_the_window_cache(tiny_model_dir: Path, size: int) -> None:
    with TestClient(create_app(make_settings(tiny_model_dir, window_cache=size))) as client:
        wait_ready(client)
        first = client.post("/v1/classify", json=conversation("live"), headers=AUTH).json()
        again = client.post("/v1/classify", json=conversation("live"), headers=AUTH).json()
        text = client.get("/metrics").text
    assert {k: v for k, v in again.items() if k != "latency_ms"} == {
        k: v for k, v in first.items() if k != "latency_ms"
    }
    if size:
        assert _cache_windows(text, "miss") >= 1
        assert _cache_windows(text, "hit") == _cache_windows(text, "miss")
    else:
        assert _cache_windows(text, "hit") == _cache_windows(text, "miss") == 0
