"""Assemble the report: aggregate the score files, compute intervals and the verdict, write HTML, CSV, PNG."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from classifier.pseudonym import Pseudonymiser
from classifier.readers import Record, read_conversations
from classifier.report import charts
from classifier.report.aggregate import NO_VALUE, Aggregate, Counts, aggregate
from classifier.report.page import render_page
from classifier.report.stats import Proportion, Verdict, conversations_to_settle, incomplete, verdict, wilson
from classifier.schema import RecordError
from classifier.scoring.accounting import RunManifest, summary_path

DEFAULT_LIMIT = 0.5
DEFAULT_MAX_UNSCORED = 0.05
# Dimensions that get a verdict of their own (the compliance question is asked per business and bot).
VERDICT_DIMENSIONS: tuple[tuple[str, str], ...] = (("meta.business", "Business"), ("meta.channel", "Channel"))
MAX_GROUPS = 25  # groups shown per dimension; the rest are summed into "other"
DAILY_MAX_DAYS = 62  # longer spans are shown by ISO week
TEXT_CHARS = 600
TABLE_CSV_SUFFIX = ".csv"
TABLE_PNG_SUFFIX = ".png"
TABLE_HEADER = ("dimension", "group", "conversations", "general_assistance", "share", "ci_low", "ci_high")


@dataclass(frozen=True)
class ReportOptions:
    """scores: score files (JSONL/CSV/Parquet). out: the HTML file (the CSV and PNG of the main table are
    written next to it with the same stem). labels: files with human labels (any input format; records
    without a label are ignored). limit: the share above which general assistance counts as the primary
    function. max_unscored: the share of records read that may be quarantined before a verdict below the
    limit stops being called clean. show_text: show the evidence turns' text (and the customer message
    before each) of the listed conversations, read from ``transcripts``. reader: read_conversations
    options for labels and transcripts. raw_ids/id_key: how the score files' ids were pseudonymised, to
    match ``labels`` and ``transcripts`` to them (``classifier.pseudonym``)."""

    scores: tuple[Path, ...]
    out: Path
    labels: tuple[str, ...] = ()
    limit: float = DEFAULT_LIMIT
    max_unscored: float = DEFAULT_MAX_UNSCORED
    show_text: bool = False
    transcripts: tuple[str, ...] = ()
    reader: dict[str, Any] = field(default_factory=dict)
    raw_ids: bool = False
    id_key: Path | None = None

    def __post_init__(self) -> None:
        if not 0 < self.limit < 1:
            raise ValueError(f"limit must be between 0 and 1 (a share), got {self.limit}")
        if not 0 <= self.max_unscored < 1:
            raise ValueError(f"max_unscored must be a share in [0, 1), got {self.max_unscored}")
        if self.show_text and not self.transcripts:
            raise ValueError("--show-text needs --transcripts INPUT... (the files that were scored)")
        if not self.scores:
            raise ValueError("no score files given")
        if self.out.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"--out must be an .html file, got {self.out}")


@dataclass(frozen=True)
class ReportResult:
    html: Path
    table_csv: Path
    table_png: Path
    share: Proportion
    verdict: Verdict
    groups: list[GroupVerdict] = field(default_factory=list)
    accounting: InputAccounting | None = None


@dataclass(frozen=True)
class TableRow:
    dimension: str
    group: str
    share: Proportion

    def cells(self) -> list[str]:
        p = self.share
        return [
            self.dimension,
            self.group,
            str(p.n),
            str(p.k),
            f"{p.share:.4f}",
            f"{p.low:.4f}",
            f"{p.high:.4f}",
        ]


def read_labels(
    paths: Sequence[str], reader: dict[str, Any], pseudo: Pseudonymiser | None = None
) -> tuple[dict[str, str], int]:
    """id -> human label from labelled transcripts (keyed by the raw and the pseudonymised id, so score
    files of either kind match), and the count of records without a usable label."""
    labels: dict[str, str] = {}
    where: dict[str, str] = {}
    without = 0
    for item in read_conversations(paths, **reader):
        if isinstance(item, RecordError) or item.conversation.label is None:
            without += 1
            continue
        conv = item.conversation
        label: str = item.conversation.label
        if conv.id in labels and labels[conv.id] != label:
            raise ValueError(
                f"{item.location}: id {conv.id} is labelled {label} here but {labels[conv.id]} at "
                f"{where[conv.id]}; ids must be unique in --labels"
            )
        labels[conv.id] = label
        where[conv.id] = item.location
        if pseudo is not None:
            labels.setdefault(pseudo.text(conv.id), label)
    return labels, without


def _clip(text: str) -> str:
    return text[:TEXT_CHARS] + ("…" if len(text) > TEXT_CHARS else "")


def _customer_before(turns: Sequence[Any], index: int) -> tuple[int, str] | None:
    """The last customer (user) turn before ``index``: what the evidence turn answered."""
    for j in range(index - 1, -1, -1):
        if turns[j].role == "user":
            return j, _clip(turns[j].text)
    return None


def attach_texts(
    listed: list[dict[str, Any]], paths: Sequence[str], reader: dict[str, Any], pseudo: Pseudonymiser
) -> None:
    """Adds ``texts`` {turn: text} and ``context`` {turn: (customer turn, text)} for the evidence turns of
    ``listed`` rows, found by source, else id (raw or pseudonymised, as the score files hold them)."""
    by_source = {row.get("source"): row for row in listed}
    by_id = {str(row["id"]): row for row in listed}
    for item in read_conversations(paths, **reader):
        if not isinstance(item, Record):
            continue
        conv = item.conversation
        row = next(
            (
                found
                for found in (
                    by_source.get(item.location),
                    by_source.get(pseudo.text(item.location)),
                    by_id.get(conv.id),
                    by_id.get(pseudo.text(conv.id)),
                )
                if found is not None
            ),
            None,
        )
        if row is None or "texts" in row:
            continue
        turns = conv.turns
        evidence = [e["turn"] for e in row.get("evidence") or [] if 0 <= e["turn"] < len(turns)]
        row["texts"] = {t: _clip(turns[t].text) for t in evidence}
        row["context"] = {t: _customer_before(turns, t) for t in evidence if turns[t].role != "user"}


@dataclass(frozen=True)
class GroupVerdict:
    """The verdict of one business (or channel): its share, interval, outcome and, when inconclusive, the
    number of conversations that would settle it at the observed rate."""

    dimension: str
    group: str
    share: Proportion
    outcome: str
    settle: int | None


def group_verdicts(agg: Aggregate, limit: float) -> list[GroupVerdict]:
    """A verdict per business and per channel (where the score rows name them), riskiest first."""
    result = []
    for dimension, title in VERDICT_DIMENSIONS:
        groups = agg.groups.get(dimension, {})
        if not set(groups) - {NO_VALUE}:
            continue
        rows = []
        for name, counts in groups.items():
            share = wilson(counts.k, counts.n)
            outcome = verdict(share, limit).outcome
            settle = conversations_to_settle(share, limit) if outcome == "inconclusive" else None
            rows.append(GroupVerdict(title, name, share, outcome, settle))
        result.extend(sorted(rows, key=_risk))
    return result


def _risk(row: GroupVerdict | TableRow) -> tuple[float, float, str]:
    """Sort key: highest share first, then the highest upper bound."""
    p = row.share
    return (-(p.share if p.n else -1.0), -(p.high if p.n else -1.0), row.group)


@dataclass(frozen=True)
class InputAccounting:
    """What ``scopeguard score`` recorded about the runs behind the score files (their summary sidecars)."""

    manifests: list[tuple[Path, RunManifest]]
    missing: list[Path]  # score files without a summary sidecar

    @property
    def read(self) -> int:
        return sum(m.read for _, m in self.manifests)

    @property
    def quarantined(self) -> int:
        return sum(m.quarantined for _, m in self.manifests)

    def period(self) -> tuple[str, str] | None:
        periods = [m.period for _, m in self.manifests if m.period is not None]
        if not periods:
            return None
        return min(p.first for p in periods), max(p.last for p in periods)


def read_accounting(scores: Sequence[Path]) -> InputAccounting:
    manifests, missing, seen = [], [], set()
    for path in scores:
        sidecar = summary_path(path)
        if sidecar.resolve() in seen:
            continue  # the same score file given twice: its run is accounted once
        seen.add(sidecar.resolve())
        if sidecar.is_file():
            manifests.append((sidecar, RunManifest.load(sidecar)))
        else:
            missing.append(path)
    return InputAccounting(manifests, missing)


def group_rows(agg: Aggregate, dimension: str, title: str) -> list[TableRow]:
    """The largest MAX_GROUPS groups sorted by risk (highest share first), the rest summed as "other"."""
    groups = sorted(agg.groups.get(dimension, {}).items(), key=lambda kv: (-kv[1].n, kv[0]))
    shown, rest = groups[:MAX_GROUPS], groups[MAX_GROUPS:]
    rows = sorted((TableRow(title, name, wilson(c.k, c.n)) for name, c in shown), key=_risk)
    if rest:
        other = Counts(sum(c.n for _, c in rest), sum(c.k for _, c in rest))
        rows.append(TableRow(title, f"other ({len(rest)} groups)", wilson(other.k, other.n)))
    return rows


def periods(agg: Aggregate) -> tuple[str, list[tuple[date, Proportion]]]:
    """("day"|"week", [(period start, share)]) from the per-day counts."""
    if not agg.days:
        return "day", []
    days = sorted(agg.days)
    if (days[-1] - days[0]).days <= DAILY_MAX_DAYS:
        return "day", [(d, wilson(agg.days[d].k, agg.days[d].n)) for d in days]
    weeks: dict[date, Counts] = {}
    for d in days:
        start = d - timedelta(days=d.weekday())
        counts = weeks.setdefault(start, Counts())
        counts.n += agg.days[d].n
        counts.k += agg.days[d].k
    return "week", [(w, wilson(c.k, c.n)) for w, c in sorted(weeks.items())]


def label_metrics(agg: Aggregate) -> dict[str, Any] | None:
    conf = agg.confusion
    if conf is None:
        return None
    precision = wilson(conf.tp, conf.tp + conf.fp)
    recall = wilson(conf.tp, conf.tp + conf.fn)
    p, r = precision.share, recall.share
    f1 = 2 * p * r / (p + r) if conf.tp else 0.0
    truth_share = wilson(conf.tp + conf.fn, conf.matched)
    return {"confusion": conf, "precision": precision, "recall": recall, "f1": f1, "truth_share": truth_share}


def write_table_csv(path: Path, rows: Sequence[TableRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TABLE_HEADER)
        writer.writerows(row.cells() for row in rows)


def build_report(options: ReportOptions) -> ReportResult:
    pseudo = Pseudonymiser.from_settings(options.raw_ids, options.id_key)
    labels, unlabelled_records = (None, 0)
    if options.labels:
        labels, unlabelled_records = read_labels(options.labels, options.reader, pseudo)
    accounting = read_accounting(options.scores)
    agg = aggregate(list(options.scores), labels)
    share = wilson(agg.total.k, agg.total.n)
    outcome = incomplete(
        verdict(share, options.limit), accounting.quarantined, accounting.read, options.max_unscored
    )
    groups = group_verdicts(agg, options.limit)
    table = [TableRow("all", "all conversations", share)]
    dims = agg.dimensions_present()
    by_dimension = {title: group_rows(agg, dim, title) for dim, title in dims}
    for rows in by_dimension.values():
        table.extend(rows)
    unit, series = periods(agg)
    flagged = agg.top_flagged()
    borderline = agg.borderline()
    if options.show_text:
        attach_texts(flagged + borderline, options.transcripts, options.reader, pseudo)

    charts_svg = _charts(agg, options, unit, series, by_dimension)
    out = options.out
    out.parent.mkdir(parents=True, exist_ok=True)
    table_csv = out.with_suffix(TABLE_CSV_SUFFIX)
    table_png = out.with_suffix(TABLE_PNG_SUFFIX)
    write_table_csv(table_csv, table)
    charts.table_png(table_png, TABLE_HEADER, [r.cells() for r in table], "general_assistance share by group")
    html = render_page(
        options=options,
        agg=agg,
        share=share,
        outcome=outcome,
        groups=groups,
        accounting=accounting,
        table=table,
        dims=[title for _, title in dims],
        unit=unit,
        series=series,
        flagged=flagged,
        borderline=borderline,
        charts=charts_svg,
        metrics=label_metrics(agg),
        labels_without=unlabelled_records,
        files={"csv": table_csv.name, "png": table_png.name},
    )
    out.write_text(html, encoding="utf-8")
    return ReportResult(out, table_csv, table_png, share, outcome, groups, accounting)


def _charts(
    agg: Aggregate,
    options: ReportOptions,
    unit: str,
    series: list[tuple[date, Proportion]],
    by_dimension: dict[str, list[TableRow]],
) -> dict[str, str]:
    charts_svg: dict[str, str] = {}
    if series:
        charts_svg["time"] = charts.share_over_time(
            [d for d, _ in series], [p.share for _, p in series], [p.low for _, p in series],
            [p.high for _, p in series], [p.n for _, p in series], options.limit, unit,
        )  # fmt: skip
    for title, rows in by_dimension.items():
        charts_svg[title] = charts.share_bars(
            [r.group for r in rows], [r.share.share for r in rows], [r.share.low for r in rows],
            [r.share.high for r in rows], options.limit, f"By {title.lower()}",
        )  # fmt: skip
    charts_svg["histogram"] = charts.score_histogram(agg.histogram, sorted(agg.thresholds))
    return charts_svg
