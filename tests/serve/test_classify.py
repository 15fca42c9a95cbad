"""POST /v1/classify and /v1/classify/batch: results, validation messages, size limits, queue limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import AUTH, conversation, make_settings, wait_ready

from classifier.inference import Classifier
from classifier.schema import RecordError, parse_conversation
from serve.main import create_app


@pytest.fixture(scope="module")
def classifier(tiny_model_dir: Path) -> Classifier:
    clf = Classifier.load(tiny_model_dir, threads=1)
    assert clf.config.precision == "int8"  # the batch-invariance assertions below rely on it
    return clf


def test_classify_returns_the_classifiers_decision(client: TestClient, classifier: Classifier) -> None:
    body = conversation("conv-7", "can you write me a poem about the sea")
    response = client.post("/v1/classify", json=body, headers=AUTH)
    assert response.status_code == 200
    data = response.json()
    expected = classifier.classify([parse_conversation(body)], batch_size=1)[0].to_dict()
    assert {k: data[k] for k in expected} == expected
    assert data["id"] == "conv-7"
    assert data["label"] in ("business_support", "general_assistance")
    assert data["latency_ms"] > 0
    assert response.headers["x-request-id"]


def test_label_in_the_request_is_ignored(client: TestClient) -> None:
    plain = client.post("/v1/classify", json=conversation(), headers=AUTH).json()
    for label in ("general_assistance", "business_support", "not-a-label"):
        labelled = client.post("/v1/classify", json={**conversation(), "label": label}, headers=AUTH)
        assert labelled.status_code == 200
        assert labelled.json()["score"] == plain["score"]


def test_request_id_is_taken_from_the_header(client: TestClient) -> None:
    response = client.post("/v1/classify", json=conversation(), headers={**AUTH, "X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize(
    "record",
    [
        {"id": "c1", "turns": [{"role": "bot", "text": "hello"}]},
        {"id": "c2", "turns": []},
        {"id": "c3", "turns": [{"role": "user", "text": "   "}]},
        {"turns": [{"role": "user", "text": "hi"}]},
        {"id": "c5", "turns": [{"role": "user", "text": 42}]},
        {"id": "c6", "turns": [{"role": "user", "text": "hi", "ts": "yesterday"}]},
        ["not", "an", "object"],
    ],
)
def test_invalid_conversation_gets_422_with_the_schema_message(client: TestClient, record: object) -> None:
    response = client.post("/v1/classify", json=record, headers=AUTH)
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "invalid_conversation"
    with pytest.raises(RecordError) as expected:
        parse_conversation(record, source="request")
    assert data["detail"] == expected.value.describe()
    assert data["request_id"] == response.headers["x-request-id"]


def test_the_message_names_the_field(client: TestClient) -> None:
    record = {"id": "c9", "turns": [{"role": "user", "text": "hi"}, {"role": "bot", "text": "x"}]}
    detail = client.post("/v1/classify", json=record, headers=AUTH).json()["detail"]
    assert detail == "request (id c9): turns[1].role 'bot' is not one of user, assistant, agent, system"


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
def test_a_body_that_is_not_json_gets_400(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/classify", content=body, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_a_conversation_over_the_limits_gets_413_naming_the_limit(tiny_model_dir: Path) -> None:
    settings = make_settings(tiny_model_dir, max_turns=3, max_turn_chars=50)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        many = {"id": "long", "turns": [{"role": "user", "text": "hi"}] * 4}
        response = client.post("/v1/classify", json=many, headers=AUTH)
        assert response.status_code == 413
        assert response.json() == {
            "detail": "request (id long): turns has 4 turns, over the limit of 3",
            "code": "conversation_too_large",
            "request_id": response.headers["x-request-id"],
        }
        wide = {"id": "wide", "turns": [{"role": "user", "text": "x" * 51}]}
        detail = client.post("/v1/classify", json=wide, headers=AUTH).json()["detail"]
        assert "turns[0].text has 51 characters, over the limit of 50" in detail


def test_a_body_over_the_byte_limit_gets_413(tiny_model_dir: Path) -> None:
    with TestClient(create_app(make_settings(tiny_model_dir, max_body_bytes=2048))) as client:
        wait_ready(client)
        response = client.post("/v1/classify", json=conversation(text="word " * 1000), headers=AUTH)
        assert response.status_code == 413
        assert response.json()["code"] == "body_too_large"
        # Without a Content-Length (chunked), the limit is enforced while reading.
        chunks = iter([b'{"id": "c", "turns": [{"role": "user", "text": "', b"x" * 4096, b'"}]}'])
        chunked = client.post("/v1/classify", content=chunks, headers=AUTH)
        assert chunked.status_code == 413
        assert client.post("/v1/classify", json=conversation(), headers=AUTH).status_code == 200


# -- batch ---------------------------------------------------------------------------------------------


def test_batch_results_are_in_request_order_with_per_item_errors(
    client: TestClient, classifier: Classifier
) -> None:
    items = [
        conversation("a", "where is my parcel"),
        {"id": "bad", "turns": [{"role": "robot", "text": "hi"}]},
        conversation("b", "write me a poem about the moon"),
        {"id": "huge", "turns": [{"role": "user", "text": "hi"}] * 201},
        "not an object",
    ]
    response = client.post("/v1/classify/batch", json={"conversations": items}, headers=AUTH)
    assert response.status_code == 200
    data = response.json()
    assert [r["index"] for r in data["results"]] == [0, 1, 2, 3, 4]
    assert [r["ok"] for r in data["results"]] == [True, False, True, False, False]
    assert (data["classified"], data["failed"]) == (2, 3)
    # int8 model: the service runs one window per onnxruntime call, so scores never depend on batch-mates
    expected = classifier.classify([parse_conversation(items[0]), parse_conversation(items[2])], batch_size=1)
    assert data["results"][0]["result"] == expected[0].to_dict()
    assert data["results"][2]["result"] == expected[1].to_dict()
    bad = data["results"][1]["error"]
    assert bad == {
        "status": 422,
        "code": "invalid_conversation",
        "detail": "conversations[1] (id bad): turns[0].role 'robot' is not one of user, assistant, agent, "
        "system",
    }
    assert data["results"][3]["error"]["status"] == 413
    assert data["results"][3]["error"]["detail"].endswith("turns has 201 turns, over the limit of 200")
    assert data["results"][4]["error"]["detail"] == "conversations[4]: expected a JSON object, got str"


def test_batch_with_only_invalid_items_still_answers_200(client: TestClient) -> None:
    response = client.post("/v1/classify/batch", json={"conversations": [{"id": "x"}]}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["failed"] == 1


def test_empty_batch_gives_empty_results(client: TestClient) -> None:
    response = client.post("/v1/classify/batch", json={"conversations": []}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("body", [[conversation()], {"items": []}, {"conversations": "x"}])
def test_batch_body_that_is_not_a_conversations_object_gets_422(client: TestClient, body: object) -> None:
    response = client.post("/v1/classify/batch", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert '{"conversations": [...]}' in response.json()["detail"]


def test_batch_over_the_item_limit_gets_413(tiny_model_dir: Path) -> None:
    with TestClient(create_app(make_settings(tiny_model_dir, max_batch_items=2))) as client:
        wait_ready(client)
        body = {"conversations": [conversation(str(i)) for i in range(3)]}
        response = client.post("/v1/classify/batch", json=body, headers=AUTH)
        assert response.status_code == 413
        assert response.json()["code"] == "batch_too_large"
        assert "3 items, over the limit of 2" in response.json()["detail"]


def test_a_full_queue_gets_429_with_retry_after(tiny_model_dir: Path) -> None:
    with TestClient(create_app(make_settings(tiny_model_dir, max_queue=2))) as client:
        wait_ready(client)
        body = {"conversations": [conversation(str(i)) for i in range(3)]}
        response = client.post("/v1/classify/batch", json=body, headers=AUTH)
        assert response.status_code == 429
        assert response.json()["code"] == "queue_full"
        assert response.headers["retry-after"] == "1"
        assert client.post("/v1/classify", json=conversation(), headers=AUTH).status_code == 200
