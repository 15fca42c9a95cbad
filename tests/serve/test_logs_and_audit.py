"""Logs are JSON access lines without transcript text; the audit log stores decisions, never the text."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import AUTH, make_settings, wait_ready
from sqlalchemy import create_engine, text

from classifier.render import render_text
from classifier.schema import parse_conversation
from serve.audit import AUDIT_TABLE, database_url
from serve.logs import JsonFormatter, configure_logging
from serve.main import create_app

SECRET = "zebracornflakes"  # a marker that must never reach a log


def secret_requests(client: TestClient) -> None:
    ok = {
        "id": "s1",
        "turns": [
            {"role": "user", "text": f"my card is {SECRET}"},
            {"role": "assistant", "text": f"noted {SECRET}"},
        ],
    }
    client.post("/v1/classify", json=ok, headers=AUTH)
    client.post("/v1/classify", json={"id": "s2", "turns": [{"role": SECRET, "text": SECRET}]}, headers=AUTH)
    client.post(
        "/v1/classify", json={"id": "s3", "turns": [{"role": "user", "text": [SECRET]}]}, headers=AUTH
    )
    client.post("/v1/classify", content=f'{{"id": "{SECRET}', headers=AUTH)
    client.post("/v1/classify/batch", json={"conversations": [ok, {"turns": SECRET}]}, headers=AUTH)
    client.post("/v1/classify", json=ok, headers={"Authorization": f"Bearer {SECRET}"})


@pytest.fixture
def json_logging() -> Iterator[None]:
    """configure_logging for one test, then the root logger as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("debug")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("json_logging")
def test_no_transcript_text_in_logs(
    tiny_model_dir: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(make_settings(tiny_model_dir, audit=False))) as client:
        wait_ready(client)
        secret_requests(client)
    captured = capfd.readouterr()
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any('"route":"/v1/classify"' in line for line in lines)
    for output in (*lines, captured.out, captured.err):
        assert SECRET not in output


def test_access_log_lines_are_json_with_request_id_status_latency_label_score(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scopeguard.access")
    body = {"id": "c", "turns": [{"role": "user", "text": "hello"}]}
    response = client.post("/v1/classify", json=body, headers={**AUTH, "X-Request-ID": "req-42"})
    client.post("/v1/classify", json={"id": "c"}, headers=AUTH)
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "scopeguard.access"]
    ok = next(line for line in lines if line["request_id"] == "req-42")
    assert ok["status"] == 200 and ok["route"] == "/v1/classify" and ok["method"] == "POST"
    assert ok["label"] == response.json()["label"] and ok["score"] == response.json()["score"]
    assert ok["latency_ms"] > 0
    failed = lines[-1]
    assert failed["status"] == 422 and failed["error"] == "invalid_conversation"
    assert "label" not in failed


def test_audit_log_records_decisions_without_text(tiny_model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    settings = make_settings(tiny_model_dir, audit=True, audit_url=str(db))
    body = {"id": "audit-1", "turns": [{"role": "user", "text": f"hello {SECRET}"}]}
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        single = client.post("/v1/classify", json=body, headers={**AUTH, "X-Request-ID": "r-1"}).json()
        batch = {"conversations": [{**body, "id": "audit-2"}, {"id": "bad"}]}
        client.post("/v1/classify/batch", json=batch, headers=AUTH)
    # Leaving the client shut the app down, which flushes the audit log.
    engine = create_engine(database_url(str(db)))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {AUDIT_TABLE} ORDER BY row_id"))]
    engine.dispose()
    assert [r["conversation_id"] for r in rows] == ["audit-1", "audit-2"]
    first = rows[0]
    assert first["request_id"] == "r-1"
    assert first["label"] == single["label"]
    assert first["score"] == pytest.approx(single["score"], abs=1e-4)
    assert first["model_id"] == single["model"]
    assert first["threshold"] == single["threshold"]
    expected_hash = hashlib.sha256(render_text(parse_conversation(body)).encode()).hexdigest()
    assert first["text_sha256"] == expected_hash
    assert first["time"] is not None
    assert SECRET.encode() not in db.read_bytes()


def test_the_audit_log_pseudonymises_phone_numbers(tiny_model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    settings = make_settings(tiny_model_dir, audit=True, audit_url=str(db))
    body = {"id": "4915112345678:1773482400", "turns": [{"role": "user", "text": "hallo"}]}
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        assert client.post("/v1/classify", json=body, headers=AUTH).status_code == 200
    engine = create_engine(database_url(str(db)))
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text(f"SELECT conversation_id FROM {AUDIT_TABLE}"))]
    engine.dispose()
    assert len(ids) == 1 and ids[0].startswith("p-") and ids[0].endswith(":1773482400")
    assert b"4915112345678" not in db.read_bytes()


def test_an_unusable_audit_database_stops_startup(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(tiny_model_dir, audit=True, audit_url=str(tmp_path / "no" / "such" / "dir.db"))
    with pytest.raises(ValueError, match="audit database"), TestClient(create_app(settings)):
        pass


def test_database_url() -> None:
    assert database_url("audit.db") == "sqlite:///audit.db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
