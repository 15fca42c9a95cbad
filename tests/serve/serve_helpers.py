"""Helpers of the HTTP service tests (imported by the test modules and conftest.py)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from serve.auth import hash_key
from serve.settings import Settings

API_KEY = "sg_test-api-key-0123456789"
ADMIN_KEY = "sg_test-admin-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
READY_TIMEOUT_S = 60.0


def make_settings(model_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "model": model_dir,
        "api_key_hashes": (hash_key(API_KEY),),
        "admin_key_hashes": (hash_key(ADMIN_KEY),),
        "reload_on_sighup": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def wait_ready(client: Any, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError(f"the service was not ready after {timeout} s: {response.json()}")


def conversation(conv_id: str = "conv-1", text: str = "hi, where is my order 4411?") -> dict[str, Any]:
    return {
        "id": conv_id,
        "turns": [
            {"role": "user", "text": text},
            {"role": "assistant", "text": "Let me check that for you. Your parcel arrives tomorrow."},
        ],
    }


def copy_model(src: Path, dst: Path, model_id: str) -> Path:
    """A copy of the model folder ``src`` at ``dst`` under another model id (same weights)."""
    shutil.copytree(src, dst)
    config = json.loads((dst / "scopeguard.json").read_text())
    config["model_id"] = model_id
    (dst / "scopeguard.json").write_text(json.dumps(config))
    return dst
