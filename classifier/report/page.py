"""The HTML page: inline CSS and inline SVG charts, no script, nothing fetched from the network."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:60rem;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.muted{color:#666;font-size:.9rem}
.verdict{border-radius:6px;padding:1rem 1.2rem;margin:1.2rem 0;border-left:6px solid}
.verdict.below{background:#eaf5ea;border-color:#2e7d32}.verdict.above{background:#fdecea;border-color:#c62828}
.verdict.inconclusive{background:#fff8e1;border-color:#f9a825}
.verdict strong{font-size:1.15rem;display:block;margin-bottom:.3rem}
table{border-collapse:collapse;font-size:.88rem;margin:.6rem 0}th,td{padding:.25rem .6rem;text-align:left;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f6f6f6}td.num{text-align:right;
font-variant-numeric:tabular-nums}
.note{background:#f4f6f8;padding:.6rem .9rem;border-radius:4px;font-size:.9rem}
.turn{font-size:.85rem;margin:.15rem 0}.turn .role{font-weight:600}
svg{max-width:100%;height:auto}
"""
SHARE_HEADER = ("conversations", "general_assistance", "share", "95% CI")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"  # NaN-safe


def _ci(p: Any) -> str:
    return f"{_pct(p.low)} – {_pct(p.high)}"


def _row(cells: Sequence[Any], *, header: bool = False, numeric_from: int = 1) -> str:
    tag = "th" if header else "td"
    parts = []
    for i, cell in enumerate(cells):
        cls = " class=num" if not header and i >= numeric_from else ""
        parts.append(f"<{tag}{cls}>{cell}</{tag}>")
    return "<tr>" + "".join(parts) + "</tr>"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    body = "".join(_row(r, numeric_from=numeric_from) for r in rows)
    return f"<table>{_row([_e(h) for h in header], header=True)}{body}</table>"


def _share_cells(name: str, p: Any) -> list[str]:
    return [_e(name), str(p.n), str(p.k), _pct(p.share), _ci(p)]


def _time_section(unit: str, series: list[Any], charts: dict[str, str], agg: Any) -> str:
    if not series:
        return (
            "<h2>Share over time</h2><p class=note><strong>No timestamps.</strong> None of the scored "
            "conversations has a timestamp (<code>ts</code>), so the share cannot be shown over time. "
            "Inputs with times (WhatsApp exports, wa-cloud, CSV/JSONL with <code>ts</code>) enable this "
            "section.</p>"
        )
    missing = ""
    if agg.without_ts:
        missing = f"<p class=muted>{agg.without_ts} conversations without a timestamp are not shown here.</p>"
    first = "day" if unit == "day" else "week starting"
    table = _table([first, *SHARE_HEADER], [_share_cells(d.isoformat(), p) for d, p in series])
    return (
        f"<h2>Share over time (by {unit})</h2>{charts['time']}{missing}"
        f"<details><summary>table</summary>{table}</details>"
    )


def _evidence_html(row: dict[str, Any], show_text: bool) -> str:
    parts = []
    for e in row.get("evidence") or []:
        text = ""
        if show_text:
            found = (row.get("texts") or {}).get(e["turn"])
            text = f": {_e(found)}" if found is not None else ": <em>(transcript not found)</em>"
        head = f"turn {e['turn']} ({_e(e['role'])}, {e['score']:.3f})"
        parts.append(f"<div class=turn><span class=role>{head}</span>{text}</div>")
    return "".join(parts)


def _flagged_section(flagged: list[dict[str, Any]], show_text: bool) -> str:
    title = "<h2>Top flagged conversations</h2>"
    if not flagged:
        return f"{title}<p>No conversation was classified general_assistance.</p>"
    if show_text:
        note = "Evidence turn texts are shown (<code>--show-text</code>)."
    else:
        note = (
            "Transcript text is not shown; run with <code>--show-text --transcripts INPUT...</code> to "
            "include the evidence turns."
        )
    rows = [
        [
            _e(r["id"]),
            f"{r['score']:.3f}",
            _evidence_html(r, show_text),
            f"<span class=muted>{_e(r.get('source') or '')}",
        ]
        for r in flagged
    ]
    return (
        f"{title}<p class=muted>The {len(flagged)} highest-scoring conversations classified "
        f"general_assistance, with the turns that raised their score. {note}</p>"
        + _table(["id", "score", "evidence turns", "source"], rows)
    )


