"""A service holding two models: the default (audit) model and a live one, picked per conversation by the
request's ``model`` field; each with its own micro-batcher, window cache and metrics series."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import ADMIN, AUTH, conversation, copy_model, make_settings, wait_ready
from sqlalchemy import create_engine, text

from serve.audit import AUDIT_TABLE, database_url
from serve.main import create_app
from serve.service import ModelService
from serve.settings import Settings

TEACHER = "scopeguard-teacher-r1-00000001"
STUDENT = "scopeguard-student-r1-00000002"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple[Path, Path]:
    """Two copies of the tiny model (same weights) under different model ids: teacher and student."""
    root = tmp_path_factory.mktemp("two_models")
    return copy_model(tiny_model_dir, root / "teacher", TEACHER), copy_model(
        tiny_model_dir, root / "student", STUDENT
    )


def two_model_settings(folders: tuple[Path, Path], **overrides: object) -> Settings:
    teacher, student = folders
    return make_settings(teacher, live_model=student, **overrides)


@pytest.fixture
def two_models(folders: tuple[Path, Path]) -> Iterator[TestClient]:
    with TestClient(create_app(two_model_settings(folders))) as client:
        wait_ready(client)
        yield client


def service_of(client: TestClient) -> ModelService:
    return client.app.state.service  # type: ignore[attr-defined,no-any-return]


def classify(client: TestClient, conv_id: str = "conv-1", **fields: object) -> dict[str, object]:
    response = client.post("/v1/classify", json={**conversation(conv_id), **fields}, headers=AUTH)
    assert response.status_code == 200, response.json()
    return response.json()  # type: ignore[no-any-return]


def _metric(text_: str, series: str) -> float:
    line = next(line for line in text_.splitlines() if line.startswith(series + " "))
    return float(line.rsplit(" ", 1)[1])


# -- routing ---------------------------------------------------------------------------------------------


def test_the_model_field_picks_the_model_that_decides(two_models: TestClient) -> None:
    assert classify(two_models)["model"] == TEACHER
    assert classify(two_models, model="default")["model"] == TEACHER
    live = classify(two_models, model="live")
    assert live["model"] == STUDENT
    # same weights, so the same decision: only the model that decided differs
    assert live["score"] == classify(two_models)["score"]


def test_batch_items_each_go_to_the_model_they_name(two_models: TestClient) -> None:
    items = [
        {**conversation("a"), "model": "live"},
        conversation("b"),
        {**conversation("c"), "model": "fast"},
        {**conversation("d"), "model": "default"},
        {**conversation("e"), "model": "live"},
    ]
    response = two_models.post("/v1/classify/batch", json={"conversations": items}, headers=AUTH)
    assert response.status_code == 200
    data = response.json()
    assert (data["classified"], data["failed"]) == (4, 1)
    results = data["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    decided = {r["result"]["id"]: r["result"]["model"] for r in results if r["ok"]}
    assert decided == {"a": STUDENT, "b": TEACHER, "d": TEACHER, "e": STUDENT}
    assert results[2]["error"]["code"] == "unknown_model"
    assert (
        results[2]["error"]["detail"] == "conversations[2] (id c): model 'fast' is not one of default, live"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [("fast", "model 'fast' is not one of default, live"), (5, "model 5 (int) is not one of default, live")],
)
def test_an_unknown_model_name_is_a_422_naming_the_field(
    two_models: TestClient, value: object, problem: str
) -> None:
    response = two_models.post("/v1/classify", json={**conversation(), "model": value}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_model"
    assert response.json()["detail"] == f"request (id conv-1): {problem}"


def test_one_model_service_refuses_live_and_accepts_default(client: TestClient) -> None:
    response = client.post("/v1/classify", json={**conversation(), "model": "live"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_model"
    detail = response.json()["detail"]
    assert detail.startswith("request (id conv-1): model 'live': this service holds no live model")
    assert "--live-model" in detail and "SCOPEGUARD_LIVE_MODEL" in detail
    assert (
        "not one of default"
        in client.post("/v1/classify", json={**conversation(), "model": "fast"}, headers=AUTH).json()[
            "detail"
        ]
    )
    assert classify(client, model="default")["model"].startswith("scopeguard-tiny")


def test_readiness_and_model_info_name_each_model(two_models: TestClient) -> None:
    ready = two_models.get("/readyz").json()
    assert ready == {"status": "ready", "model_id": TEACHER, "models": {"default": TEACHER, "live": STUDENT}}
    assert two_models.get("/v1/model", headers=AUTH).json()["model_id"] == TEACHER
    assert two_models.get("/v1/model?model=live", headers=AUTH).json()["model_id"] == STUDENT
    unknown = two_models.get("/v1/model?model=fast", headers=AUTH)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_model"


def test_a_one_model_service_answers_readiness_and_model_info_as_before(client: TestClient) -> None:
    assert set(client.get("/readyz").json()) == {"status", "model_id"}
    response = client.get("/v1/model?model=live", headers=AUTH)
    assert response.status_code == 422 and "no live model" in response.json()["detail"]


# -- one batcher, one window cache and one set of series per model -------------------------------------


def test_each_model_has_its_own_batcher_and_window_cache(two_models: TestClient) -> None:
    slots = service_of(two_models).slots
    default, live = slots["default"], slots["live"]
    assert default.batcher is not live.batcher
    assert default.model is not None and live.model is not None
    default_cache, live_cache = default.model.classifier.window_cache, live.model.classifier.window_cache
    assert default_cache is not None and live_cache is not None and default_cache is not live_cache
    classify(two_models, "cached")
    classify(two_models, "cached", model="live")  # same windows, other model: never a hit
    assert (default_cache.hits, live_cache.hits) == (0, 0)
    assert default_cache.misses == live_cache.misses > 0
    classify(two_models, "cached", model="live")
    assert live_cache.hits == live_cache.misses and default_cache.hits == 0


def test_metrics_carry_a_model_label(two_models: TestClient) -> None:
    label = classify(two_models)["label"]
    classify(two_models, "x", model="live")
    classify(two_models, "x", model="live")  # answered from the live model's window cache
    metrics = two_models.get("/metrics").text
    assert _metric(metrics, f'scopeguard_predictions_total{{label="{label}",model="default"}}') == 1
    assert _metric(metrics, f'scopeguard_predictions_total{{label="{label}",model="live"}}') == 2
    assert _metric(metrics, 'scopeguard_inference_batch_conversations_count{model="default"}') == 1
    assert _metric(metrics, 'scopeguard_inference_batch_conversations_count{model="live"}') == 2
    for name, model_id in (("default", TEACHER), ("live", STUDENT)):
        info = f'compute="int8",model="{name}",model_id="{model_id}",precision="int8"'
        assert f"scopeguard_model_info{{{info}}} 1.0" in metrics
    assert _metric(metrics, 'scopeguard_window_cache_windows{model="default",result="hit"}') == 0
    assert _metric(metrics, 'scopeguard_window_cache_windows{model="live",result="hit"}') > 0
    assert 'scopeguard_queue_conversations{model="live"}' in metrics
    assert "scopeguard_ready 1.0" in metrics


def test_a_one_model_service_has_no_model_label(client: TestClient) -> None:
    classify(client)
    assert 'model="' not in client.get("/metrics").text


# -- audit, reload, start-up -----------------------------------------------------------------------------


def test_the_audit_log_names_the_model_that_decided(folders: tuple[Path, Path], tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    with TestClient(create_app(two_model_settings(folders, audit=True, audit_url=str(db)))) as client:
        wait_ready(client)
        classify(client, "audited-default")
        classify(client, "audited-live", model="live")
    engine = create_engine(database_url(str(db)))
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT conversation_id, model_id FROM {AUDIT_TABLE} ORDER BY row_id"))
        decided = {row.conversation_id: row.model_id for row in rows}
    engine.dispose()
    assert decided == {"audited-default": TEACHER, "audited-live": STUDENT}


def test_reload_reloads_both_models_and_can_switch_the_live_one(
    two_models: TestClient, folders: tuple[Path, Path], tmp_path: Path
) -> None:
    response = two_models.post("/v1/admin/reload", headers=ADMIN)
    assert response.status_code == 200
    data = response.json()
    assert (data["model_id"], data["previous_model_id"]) == (TEACHER, TEACHER)
    assert (data["live_model_id"], data["previous_live_model_id"]) == (STUDENT, STUDENT)
    newer = copy_model(folders[1], tmp_path / "student-2", "scopeguard-student-r1-00000003")
    switched = two_models.post("/v1/admin/reload", json={"live_model": str(newer)}, headers=ADMIN).json()
    assert (switched["model_id"], switched["live_model_id"]) == (TEACHER, "scopeguard-student-r1-00000003")
    assert classify(two_models, model="live")["model"] == "scopeguard-student-r1-00000003"
    assert classify(two_models)["model"] == TEACHER


def test_a_live_model_that_fails_to_reload_leaves_both_models_serving(
    two_models: TestClient, tmp_path: Path
) -> None:
    response = two_models.post(
        "/v1/admin/reload", json={"live_model": str(tmp_path / "missing")}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_model"
    detail = response.json()["detail"]
    assert detail.startswith(f"reload failed, still serving {TEACHER} (default) and {STUDENT} (live): ")
    assert "the live model: " in detail and "--live-model" in detail
    assert two_models.get("/readyz").json()["models"] == {"default": TEACHER, "live": STUDENT}
    assert 'scopeguard_model_reloads_total{outcome="failed"} 1.0' in two_models.get("/metrics").text


def test_a_one_model_service_cannot_switch_a_live_model(client: TestClient, tiny_model_dir: Path) -> None:
    response = client.post("/v1/admin/reload", json={"live_model": str(tiny_model_dir)}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_model"
    assert response.json()["detail"].startswith("live_model: this service holds no live model")


def test_a_missing_live_model_folder_stops_startup(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(tiny_model_dir, live_model=tmp_path / "nope"))
    with (
        pytest.raises(FileNotFoundError, match=r"nope \(--live-model, \$SCOPEGUARD_LIVE_MODEL\) is not a"),
        TestClient(app),
    ):
        pass


def test_a_live_model_that_fails_to_load_leaves_the_service_unready(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    with TestClient(create_app(make_settings(tiny_model_dir, live_model=broken))) as client:
        for _ in range(200):
            response = client.get("/readyz")
            if "failed to load" in response.json()["detail"]:
                break
        assert response.status_code == 503
        assert response.json()["detail"].startswith(f"the live model in {broken} failed to load")
        # a default-model request is refused too: a replica serves only once every model is warm
        assert client.post("/v1/classify", json=conversation(), headers=AUTH).status_code == 503


def test_live_model_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCOPEGUARD_LIVE_MODEL", str(tmp_path))
    settings = Settings(_env_file=None, auth=False)  # type: ignore[call-arg]
    assert settings.live_model == tmp_path
    assert settings.model_names == ("default", "live")
    assert settings.to_env()["SCOPEGUARD_LIVE_MODEL"] == str(tmp_path)
    assert Settings(_env_file=None, auth=False, live_model=None).model_names == ("default",)  # type: ignore[call-arg]
