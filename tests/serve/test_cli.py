"""``scopeguard keys`` and ``scopeguard serve`` argument handling (the server itself: test_server_process)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cli.main import main
from serve.auth import hash_key
from serve.settings import Settings


def test_keys_new_prints_a_key_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new"]) == 0
    out, err = capsys.readouterr()
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    key, digest = lines["key"].strip(), lines["sha256"].strip()
    assert digest == hash_key(key)
    assert f"SCOPEGUARD_API_KEY_HASHES={digest}" in err
    assert main(["keys", "new", "--admin"]) == 0
    assert "SCOPEGUARD_ADMIN_KEY_HASHES=" in capsys.readouterr().err


def test_keys_hash_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("sg_abc\n"))
    assert main(["keys", "hash"]) == 0
    assert capsys.readouterr().out.strip() == hash_key("sg_abc")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["keys", "hash"]) == 2


def test_serve_without_keys_and_without_no_auth_refuses(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["serve", "--model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert "API_KEY_HASHES is empty" in err and "scopeguard keys new" in err
    assert len(err.strip().splitlines()) == 1
    assert "validation error" not in err and "errors.pydantic.dev" not in err and "input_value" not in err


def test_serve_with_a_missing_model_fails_before_binding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--no-auth", "--model", str(tmp_path / "none")]) == 2
    assert "is not a model folder" in capsys.readouterr().err


def test_serve_with_a_missing_env_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--env-file", str(tmp_path / "missing.env")]) == 2
    assert "missing.env" in capsys.readouterr().err


def test_settings_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        model=tmp_path,
        api_key_hashes=(hash_key("a"), hash_key("b")),  # type: ignore[call-arg]
        max_wait_ms=0.5,
        audit=True,
        threads=2,
    )
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None) == settings  # type: ignore[call-arg]


def test_serve_binds_localhost_and_warns_without_auth(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    monkeypatch.chdir(tmp_path)
    try:
        assert main(["serve", "--no-auth", "--model", str(tiny_model_dir), "--port", "9123"]) == 0
        (call,) = calls
        assert call["app"] == "serve.main:app_from_environment" and call["factory"] is True
        assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 9123, 1)
        assert "WARNING: --no-auth" in capsys.readouterr().err
        # The app factory (in this or a worker process) rebuilds the same settings from the environment.
        rebuilt = Settings(_env_file=None)  # type: ignore[call-arg]
        assert (rebuilt.auth, rebuilt.port, rebuilt.model) == (False, 9123, tiny_model_dir)
    finally:
        for name in [n for n in os.environ if n.startswith("SCOPEGUARD_")]:
            del os.environ[name]


def test_serve_with_a_missing_live_model_fails_before_binding(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "student"
    code = main(["serve", "--no-auth", "--model", str(tiny_model_dir), "--live-model", str(missing)])
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{missing} (--live-model, $SCOPEGUARD_LIVE_MODEL) is not a model folder" in err


def test_serve_passes_the_live_model_to_the_workers(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.chdir(tmp_path)
    try:
        assert (
            main(["serve", "--no-auth", "--model", str(tiny_model_dir), "--live-model", str(tiny_model_dir)])
            == 0
        )
        rebuilt = Settings(_env_file=None)  # type: ignore[call-arg]
        assert (rebuilt.model, rebuilt.live_model) == (tiny_model_dir, tiny_model_dir)
        assert rebuilt.model_names == ("default", "live")
    finally:
        for name in [n for n in os.environ if n.startswith("SCOPEGUARD_")]:
            del os.environ[name]
