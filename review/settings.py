"""Settings of the review page (``SCOPEGUARD_REVIEW_*`` environment variables; ``review serve`` flags win).

queue: the queue file. host, port: where to listen (127.0.0.1:8090 by default). auth: reviewers sign in
with an API key; ``key_hashes`` maps reviewer names to SHA-256 digests of their keys, as
``alice:<hash>,bob:<hash>`` (``scopeguard keys new`` makes a key and its hash; keys are never
configured, only hashes, as for the service). Without auth (``--no-auth``) reviewers type their name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from review.queue import REVIEWER_PATTERN
from serve.settings import KEY_HASH

ENV_PREFIX = "SCOPEGUARD_REVIEW_"


class ReviewSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    queue: Path
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    auth: bool = True
    key_hashes: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("key_hashes", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        out: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, digest = part.partition(":")
            if not sep:
                raise ValueError(f"expected reviewer:hash pairs separated by commas, found {part[:20]!r}...")
            out[name.strip()] = digest.strip().lower()
        return out

    @field_validator("key_hashes")
    @classmethod
    def _check(cls, value: dict[str, str]) -> dict[str, str]:
        for name, digest in value.items():
            if not REVIEWER_PATTERN.match(name):
                raise ValueError(f"reviewer name {name!r}: 1-64 letters, digits or . _ @ -")
            if not KEY_HASH.match(digest):
                raise ValueError(
                    f"the key of {name} is not a SHA-256 hex digest; configure hashes, never keys "
                    "(`scopeguard keys new` prints both)"
                )
        return value

    @model_validator(mode="after")
    def _keys_when_auth(self) -> ReviewSettings:
        if self.auth and not self.key_hashes:
            raise ValueError(
                f"auth is on but {ENV_PREFIX}KEY_HASHES is empty: run `scopeguard keys new` for each "
                "reviewer "
                f"and set {ENV_PREFIX}KEY_HASHES=alice:<hash>,bob:<hash>, or pass --no-auth on a machine "
                "nobody else uses"
            )
        return self
