"""API keys: ``Authorization: Bearer <key>``, checked against configured SHA-256 digests only.

The service never sees a key at rest: settings hold ``sha256(key)`` hex digests. A presented key is
hashed and compared with every configured digest in constant time (``hmac.compare_digest``, no early
exit), so neither timing nor the configuration reveals a key. Admin keys are a separate list and only
open ``/v1/admin/*``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serve.errors import ApiError
from serve.settings import Settings, get_settings

KEY_PREFIX = "sg_"
KEY_BYTES = 32

bearer = HTTPBearer(auto_error=False, description="an API key made with `scopeguard keys new`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key: str, digests: Iterable[str]) -> bool:
    """Whether ``key`` hashes to one of ``digests``; compares with all of them, in constant time each."""
    presented = hash_key(key).encode()
    found = False
    for digest in digests:
        found |= hmac.compare_digest(presented, digest.encode())
    return found


def _check(credentials: HTTPAuthorizationCredentials | None, digests: Iterable[str], what: str) -> None:
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            f"missing {what}: send the header 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not key_matches(credentials.credentials, digests):
        raise ApiError(
            401, "unauthorized", f"the {what} is not valid", headers={"WWW-Authenticate": "Bearer"}
        )


async def require_api_key(settings: SettingsDep, credentials: Credentials) -> None:
    if settings.auth:
        _check(credentials, settings.api_key_hashes, "API key")


async def require_admin_key(settings: SettingsDep, credentials: Credentials) -> None:
    if settings.auth:
        _check(credentials, settings.admin_key_hashes, "admin key")


ApiKey = Depends(require_api_key)
AdminKey = Depends(require_admin_key)
