"""Business profiles: which business a bot serves, so its replies are judged against that business's offer.

A profile is a short description of the business and its offer (docs/PROFILES.md). It reaches a
conversation in one of these ways, the first that applies winning:

1. the conversation's own ``system`` turns (schema v1; the text of all of them, in order);
2. ``meta.business`` of the record (free text);
3. a default for the whole job: ``--business FILE`` (score, eval), the service's request field
   ``business`` or its configured default, or the model folder's ``default_profile``.

Whatever the way, the model reads the same rendered prefix (``Business: <text>``, see
``classifier.render``), so the same profile gives the same decision. A decision records which profile it
was made under as a :class:`ProfileRef` (where it came from, a name where one was given, a digest of the
text): never the text itself, which can stay out of logs and score files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from classifier.render import normalize_text
from classifier.schema import PROFILE_META_KEY, BusinessProfile, Conversation, record_profile
from classifier.validation import validation_problems

DIGEST_CHARS = 12

# system: the conversation's system turns; record: meta.business (or a request's business field);
# default: --business, the service's default, or the model folder's default_profile
ProfileSource = Literal["system", "record", "default"]


class ProfileError(ValueError):
    """A profile that cannot be used; the message names where it came from and what is wrong."""


class ProfileRef(BaseModel):
    """Which profile a decision was made under, without its text."""

    model_config = ConfigDict(frozen=True)

    source: ProfileSource
    name: str | None = None
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ResolvedProfile(BaseModel):
    """The profile text one conversation is judged under, and its reference for outputs."""

    model_config = ConfigDict(frozen=True)

    text: str
    ref: ProfileRef


def profile_digest(text: str) -> str:
    """A short, stable digest of a profile's text (whitespace and Unicode form do not change it)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def profile_label(profile: BusinessProfile) -> str:
    """How logs and summaries name a profile: its name (if any) and digest, never its text."""
    digest = profile_digest(profile.text)
    return f"{profile.name} ({digest})" if profile.name else f"digest {digest}"


def parse_profile(value: Any, where: str) -> BusinessProfile:
    """A profile from a string (the description) or a mapping with ``description`` and optional ``name``.

    ``where`` names the origin in errors (a file, ``meta.business``, the request field ``business``).
    """
    if isinstance(value, str):
        value = {"description": value}
    if not isinstance(value, dict):
        raise ProfileError(
            f"{where}: a business profile is a text or an object with name and description, "
            f"not {type(value).__name__}"
        )
    try:
        return BusinessProfile.model_validate(value)
    except ValidationError as exc:
        raise ProfileError(f"{where}: {validation_problems(exc)}") from None


def load_profile(path: str | Path) -> BusinessProfile:
    """A profile file: YAML with ``name`` and ``description``, or plain text (the whole file is it)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file (--business takes a YAML or text file)") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text; save the profile as UTF-8") from None
    data: Any = raw
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ProfileError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
        if data is None:
            raise ProfileError(f"{path}: is empty: describe the business and what its bot is for")
    return parse_profile(data, str(path))


def meta_profile(conv: Conversation) -> BusinessProfile | None:
    """The profile in ``meta.business``, if the record has one (ProfileError if it is unusable)."""
    try:
        return record_profile(conv)
    except ValidationError as exc:
        raise ProfileError(f"meta.{PROFILE_META_KEY}: {validation_problems(exc)}") from None


def has_own_profile(conv: Conversation) -> bool:
    """The conversation brings its profile itself (system turns or ``meta.business``): a default does
    not apply to it."""
    return any(t.role == "system" for t in conv.turns) or conv.meta.get(PROFILE_META_KEY) is not None


def system_text(conv: Conversation) -> str | None:
    texts = [t.text for t in conv.turns if t.role == "system"]
    return "\n".join(texts) if texts else None


def resolve_profile(conv: Conversation, default: BusinessProfile | None = None) -> ResolvedProfile | None:
    """The profile ``conv`` is judged under (module docstring for the order); None when there is none."""
    own = system_text(conv)
    if own is not None:
        return ResolvedProfile(text=own, ref=ProfileRef(source="system", digest=profile_digest(own)))
    candidates: tuple[tuple[ProfileSource, BusinessProfile | None], ...] = (
        ("record", meta_profile(conv)),
        ("default", default),
    )
    for source, profile in candidates:
        if profile is not None:
            ref = ProfileRef(source=source, name=profile.name, digest=profile_digest(profile.text))
            return ResolvedProfile(text=profile.text, ref=ref)
    return None
