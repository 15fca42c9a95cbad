"""Proportions with 95% Wilson score intervals, and the verdict on the share of general assistance."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.k / self.n if self.n else math.nan


def wilson(k: int, n: int, z: float = Z_95) -> Proportion:
    """k successes out of n with the Wilson score interval (good near 0 and 1 and for small n)."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Proportion(0, 0, math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the interval always contains k/n; clamp rounding noise at k == 0 and k == n
    return Proportion(k, n, min(max(0.0, centre - half), p), max(min(1.0, centre + half), p))


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "below", "above" or "inconclusive"
    headline: str
    explanation: str


def verdict(share: Proportion, limit: float) -> Verdict:
    """Whether general assistance is the primary function: the share's 95% interval against ``limit``."""
    if share.n == 0:
        return Verdict("inconclusive", "No conversations were scored.", "There is nothing to judge.")
    pct = f"{share.share:.1%} (95% CI {share.low:.1%} to {share.high:.1%}, {share.k} of {share.n} flows)"
    if share.high < limit:
        return Verdict(
            "below",
            "General assistance is NOT the primary function of this bot.",
            f"{pct} were classified general_assistance; the whole interval is below the {limit:.0%} limit.",
        )
    if share.low > limit:
        return Verdict(
            "above",
            "General assistance IS the primary function of this bot.",
            f"{pct} were classified general_assistance; the whole interval is above the {limit:.0%} limit.",
        )
    return Verdict(
        "inconclusive",
        "Inconclusive: the data cannot tell whether general assistance is the primary function.",
        f"{pct} were classified general_assistance; the interval contains the {limit:.0%} limit, so "
        "more conversations are needed to decide.",
    )


def conversations_to_settle(share: Proportion, limit: float, z: float = Z_95) -> int | None:
    """How many conversations the interval needs to exclude ``limit`` if the share stays as observed.

    The Wilson interval is the set of p with (p̂ - p)² <= z² p(1 - p) / n, so it excludes the limit L
    exactly when n > z² L(1 - L) / (p̂ - L)². Returns the smallest such n (the total, not the extra
    ones), or None when p̂ equals L (no sample size settles it) or nothing was observed.
    """
    if share.n == 0 or share.share == limit:
        return None
    bound = z * z * limit * (1 - limit) / (share.share - limit) ** 2
    return math.floor(bound) + 1


def incomplete(outcome: Verdict, unscored: int, read: int, max_unscored: float) -> Verdict:
    """``outcome`` unless more than ``max_unscored`` of the records read could not be scored: then a
    "below the limit" verdict cannot be called clean."""
    if read == 0 or unscored / read <= max_unscored or outcome.outcome != "below":
        return outcome
    return Verdict(
        "incomplete",
        f"Not clean: {unscored} of {read} records ({unscored / read:.1%}) could not be scored.",
        f"{outcome.explanation} But more than {max_unscored:.0%} of the records read were quarantined "
        "(--max-unscored), and the verdict says nothing about them: fix and rescore them first.",
    )
