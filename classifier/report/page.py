"""The HTML page: inline CSS and inline SVG charts, no script, nothing fetched from the network."""

from __future__ import annotations

import html
from collections.abc import Container, Sequence
from datetime import UTC, datetime
from typing import Any

from classifier.model_config import format_threshold

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
.turn{font-size:.85rem;margin:.15rem 0;text-align:left}.turn .role{font-weight:600}
.turn .asked{color:#555;border-left:3px solid #ccc;padding-left:.4rem;margin:.1rem 0}
.warning{background:#fff3e0;border-left:6px solid #ef6c00;padding:.6rem .9rem;border-radius:4px;
margin:.8rem 0}
.verdict.incomplete{background:#fff3e0;border-color:#ef6c00}
.pooled{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:#555;margin-bottom:.2rem}
span.below{color:#2e7d32}span.above{color:#c62828;font-weight:600}span.inconclusive{color:#a66b00}
svg{max-width:100%;height:auto}
"""
SHARE_HEADER = ("conversations", "general_assistance", "share", "95% CI")
NUMERIC = range(1, 5)  # the count and share columns of share tables
OUTCOME_WORDS = {
    "below": "not the primary function",
    "above": "the primary function",
    "inconclusive": "inconclusive",
}
TURN_NUMBERING = (
    "Turn numbers are 0-based positions in the conversation as it was read: the first turn is turn 0 and "
    "every turn counts, system turns (bot configuration) included. They are the <code>evidence[].turn</code> "
    "values of the score files and of the HTTP API."
)
NO_LANGUAGE = (
    "<p class=muted>(none): the record has no <code>lang</code> field. scopeguard does not guess languages; "
    "add <code>lang</code> (BCP-47) to the input, or a <code>lang</code> in the whatsapp-txt sidecar, to "
    "break these down.</p>"
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"  # NaN-safe


def _ci(p: Any) -> str:
    return f"{_pct(p.low)} – {_pct(p.high)}"


def _row(cells: Sequence[Any], *, header: bool = False, numeric: Container[int] = NUMERIC) -> str:
    """One table row; ``numeric`` columns are right-aligned, every other cell reads as text (left)."""
    tag = "th" if header else "td"
    parts = []
    for i, cell in enumerate(cells):
        cls = " class=num" if not header and i in numeric else ""
        parts.append(f"<{tag}{cls}>{cell}</{tag}>")
    return "<tr>" + "".join(parts) + "</tr>"


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Container[int] = NUMERIC, css: str = ""
) -> str:
    body = "".join(_row(r, numeric=numeric) for r in rows)
    cls = f" class={css}" if css else ""
    return f"<table{cls}>{_row([_e(h) for h in header], header=True)}{body}</table>"


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


def _asked(row: dict[str, Any], turn: int) -> str:
    context = (row.get("context") or {}).get(turn)
    if context is None:
        return ""
    index, text = context
    return f"<div class=asked>customer, turn {index}: {_e(text)}</div>"


def _evidence_html(row: dict[str, Any], show_text: bool) -> str:
    parts = []
    for e in row.get("evidence") or []:
        text = ""
        if show_text:
            found = (row.get("texts") or {}).get(e["turn"])
            said = f": {_e(found)}" if found is not None else ": <em>(transcript not found)</em>"
            text = said
        head = f"turn {e['turn']} ({_e(e['role'])}, {e['score']:.3f})"
        asked = _asked(row, e["turn"]) if show_text else ""
        parts.append(f"<div class=turn>{asked}<span class=role>{head}</span>{text}</div>")
    return "".join(parts)


def _conversation_rows(rows: list[dict[str, Any]], show_text: bool) -> str:
    cells = [
        [
            _e(r["id"]),
            f"{r['score']:.3f}",
            _e(r.get("label") or ""),
            _evidence_html(r, show_text),
            f"<span class=muted>{_e(r.get('source') or '')}</span>",
        ]
        for r in rows
    ]
    return _table(["id", "score", "label", "evidence turns", "source"], cells, numeric={1})


def _flagged_section(flagged: list[dict[str, Any]], borderline: list[dict[str, Any]], show_text: bool) -> str:
    title = "<h2>Top flagged conversations</h2>"
    if show_text:
        note = (
            "Evidence turn texts are shown (<code>--show-text</code>), each after the customer message it "
            "answered."
        )
    else:
        note = (
            "Transcript text is not shown; run with <code>--show-text --transcripts INPUT...</code> to "
            "include the evidence turns and the customer messages they answered."
        )
    numbering = f"<p class=muted>{TURN_NUMBERING}</p>"
    if flagged:
        top = (
            f"<p class=muted>The {len(flagged)} highest-scoring conversations classified general_assistance, "
            f"with the turns that raised their score. {note}</p>" + _conversation_rows(flagged, show_text)
        )
    else:
        top = "<p>No conversation was classified general_assistance.</p>"
    near = ""
    if borderline:
        near = (
            "<h3>Borderline conversations</h3><p class=muted>The "
            f"{len(borderline)} conversations scored nearest the threshold, on either side: where a "
            "reviewer's judgement matters most.</p>" + _conversation_rows(borderline, show_text)
        )
    return f"{title}{numbering}{top}{near}"


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


def _groups_section(groups: list[Any], limit: float) -> str:
    if not groups:
        return (
            "<h2>Verdict per business</h2><p class=muted>The score rows name no business or channel "
            "(<code>meta.business</code>, <code>meta.channel</code>), so only the pooled verdict above can "
            "be given.</p>"
        )
    rows = []
    for g in groups:
        p = g.share
        settle = ""
        if g.outcome == "inconclusive":
            settle = (
                f"about {g.settle} reviewed conversations ({max(g.settle - p.n, 0)} more)"
                if g.settle is not None
                else "not at this share (equal to the limit)"
            )
        rows.append(
            [_e(g.dimension), _e(g.group), p.n, p.k, _pct(p.share), _ci(p),
             f"<span class={g.outcome}>{OUTCOME_WORDS[g.outcome]}</span>", settle]
        )  # fmt: skip
    table = _table(
        ["by", "group", *SHARE_HEADER, "verdict", "would settle it"], rows, numeric=range(2, 6), css="groups"
    )
    return (
        "<h2>Verdict per business</h2><p>The compliance question is asked per bot and per business, so "
        "each business (and each channel) gets its own verdict against the same limit, riskiest first. "
        "<em>Would settle it</em>: how many conversations the interval needs to exclude the "
        f"{limit:.0%} limit if the share stays as observed (n &gt; z² L(1−L) / (p̂ − L)², "
        "docs/SCORING.md).</p>" + table
    )


def _accounting_section(accounting: Any, agg: Any) -> str:
    parts = ["<h2>Accounting: what was read, scored and left out</h2>"]
    rows = []
    for sidecar, m in accounting.manifests:
        for f in m.files:
            rows.append([_e(f.file), f.read, f.scored, f.quarantined, f.skipped])
        if len(accounting.manifests) > 1:
            rows.append(
                [f"<b>run {_e(sidecar.name)}</b>", m.read, m.scored, m.quarantined, sum(m.skipped.values())]
            )
    if rows:
        parts.append(
            _table(["input file", "read", "scored", "quarantined", "skipped by rule"], rows, range(1, 5))
        )
        parts.append(
            "<p class=muted>read = scored + quarantined for every file (from the "
            "<code>.summary.json</code> that <code>scopeguard score</code> writes beside its output). "
            "Skipped by rule: input that is not a record by a documented reader rule (delivery receipts, "
            "system notices; docs/FORMATS.md).</p>"
        )
    for path in accounting.missing:
        parts.append(
            f"<p class=warning>No accounting for <code>{_e(path)}</code>: its "
            "<code>.summary.json</code> is missing, so how many records were read or quarantined is "
            "unknown. Rescore with <code>scopeguard score</code> to get it.</p>"
        )
    dups = agg.duplicates
    if dups.dropped:
        listed = "".join(
            f"<li><code>{_e(i)}</code>: dropped {', '.join(_e(w) for w in where)}</li>"
            for i, where in dups.listed.items()
        )
        more = "" if len(dups.listed) >= dups.dropped else "<li>…</li>"
        parts.append(
            f"<p class=warning>{dups.dropped} rows repeat an id seen in an earlier row: each conversation is "
            f"counted once (its last row); the earlier rows were dropped:</p><ul>{listed}{more}</ul>"
        )
    return "".join(parts)


def _warnings(accounting: Any) -> str:
    if not accounting.quarantined:
        return ""
    q, read = accounting.quarantined, accounting.read
    files = ", ".join(sorted({_e(m.quarantine) for _, m in accounting.manifests if m.quarantine}))
    return (
        f"<p class=warning><strong>{q} of {read} records ({q / read:.1%}) could not be scored</strong> "
        f"and are not part of any verdict below. Their reasons are in the quarantine file ({files}); see "
        "the accounting section.</p>"
    )


def _provenance(options: Any, agg: Any, accounting: Any) -> str:
    models = ", ".join(f"{_e(m)} ({n})" for m, n in agg.models.most_common()) or "unknown"
    thresholds = ", ".join(format_threshold(t) for t in sorted(agg.thresholds)) or "unknown"
    computes = ", ".join(sorted({_e(m.compute) for _, m in accounting.manifests if m.compute}))
    products = f" <b>Products:</b> {computes}." if computes else ""
    sources = ", ".join(_e(p) for p in options.scores)
    inputs = sorted({_e(i) for _, m in accounting.manifests for i in m.inputs})
    period = accounting.period()
    if period is None and agg.days:
        period = (min(agg.days).isoformat(), max(agg.days).isoformat())
    period_text = f"{_e(period[0])} to {_e(period[1])}" if period else "unknown (no timestamps)"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<p class=muted>Generated {generated} from the score files {sources}"
        + (f", scored from {', '.join(inputs)}" if inputs else "")
        + f". <b>Period covered:</b> {period_text}. <b>Model:</b> {models}. "
        f"<b>Threshold:</b> {thresholds}.{products}</p>"
    )


def _verdict_box(outcome: Any, groups: list[Any], total: int) -> str:
    businesses = sum(1 for g in groups if g.dimension == "Business")
    label = f"Pooled over all {total} conversations"
    if businesses > 1:
        label += f" of {businesses} businesses; each business has its own verdict below"
    return (
        f'<div class="verdict {outcome.outcome}"><div class=pooled>{_e(label)}</div>'
        f"<strong>{_e(outcome.headline)}</strong>{_e(outcome.explanation)}</div>"
    )


def _breakdown(table: list[Any], dims: list[str], charts: dict[str, str]) -> str:
    parts = []
    for title in dims:
        rows = [r for r in table if r.dimension == title]
        note = NO_LANGUAGE if title == "Language" and any(r.group == "(none)" for r in rows) else ""
        parts.append(
            f"<h3>By {_e(title.lower())}</h3><p class=muted>Sorted by risk: highest share first.</p>"
            f"{charts[title]}{note}"
            + _table([title, *SHARE_HEADER], [_share_cells(r.group, r.share) for r in rows])
        )
    return (
        "".join(parts)
        or "<p class=muted>The score files carry no language or meta fields to break the share down by.</p>"
    )


def render_page(
    *,
    options: Any,
    agg: Any,
    share: Any,
    outcome: Any,
    groups: list[Any],
    accounting: Any,
    table: list[Any],
    dims: list[str],
    unit: str,
    series: list[Any],
    flagged: list[dict[str, Any]],
    borderline: list[dict[str, Any]],
    charts: dict[str, str],
    metrics: dict[str, Any] | None,
    labels_without: int,
    files: dict[str, str],
) -> str:
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
{_provenance(options, agg, accounting)}
{_warnings(accounting)}
{_verdict_box(outcome, groups, agg.total.n)}
<p><strong>What this means.</strong> The WhatsApp Business terms forbid general-purpose AI as the
<em>primary</em> functionality of a bot on the Business Solution. This report measures it as the share of
conversations (flows) in which the bot acted as a general-purpose assistant, compared with a limit of
{options.limit:.0%} (<code>--limit</code>). When the whole interval is below the limit, the data supports
"bounded business support"; when it is above, it does not; an interval containing the limit cannot decide.</p>
<p class=note><strong>Uncertainty.</strong> {_uncertainty(metrics is not None)}</p>
{_groups_section(groups, options.limit)}
<h2>Summary</h2>{summary}
<p class=muted>The main table is also in <code>{_e(files["csv"])}</code> and <code>{_e(files["png"])}</code>
next to this file.</p>
{_accounting_section(accounting, agg)}
{_time_section(unit, series, charts, agg)}
<h2>Breakdown</h2>{_breakdown(table, dims, charts)}
<h2>Score distribution</h2>{charts["histogram"]}
<p class=muted>Calibrated scores of all conversations, stacked by predicted label; the dashed line is the
decision threshold (general_assistance at or above it).</p>
{_flagged_section(flagged, borderline, options.show_text)}
{_labels_section(metrics, labels_without)}
</body></html>
"""
