"""Charts drawn with matplotlib's Agg backend (imported here, lazily: it is the ``report`` extra).

Each function returns an SVG string to inline in the page (fonts as paths, so no network or font files
are needed to view it), except ``table_png`` which writes the main table as a PNG file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classifier.model_config import format_threshold

GENERAL_COLOUR = "#c0392b"
BUSINESS_COLOUR = "#2e86c1"
LIMIT_COLOUR = "#7f8c8d"
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)  # RDF block naming matplotlib; not needed


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ValueError("scopeguard report needs matplotlib: pip install 'scopeguard[report]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False})  # fmt: skip
    return plt


def _svg(fig: Any) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inlined in HTML
    return _METADATA.sub("", text, count=1)


def share_bars(labels: Sequence[str], shares: Sequence[float], lows: Sequence[float],
               highs: Sequence[float], limit: float, title: str) -> str:  # fmt: skip
    """Horizontal bars of general-assistance share per group with 95% intervals and the limit."""
    plt = _pyplot()
    height = 0.8 + 0.28 * len(labels)
    fig, ax = plt.subplots(figsize=(7.0, height))
    y = list(range(len(labels)))[::-1]
    # max(0, .): at k == n (or 0) float rounding can put a bound a hair inside the point estimate
    err = [
        [max(0.0, s - lo) for s, lo in zip(shares, lows, strict=True)],
        [max(0.0, hi - s) for s, hi in zip(shares, highs, strict=True)],
    ]
    ax.barh(y, shares, xerr=err, color=GENERAL_COLOUR, alpha=0.8, ecolor="#333", capsize=2)
    ax.axvline(limit, color=LIMIT_COLOUR, linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of general_assistance flows (95% Wilson CI)")
    ax.set_title(f"{title} (dashed line: limit {limit:.0%})", loc="left")
    return _svg(fig)


def share_over_time(
    periods: Sequence[Any],
    shares: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    counts: Sequence[int],
    limit: float,
    unit: str,
) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    ax.fill_between(periods, lows, highs, color=GENERAL_COLOUR, alpha=0.18, label="95% CI", step=None)
    ax.plot(periods, shares, color=GENERAL_COLOUR, marker="o", markersize=3, label="share")
    ax.axhline(limit, color=LIMIT_COLOUR, linestyle="--", linewidth=1, label=f"limit {limit:.0%}")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylabel("general_assistance share")
    ax.set_title(f"Share by {unit} (conversations per {unit}: {min(counts)}–{max(counts)})", loc="left")
    ax.legend(loc="upper left", frameon=False, ncol=3)
    fig.autofmt_xdate()
    return _svg(fig)


def score_histogram(counts: dict[str, list[int]], thresholds: Sequence[float]) -> str:
    plt = _pyplot()
    bins = len(next(iter(counts.values())))
    edges = [i / bins for i in range(bins)]
    fig, ax = plt.subplots(figsize=(8.0, 3.0))
    bottom = [0] * bins
    for label, colour in (("business_support", BUSINESS_COLOUR), ("general_assistance", GENERAL_COLOUR)):
        values = counts.get(label, [0] * bins)
        ax.bar(
            edges, values, width=1 / bins, align="edge", bottom=bottom, color=colour, alpha=0.85, label=label
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for threshold in thresholds:
        ax.axvline(threshold, color="#111", linestyle="--", linewidth=1,
                   label=f"threshold {format_threshold(threshold)}")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xlabel("calibrated score")
    ax.set_ylabel("conversations")
    # the legend sits above the plot, so neither it nor the threshold's label covers a bar
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2 + len(thresholds))
    return _svg(fig)


def table_png(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], title: str) -> None:
    """The main table as a PNG image (for slides and tickets)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.0, 0.6 + 0.24 * (len(rows) + 1)))
    ax.axis("off")
    table = ax.table(
        cellText=[list(r) for r in rows], colLabels=list(header), loc="upper left", cellLoc="left"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.auto_set_column_width(list(range(len(header))))
    table.scale(1, 1.2)
    ax.set_title(title, loc="left")
    fig.savefig(path, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
