"""Pseudonymous ids: phone numbers in conversation ids are replaced by a keyed digest.

WhatsApp Cloud API conversation ids are ``<wa_id>:<Unix time>`` and WhatsApp exports of unsaved contacts
are named after the phone number, so raw ids would put customers' phone numbers into score files,
reports and the audit log. By default every phone number in an id (or a ``source``) is replaced by
``p-`` + the first 16 hex digits of HMAC-SHA256(key, number): stable for the same number and key (a
customer's conversations still link up), not reversible without the key, not guessable by hashing all
phone numbers (the key is secret). A wa-cloud id keeps its time: ``p-3f2a9c1d0e4b5a67:1773482400``.

What counts as a phone number: a ``+`` followed by 7-15 digits (spaces, dots, dashes or parentheses
between them allowed), or a bare run of 10-15 digits. A 10-digit Unix time elsewhere in an id is
therefore pseudonymised too: erring towards privacy is intended.

The key (32 random bytes, hex) is created on first use in ``key_path()``: ``$SCOPEGUARD_ID_KEY_FILE``,
else ``$XDG_CONFIG_HOME/scopeguard/id-key`` (default ``~/.config/scopeguard/id-key``), with 0600
permissions. Keep it: the same key gives the same pseudonyms in every run. ``--raw-ids`` turns this off.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

KEY_FILE_ENV = "SCOPEGUARD_ID_KEY_FILE"
KEY_FILE_NAME = "id-key"
PREFIX = "p-"
DIGEST_HEX_CHARS = 16

_WA_CLOUD_ID = re.compile(r"^\+?(\d{6,15}):(\d{9,12})$")
PHONE_NUMBER = re.compile(r"\+\d(?:[ .\-()]{0,2}\d){6,14}|(?<![\dA-Za-z])\d{10,15}(?!\d)")


def key_path() -> Path:
    """Where the key is kept: $SCOPEGUARD_ID_KEY_FILE, else <config dir>/scopeguard/id-key."""
    explicit = os.environ.get(KEY_FILE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "scopeguard" / KEY_FILE_NAME


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def load_key(path: Path | None = None) -> bytes:
    """The pseudonymisation key, created on first use; ValueError when the file is unusable."""
    path = path or key_path()
    if not path.exists():
        _create_key(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ValueError(
            f"the id key {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
        )
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < 32:
        raise ValueError(f"the id key {path} is too short; delete it to create a new one (pseudonyms change)")
    return text.encode("utf-8")


@dataclass(frozen=True)
class Pseudonymiser:
    """Replaces phone numbers in ids by keyed digests; ``key=None`` keeps everything as is (raw ids)."""

    key: bytes | None

    @classmethod
    def from_settings(cls, raw_ids: bool = False, key_file: Path | None = None) -> Pseudonymiser:
        return cls(None if raw_ids else load_key(key_file))

    @property
    def active(self) -> bool:
        return self.key is not None

    def digest(self, value: str) -> str:
        assert self.key is not None
        mac = hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + mac[:DIGEST_HEX_CHARS]

    def _number(self, match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))  # "+49 151 234" and "49151234" give one pseudonym
        return self.digest(digits)

    def text(self, value: str) -> str:
        """``value`` with every phone number replaced (ids, sources, error messages)."""
        if self.key is None:
            return value
        wa_cloud = _WA_CLOUD_ID.match(value)
        if wa_cloud:
            return f"{self.digest(wa_cloud.group(1))}:{wa_cloud.group(2)}"
        return PHONE_NUMBER.sub(self._number, value)

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)


RAW_IDS = Pseudonymiser(None)