def _labels_section(metrics: dict[str, Any] | None, labels_without: int) -> str:
    if metrics is None:
        return ""
    c = metrics["confusion"]
    p, r, truth = metrics["precision"], metrics["recall"], metrics["truth_share"]
    skipped = ""
    if labels_without:
        skipped = f" {labels_without} records in the label files had no label or could not be read."
    confusion = _table(
        ["", "human general_assistance", "human business_support"],
        [
            ["<b>predicted general_assistance</b>", c.tp, c.fp],
            ["<b>predicted business_support</b>", c.fn, c.tn],
        ],
    )
    scores = _table(
        ["metric", "value", "95% CI"],
        [
            ["precision", _pct(p.share), _ci(p)],
            ["recall", _pct(r.share), _ci(r)],
            ["F1", _pct(metrics["f1"]), ""],
            ["human-labelled general_assistance share", _pct(truth.share), _ci(truth)],
        ],
    )
    return (
        f"<h2>Agreement with human labels</h2><p>{c.matched} scored conversations have a human label "
        f"({c.unlabelled} scored conversations have none).{skipped} Positive class: general_assistance.</p>"
        f"{confusion}{scores}"
    )


def _uncertainty(has_labels: bool) -> str:
    errors = (
        "; the precision and recall below show how large those are on the human-labelled conversations."
        if has_labels
        else "; compare with human labels (<code>--labels</code>) and the model card to judge those."
    )
    return (
        "The 95% interval (Wilson) covers sampling uncertainty: how much the share could differ on "
        "another sample of conversations from the same traffic. It treats each predicted label as "
        f"correct, so it does not include the classifier's own errors{errors} Conversations are counted "
        "as flows: one general answer inside a support flow makes that flow general_assistance."
    )


def render_page(
    *,
    options: Any,
    agg: Any,
    share: Any,
    outcome: Any,
    table: list[Any],
    dims: list[str],
    unit: str,
    series: list[Any],
    flagged: list[dict[str, Any]],
    charts: dict[str, str],
    metrics: dict[str, Any] | None,
    labels_without: int,
    files: dict[str, str],
) -> str:
    models = ", ".join(f"{_e(m)} ({n})" for m, n in agg.models.most_common()) or "unknown"
    thresholds = ", ".join(f"{t:.3f}" for t in sorted(agg.thresholds)) or "unknown"
    sources = ", ".join(_e(p) for p in options.scores)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    breakdown = (
        "".join(
            f"<h3>By {_e(title.lower())}</h3>{charts[title]}"
            + _table(
                [title, *SHARE_HEADER],
                [_share_cells(r.group, r.share) for r in table if r.dimension == title],
            )
            for title in dims
        )
        or "<p class=muted>The score files carry no language or meta fields to break the share down by.</p>"
    )
    summary = _table(
        ["", "value"],
        [
            ["<b>conversations scored</b>", agg.total.n],
            ["<b>classified general_assistance</b>", agg.total.k],
            ["<b>share (95% CI)</b>", f"{_pct(share.share)} ({_ci(share)})"],
            ["<b>limit</b>", f"{options.limit:.0%}"],
        ],
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>scopeguard report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>
<h1>scopeguard report</h1>
<p class=muted>Generated {generated} from {sources}. Model: {models}. Threshold: {thresholds}.</p>
<div class="verdict {outcome.outcome}"><strong>{_e(outcome.headline)}</strong>{_e(outcome.explanation)}</div>
<p><strong>What this means.</strong> The WhatsApp Business terms forbid general-purpose AI as the
<em>primary</em> functionality of a bot on the Business Solution. This report measures it as the share of
conversations (flows) in which the bot acted as a general-purpose assistant, compared with a limit of
{options.limit:.0%} (<code>--limit</code>). When the whole interval is below the limit, the data supports
"bounded business support"; when it is above, it does not; an interval containing the limit cannot decide.</p>
<p class=note><strong>Uncertainty.</strong> {_uncertainty(metrics is not None)}</p>
<h2>Summary</h2>{summary}
<p class=muted>The main table is also in <code>{_e(files["csv"])}</code> and <code>{_e(files["png"])}</code>
next to this file.</p>
{_time_section(unit, series, charts, agg)}
<h2>Breakdown</h2>{breakdown}
<h2>Score distribution</h2>{charts["histogram"]}
<p class=muted>Calibrated scores of all conversations, stacked by predicted label; the dashed line is the
decision threshold (general_assistance at or above it).</p>
{_flagged_section(flagged, options.show_text)}
{_labels_section(metrics, labels_without)}
</body></html>
"""
