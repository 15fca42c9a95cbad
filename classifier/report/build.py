"""Assemble the report: aggregate the score files, compute intervals and the verdict, write HTML, CSV, PNG."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from classifier.readers import Record, read_conversations
from classifier.report import charts
from classifier.report.aggregate import Aggregate, Counts, aggregate
from classifier.report.page import render_page
from classifier.report.stats import Proportion, Verdict, verdict, wilson
from classifier.schema import RecordError

DEFAULT_LIMIT = 0.5
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
    function. show_text: show the evidence turns' text of the top flagged conversations, read from
    ``transcripts``. reader: read_conversations options for labels and transcripts."""

    scores: tuple[Path, ...]
    out: Path
    labels: tuple[str, ...] = ()
    limit: float = DEFAULT_LIMIT
    show_text: bool = False
    transcripts: tuple[str, ...] = ()
    reader: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.limit < 1:
            raise ValueError(f"limit must be between 0 and 1 (a share), got {self.limit}")
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


def read_labels(paths: Sequence[str], reader: dict[str, Any]) -> tuple[dict[str, str], int]:
    """id -> human label from labelled transcripts, and the count of records without a usable label."""
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
    return labels, without


def attach_texts(flagged: list[dict[str, Any]], paths: Sequence[str], reader: dict[str, Any]) -> None:
    """Adds ``texts`` {turn: text} for the evidence turns of ``flagged`` rows, found by source, else id."""
    by_source = {row.get("source"): row for row in flagged}
    by_id = {str(row["id"]): row for row in flagged}
    for item in read_conversations(paths, **reader):
        if not isinstance(item, Record):
            continue
        row = by_source.get(item.location) or by_id.get(item.conversation.id)
        if row is None or "texts" in row:
            continue
        turns = item.conversation.turns
        row["texts"] = {
            e["turn"]: turns[e["turn"]].text[:TEXT_CHARS]
            + ("…" if len(turns[e["turn"]].text) > TEXT_CHARS else "")
            for e in row.get("evidence") or []
            if 0 <= e["turn"] < len(turns)
        }


def group_rows(agg: Aggregate, dimension: str, title: str) -> list[TableRow]:
    groups = sorted(agg.groups.get(dimension, {}).items(), key=lambda kv: (-kv[1].n, kv[0]))
    shown, rest = groups[:MAX_GROUPS], groups[MAX_GROUPS:]
    rows = [TableRow(title, name, wilson(c.k, c.n)) for name, c in shown]
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
    labels, unlabelled_records = (None, 0)
    if options.labels:
        labels, unlabelled_records = read_labels(options.labels, options.reader)
    agg = aggregate(list(options.scores), labels)
    share = wilson(agg.total.k, agg.total.n)
    outcome = verdict(share, options.limit)
    table = [TableRow("all", "all conversations", share)]
    dims = agg.dimensions_present()
    by_dimension = {title: group_rows(agg, dim, title) for dim, title in dims}
    for rows in by_dimension.values():
        table.extend(rows)
    unit, series = periods(agg)
    flagged = agg.top_flagged()
    if options.show_text:
        attach_texts(flagged, options.transcripts, options.reader)

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
        table=table,
        dims=[title for _, title in dims],
        unit=unit,
        series=series,
        flagged=flagged,
        charts=charts_svg,
        metrics=label_metrics(agg),
        labels_without=unlabelled_records,
        files={"csv": table_csv.name, "png": table_png.name},
    )
    out.write_text(html, encoding="utf-8")
    return ReportResult(out, table_csv, table_png, share, outcome)
