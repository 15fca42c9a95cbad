"""Every setting of the HTTP service, read from ``SCOPEGUARD_*`` environment variables or a ``.env`` file.

One typed object (``Settings``) built once per process by ``get_settings()`` (an ``lru_cache``d FastAPI
dependency that tests override). ``scopeguard serve`` flags override the environment. docs/SERVING.md
lists every setting with its default.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from classifier.compute import ComputeChoice
from classifier.schema import DEFAULT_LIMITS, Limits

ENV_PREFIX = "SCOPEGUARD_"
ENV_FILE = ".env"
DEFAULT_AUDIT_URL = "sqlite:///scopeguard-audit.sqlite3"
# what a configured key is: its SHA-256 hex digest (never the key itself); review/settings.py too
KEY_HASH = re.compile(r"^[0-9a-f]{64}$")

KeyHashes = Annotated[tuple[str, ...], NoDecode]

# The names a request picks a model by (its ``model`` field): the default model decides unless a request
# asks for the live one, which a service holds only when ``live_model`` is configured (docs/SERVING.md).
ModelName = Literal["default", "live"]
DEFAULT_MODEL: ModelName = "default"
LIVE_MODEL: ModelName = "live"
MODEL_NAMES: tuple[ModelName, ...] = get_args(ModelName)
LIVE_MODEL_ENV_VAR = f"{ENV_PREFIX}LIVE_MODEL"


class Settings(BaseSettings):
    """Settings of one service process (environment variable = ``SCOPEGUARD_`` + field name, upper case).

    host, port: where to listen (127.0.0.1 by default: put a TLS-terminating proxy in front to expose it).
    workers: uvicorn worker processes (each loads its own model).
    model: model folder (None: the shipped model, package data of classifier; see classifier.model_path).
    live_model: a second model folder, served next to ``model`` for requests that ask for it
    (``"model": "live"``): a fast model for live checks while the default model decides audits. Each
    model has its own micro-batcher, queue and window cache. None: the service holds one model.
    business: a business profile file (YAML with name and description, or plain text) for requests whose
    conversation brings none (no system turn, no meta.business, no ``business`` field); docs/PROFILES.md.
    auth: require ``Authorization: Bearer <key>`` on the API (``--no-auth`` turns it off, with a warning).
    api_key_hashes, admin_key_hashes: SHA-256 hex digests of the accepted API / admin keys
    (comma-separated in the environment; ``scopeguard keys new`` makes one). Keys themselves are never
    configured. Admin keys only open ``/v1/admin/*``.
    threads: onnxruntime intra-op threads of each model (None: onnxruntime's choice, all cores).
    compute: the matrix products of int8-weights models, "auto" (int8 where the CPU has int8 dot products,
    else fp32), "int8" or "fp32" (classifier.compute.choose_compute; docs/PERFORMANCE.md).
    max_batch_size: conversations the micro-batcher sends to the model together.
    max_wait_ms: how long a micro-batch waits for more requests while traffic is concurrent (an idle
    server sends a lone request at once).
    max_queue: conversations waiting for each model; beyond it requests get 429.
    inference_batch_size: windows per onnxruntime call (None: 1 for int8 models, so a score never depends
    on the requests batched with it; 16 for fp32, which is batch-invariant).
    window_cache: window scores kept per model for live re-checks (0 turns the cache off). Platforms
    re-check a running conversation after every turn; its earlier windows come back unchanged and are not
    scored again. Only digests of token ids and floats are held, never text; each worker and each model
    has its own cache.
    max_batch_items: conversations accepted by one ``/v1/classify/batch`` request (413 beyond).
    max_body_bytes: request body size limit (413 beyond).
    max_turns, max_turn_chars, max_conversation_chars, max_id_chars: per-conversation size limits (413).
    audit: write every decision (never the text) to ``audit_url``; audit_url: SQLAlchemy URL or a file
    path (a SQLite file). Phone numbers in the conversation ids it records are pseudonymised with the key
    in ``id_key_file`` (default: ``classifier.pseudonym.key_path()``) unless ``audit_raw_ids``.
    log_level: level of the JSON logs on stderr. access_log: one JSON line per request.
    reload_on_sighup: reload the model (and the live model) on SIGHUP (single-worker processes).
    shutdown_timeout_s: how long a stopping server waits for in-flight requests.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    model: Path | None = None
    live_model: Path | None = None
    business: Path | None = None
    auth: bool = True
    api_key_hashes: KeyHashes = ()
    admin_key_hashes: KeyHashes = ()
    threads: int | None = Field(default=None, ge=1)
    compute: ComputeChoice = "auto"
    max_batch_size: int = Field(default=32, ge=1)
    max_wait_ms: float = Field(default=2.0, ge=0.0)
    max_queue: int = Field(default=512, ge=1)
    inference_batch_size: int | None = Field(default=None, ge=1)
    window_cache: int = Field(default=16384, ge=0)
    max_batch_items: int = Field(default=64, ge=1)
    max_body_bytes: int = Field(default=4_000_000, ge=1024)
    max_turns: int = Field(default=DEFAULT_LIMITS.max_turns, gt=0)
    max_turn_chars: int = Field(default=DEFAULT_LIMITS.max_turn_chars, gt=0)
    max_conversation_chars: int = Field(default=DEFAULT_LIMITS.max_conversation_chars, gt=0)
    max_id_chars: int = Field(default=DEFAULT_LIMITS.max_id_chars, gt=0)
    audit: bool = False
    audit_url: str = DEFAULT_AUDIT_URL
    audit_raw_ids: bool = False
    id_key_file: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    reload_on_sighup: bool = True
    shutdown_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("api_key_hashes", "admin_key_hashes", mode="before")
    @classmethod
    def _split_hashes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(str(part).strip().lower() for part in value)
        return value

    @field_validator("api_key_hashes", "admin_key_hashes")
    @classmethod
    def _hex_digests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for digest in value:
            if not KEY_HASH.match(digest):
                raise ValueError(
                    f"{digest[:12]!r}... is not a SHA-256 hex digest (64 characters 0-9a-f); configure key "
                    "hashes, never keys: `scopeguard keys new` prints a key and its hash"
                )
        return value

    @model_validator(mode="after")
    def _keys_when_auth(self) -> Settings:
        if self.auth and not self.api_key_hashes:
            raise ValueError(
                f"auth is on but {ENV_PREFIX}API_KEY_HASHES is empty: run `scopeguard keys new` and set "
                f"{ENV_PREFIX}API_KEY_HASHES=<hash> (environment or .env), or pass --no-auth for a local "
                "experiment"
            )
        return self

    @property
    def model_names(self) -> tuple[ModelName, ...]:
        """The models this service holds, by the names requests pick them with."""
        return MODEL_NAMES if self.live_model is not None else (DEFAULT_MODEL,)

    @property
    def limits(self) -> Limits:
        return Limits(
            max_turns=self.max_turns,
            max_turn_chars=self.max_turn_chars,
            max_conversation_chars=self.max_conversation_chars,
            max_id_chars=self.max_id_chars,
        )

    def to_env(self) -> dict[str, str]:
        """These settings as ``SCOPEGUARD_*`` variables, so worker processes rebuild exactly them."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, tuple):
                text = ",".join(value)
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            env[f"{ENV_PREFIX}{name.upper()}"] = text
        return env


@lru_cache
def get_settings() -> Settings:
    """The process's settings (a FastAPI dependency; tests override it with ``app.dependency_overrides``)."""
    return Settings()
