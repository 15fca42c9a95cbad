"""The request's ``business`` field and the server's default profile give the decisions a system turn
with the same profile gives."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from serve_helpers import AUTH, conversation, make_settings, wait_ready

from serve.main import create_app

PROFILE = {
    "name": "Rialto Picturehouse",
    "description": "Independent cinema; the chat answers film questions.",
}
PROFILE_TEXT = "Rialto Picturehouse. Independent cinema; the chat answers film questions."


def with_system(body: dict) -> dict:
    return {**body, "turns": [{"role": "system", "text": PROFILE_TEXT}, *body["turns"]]}


def test_the_business_field_decides_like_a_system_turn(client: TestClient) -> None:
    body = conversation("c1", "whats The Salt Road about?")
    given = client.post("/v1/classify", json={**body, "business": PROFILE}, headers=AUTH).json()
    as_text = client.post("/v1/classify", json={**body, "business": PROFILE_TEXT}, headers=AUTH).json()
    own = client.post("/v1/classify", json=with_system(body), headers=AUTH).json()
    none = client.post("/v1/classify", json=body, headers=AUTH).json()
    assert given["score"] == as_text["score"] == own["score"] != none["score"]
    assert given["profile"] == {
        "source": "record",
        "name": PROFILE["name"],
        "digest": own["profile"]["digest"],
    }
    assert own["profile"]["source"] == "system" and none["profile"] is None
    # the conversation's own profile comes first
    overridden = client.post("/v1/classify", json={**with_system(body), "business": "a bank"}, headers=AUTH)
    assert overridden.json()["score"] == own["score"]


def test_a_bad_business_field_is_a_422_naming_it(client: TestClient) -> None:
    for bad, problem in ((5, "not int"), ({"name": "x"}, "description: Field required"), ("  ", "is empty")):
        response = client.post("/v1/classify", json={**conversation(), "business": bad}, headers=AUTH)
        assert response.status_code == 422
        error = response.json()
        assert error["code"] == "invalid_business"
        assert error["detail"].startswith("request (id conv-1): business") and problem in error["detail"]


def test_the_batch_takes_a_business_per_item(client: TestClient) -> None:
    body = conversation("c1", "whats The Salt Road about?")
    items = [{**body, "business": PROFILE}, {**body, "business": 7}, with_system(body)]
    results = client.post("/v1/classify/batch", json={"conversations": items}, headers=AUTH).json()["results"]
    assert results[0]["result"]["score"] == results[2]["result"]["score"]
    assert results[1]["error"]["code"] == "invalid_business"
    assert results[1]["result"] is None


def test_the_servers_default_profile_applies_to_conversations_without_one(
    tiny_model_dir: Path, tmp_path
) -> None:
    profile = tmp_path / "rialto.yaml"
    profile.write_text(f"name: {PROFILE['name']}\ndescription: {PROFILE['description']}\n", encoding="utf-8")
    body = conversation("c1", "whats The Salt Road about?")
    with TestClient(create_app(make_settings(tiny_model_dir, business=profile))) as default_client:
        wait_ready(default_client)
        by_default = default_client.post("/v1/classify", json=body, headers=AUTH).json()
        own = default_client.post("/v1/classify", json=with_system(body), headers=AUTH).json()
    assert by_default["score"] == own["score"]
    assert by_default["profile"]["source"] == "default" and by_default["profile"]["name"] == PROFILE["name"]
