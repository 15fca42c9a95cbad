"""One line from a pydantic ValidationError: each problem with the dotted key it concerns.

Used by every loader of a validated file (the data manifest, the generator's language tables, the
training config), so their errors read the same: ``files.0.sha256: String should match pattern ...``.
"""

from __future__ import annotations

from pydantic import ValidationError


def validation_problems(exc: ValidationError, top: str = "(top level)") -> str:
    """``key.sub.0: message; other.key: message`` (``top`` names a problem of the whole document)."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or top}: {err['msg']}" for err in exc.errors())
