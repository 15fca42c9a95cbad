"""The review page's API: key-hash sign-in, next item, answers, conflicts, undo, one server per queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from review.lock import ServerLock
from review.queue import QueueError
from review.settings import ReviewSettings
from serve.auth import hash_key

ALICE, BOB = "sg_alice-key", "sg_bob-key"


@pytest.fixture
def client(queue_file: Path) -> Iterator[TestClient]:
    settings = ReviewSettings(queue=queue_file, key_hashes={"alice": hash_key(ALICE), "bob": hash_key(BOB)})
    with TestClient(create_app(settings)) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_page_and_its_assets_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/review.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/review.js").status_code == 200
    assert client.get("/api/config").json() == {"auth": True}


def test_the_api_needs_a_known_key_and_names_the_reviewer(client: TestClient) -> None:
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers=auth("sg_wrong")).status_code == 401
    assert client.get("/api/me", headers=auth(BOB)).json()["reviewer"] == "bob"


def test_label_next_undo_and_progress(client: TestClient) -> None:
    first = client.get("/api/next", headers=auth(ALICE)).json()["item"]
    assert first["turns"] and first["evidence"] and first["answer"] is None
    r = client.post(f"/api/items/{first['id']}/answer", headers=auth(ALICE),
                    json={"action": "label", "label": "business_support", "note": "fine"})  # fmt: skip
    assert r.status_code == 200
    second = client.get(f"/api/next?after={first['id']}", headers=auth(ALICE)).json()["item"]
    assert second["id"] != first["id"]
    status = client.get("/api/status", headers=auth(ALICE)).json()
    assert status["labelled"] == 1 and status["you"]["labelled"] == 1
    undone = client.post("/api/undo", headers=auth(ALICE)).json()
    assert undone["item_id"] == first["id"]
    assert client.get("/api/status", headers=auth(ALICE)).json()["labelled"] == 0
    assert client.post("/api/undo", headers=auth(ALICE)).status_code == 409


def test_two_reviewers_on_the_same_item_both_count_and_a_stale_page_gets_409(client: TestClient) -> None:
    item = client.get("/api/next", headers=auth(ALICE)).json()["item"]
    body = {"action": "label", "label": "general_assistance", "expected": 0}
    assert client.post(f"/api/items/{item['id']}/answer", headers=auth(ALICE), json=body).status_code == 200
    assert client.post(f"/api/items/{item['id']}/answer", headers=auth(BOB), json=body).status_code == 200
    stale = client.post(f"/api/items/{item['id']}/answer", headers=auth(ALICE), json=body)
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    pairs = client.get("/api/status", headers=auth(BOB)).json()["agreement"]["pairs"]
    assert pairs[0]["reviewers"] == ["alice", "bob"] and pairs[0]["shared"] == 1


def test_bad_answers_are_422(client: TestClient) -> None:
    item = client.get("/api/next", headers=auth(ALICE)).json()["item"]
    users = [i for i, t in enumerate(item["turns"]) if t["role"] == "user"]
    body = {"action": "label", "label": "general_assistance", "general_turns": users}
    r = client.post(f"/api/items/{item['id']}/answer", headers=auth(ALICE), json=body)
    assert r.status_code == 422 and "not bot turns" in r.json()["detail"]
    assert (
        client.post("/api/items/9999/answer", headers=auth(ALICE), json={"action": "skip"}).status_code == 404
    )


def test_without_auth_the_reviewer_names_themselves(queue_file: Path) -> None:
    with TestClient(create_app(ReviewSettings(queue=queue_file, auth=False))) as c:
        assert c.get("/api/me").status_code == 401
        assert c.get("/api/me", headers={"X-Reviewer": "dana"}).json()["reviewer"] == "dana"


def test_auth_without_key_hashes_is_a_settings_error(queue_file: Path) -> None:
    with pytest.raises(ValueError, match="KEY_HASHES is empty"):
        ReviewSettings(queue=queue_file)
    with pytest.raises(ValueError, match="not a SHA-256 hex digest"):
        ReviewSettings(queue=queue_file, key_hashes="alice:sg_plainkey")


def test_a_second_server_on_the_same_queue_is_refused(queue_file: Path) -> None:
    with (
        ServerLock(queue_file).acquire("http://127.0.0.1:8090/"),
        pytest.raises(QueueError, match=r"already being served \(pid \d+, http://127.0.0.1:8090/"),
    ):
        ServerLock(queue_file).acquire("http://127.0.0.1:8091/")
    ServerLock(queue_file).acquire("http://127.0.0.1:8091/").release()  # free again once the first stops
