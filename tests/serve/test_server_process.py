"""The real server (``scopeguard serve`` in a subprocess on 127.0.0.1): concurrent requests survive
model reloads (admin endpoint and SIGHUP), and SIGTERM lets in-flight requests finish."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_helpers import ADMIN, ADMIN_KEY, API_KEY, AUTH, conversation

from serve.auth import hash_key

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
# uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the exit status says why it stopped.
GRACEFUL_EXIT = (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, model_dir: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEGUARD_")}
        env.update(
            {
                "SCOPEGUARD_API_KEY_HASHES": hash_key(API_KEY),
                "SCOPEGUARD_ADMIN_KEY_HASHES": hash_key(ADMIN_KEY),
                "OMP_NUM_THREADS": "1",
                "PYTHONPATH": str(REPO),
            }
        )
        self.log = (workdir / "server.log").open("w+")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--model",
                str(model_dir),
                "--port",
                str(self.port),
            ],
            cwd=workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited:\n{self.output()}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server was not ready in {START_TIMEOUT_S} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def model_copy(tmp_path: Path, tiny_model_dir: Path) -> Path:
    return shutil.copytree(tiny_model_dir, tmp_path / "model")


@pytest.fixture
def server(model_copy: Path, tmp_path: Path) -> Iterator[Server]:
    srv = Server(model_copy, tmp_path)
    try:
        srv.wait_ready()
        yield srv
    finally:
        if srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait()
        srv.log.close()


def hammer(
    url: str,
    stop: threading.Event,
    statuses: Counter[int],
    models: Counter[str],
    lock: threading.Lock,
    worker: int,
) -> None:
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        i = 0
        while not stop.is_set():
            if i % 5 == 4:
                body = {"conversations": [conversation(f"w{worker}-{i}-{k}") for k in range(4)]}
                response = client.post("/v1/classify/batch", json=body)
                model = (
                    response.json()["results"][0]["result"]["model"] if response.status_code == 200 else ""
                )
            else:
                response = client.post("/v1/classify", json=conversation(f"w{worker}-{i}"))
                model = response.json().get("model", "") if response.status_code == 200 else ""
            with lock:
                statuses[response.status_code] += 1
                models[model] += 1
            i += 1


def rename_model(model_dir: Path, model_id: str) -> None:
    config = json.loads((model_dir / "scopeguard.json").read_text())
    (model_dir / "scopeguard.json").write_text(json.dumps({**config, "model_id": model_id}))


def test_concurrent_requests_survive_reloads(server: Server, model_copy: Path) -> None:
    statuses: Counter[int] = Counter()
    models: Counter[str] = Counter()
    lock, stop = threading.Lock(), threading.Event()
    workers = [
        threading.Thread(target=hammer, args=(server.url, stop, statuses, models, lock, w)) for w in range(8)
    ]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.0)
        rename_model(model_copy, "scopeguard-reloaded-by-http")
        reload = httpx.post(f"{server.url}/v1/admin/reload", headers=ADMIN, timeout=60)
        assert reload.status_code == 200, reload.text
        assert reload.json()["model_id"] == "scopeguard-reloaded-by-http"
        time.sleep(1.0)
        rename_model(model_copy, "scopeguard-reloaded-by-sighup")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while models["scopeguard-reloaded-by-sighup"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert set(statuses) == {200}, f"{statuses}\n{server.output()}"
    assert statuses[200] > 50
    assert models["scopeguard-reloaded-by-http"] > 0
    assert models["scopeguard-reloaded-by-sighup"] > 0
    assert server.stop() in GRACEFUL_EXIT
    assert '"message":"model reloaded"' in server.output()


def test_sigterm_lets_in_flight_requests_finish(server: Server) -> None:
    long_turns = [
        {"role": "user" if k % 2 == 0 else "assistant", "text": "where is my order " * 60} for k in range(12)
    ]
    body = {"conversations": [{"id": f"long-{i}", "turns": long_turns} for i in range(48)]}
    results: list[int] = []

    def send() -> None:
        response = httpx.post(f"{server.url}/v1/classify/batch", json=body, headers=AUTH, timeout=120)
        results.append(response.status_code)

    senders = [threading.Thread(target=send) for _ in range(3)]
    for sender in senders:
        sender.start()
    # SIGTERM once the server has parsed all three (they are then being classified).
    deadline = time.monotonic() + 60
    while "scopeguard_batch_request_items_count 3.0" not in httpx.get(f"{server.url}/metrics").text:
        assert time.monotonic() < deadline, "the batch requests never arrived"
        time.sleep(0.01)
    server.process.send_signal(signal.SIGTERM)
    for sender in senders:
        sender.join()
    assert results == [200, 200, 200], server.output()
    assert server.process.wait(timeout=30) in GRACEFUL_EXIT
    assert '"message":"stopped"' in server.output()
