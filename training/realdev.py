"""The real-conversation dev sets (``../shared/realdev``): evaluation only, with and without business
profiles.

Each realdev record names its ``meta.source`` and ``meta.domain``; ``data/scope/realdev_profiles.yaml``
holds, per ``source/domain``, the profile its company would plausibly write (a mapping with ``name`` and
``description``), or for the general sets a list of narrow business profiles that the records rotate
over by a stable hash of their id (a general chat under a narrow profile stays general). The profile is
given as ``meta.business``, so it is read exactly as a ``--business`` profile or a system turn would be.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from classifier.profile import ProfileError, has_own_profile, parse_profile
from classifier.schema import PROFILE_META_KEY, BusinessProfile, Conversation


def load_realdev_profiles(path: Path) -> dict[str, tuple[BusinessProfile, ...]]:
    """``source/domain`` -> its profiles (one, or several to rotate over); ProfileError naming the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: realdev profiles file not found") from None
    if not isinstance(data, dict) or not data:
        raise ProfileError(f"{path}: expected a mapping of source/domain to profiles")
    out: dict[str, tuple[BusinessProfile, ...]] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ProfileError(f"{path}: {key}: an empty list of profiles")
        out[str(key)] = tuple(parse_profile(v, f"{path}: {key}") for v in values)
    return out


def profile_key(conv: Conversation) -> str:
    return f"{conv.meta.get('source')}/{conv.meta.get('domain')}"


def with_profiles(
    convs: list[Conversation], profiles: dict[str, tuple[BusinessProfile, ...]]
) -> list[Conversation]:
    """``convs`` each judged under its source's profile (``meta.business``); a conversation that has a
    profile already, or whose source has none, is kept as it is."""
    out = []
    for conv in convs:
        options = profiles.get(profile_key(conv))
        if not options or has_own_profile(conv):
            out.append(conv)
            continue
        pick = int(hashlib.sha256(conv.id.encode()).hexdigest(), 16) % len(options)
        meta = {**conv.meta, PROFILE_META_KEY: options[pick].model_dump(exclude_none=True)}
        out.append(conv.model_copy(update={"meta": meta}))
    return out
