"""Score conversations with PySpark: ``score_dataframe(df, model_dir)`` (the engine of ``--engine spark``).

PySpark is optional (``pip install 'scopeguard[spark]'``) and imported only inside these functions.

``score_dataframe`` takes a DataFrame of conversations, either

- raw JSON Lines: a string column ``value`` (one record per row, schema v1 or, with ``fmt="openai"``, the
  OpenAI chat format) and optionally ``source`` (string) and ``line`` (long) to locate it; or
- schema-v1 columns (``id``, ``turns``, optional ``label``, ``lang``, ``meta``), turned into JSON first,

and returns one row per input row, in the same order, with the columns of the local score output
(``id, label, score, threshold, model, evidence, source, lang, ts, meta``) plus ``error``: null for a
scored conversation, the problem for an unusable record (its ``label``/``score`` are then null). Rows are
scored with ``mapInPandas``; each executor Python worker loads the model once (a module-level cache keyed
by model folder) and scores exactly as the local path does (same parsing, rendering, batch size), so the
results are identical. The model folder must be readable at the same path on every executor: a shared
filesystem, or ``--archives model.zip#model`` with ``model_dir="model"`` (docs/SPARK.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from classifier.inference import Classifier
from classifier.model_config import ModelConfig
from classifier.readers import Record, detect_format, expand_paths
from classifier.readers.base import _decode, max_line_bytes
from classifier.readers.jsonl import decode_json_line
from classifier.readers.openai import openai_to_record
from classifier.schema import DEFAULT_LIMITS, Limits, RecordError, parse_conversation
from classifier.scoring.accounting import DUPLICATE_REASON
from classifier.scoring.rows import META_KEYS, PROFILE_KEYS, quarantine_row, score_row

SPARK_FORMATS = ("jsonl", "openai")
DEFAULT_EXECUTOR_THREADS = 1  # Spark runs one Python worker per task slot: one intra-op thread each
OUTPUT_SCHEMA = (
    "id string, label string, score double, threshold double, model string, "
    "evidence array<struct<turn:int,role:string,score:double>>, "
    f"profile struct<{','.join(f'{key}:string' for key in PROFILE_KEYS)}>, "
    "source string, lang string, ts string, "
    f"meta struct<{','.join(f'{key}:string' for key in META_KEYS)}>, error string"
)

REPLACEMENT_CHARACTER = "\ufffd".encode()
NOT_UTF8_PROBLEM = (
    "line is not valid UTF-8 (Spark read it with U+FFFD replacement characters; latin-1/cp1252? re-save the "
    "file as UTF-8)"
)

# One Classifier per (model folder, threads) per Python process: Spark reuses its Python workers across
# tasks (spark.python.worker.reuse, on by default), so the model is loaded once per executor worker.
_CLASSIFIERS: dict[tuple[str, int | None], Classifier] = {}


def cached_classifier(model_dir: str, threads: int | None = DEFAULT_EXECUTOR_THREADS) -> Classifier:
    key = (str(model_dir), threads)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = Classifier.load(model_dir, threads=threads)
    return _CLASSIFIERS[key]


def require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ValueError("--engine spark needs PySpark: pip install 'scopeguard[spark]'") from None


def parse_line(value: str | bytes, source: str, line: int, fmt: str, limits: Limits) -> Record | RecordError:
    """One JSON Lines record exactly as the local readers parse it (jsonl or openai)."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    limit = max_line_bytes(limits)
    if len(raw) > limit:
        return RecordError(source, line, None, f"line has {len(raw)} bytes, over the limit of {limit}")
    if REPLACEMENT_CHARACTER in raw:
        # Hadoop's text input decodes with replacement, so bytes that were not UTF-8 arrive as U+FFFD
        return RecordError(source, line, None, NOT_UTF8_PROBLEM)
    decoded = _decode(raw, line)
    try:
        obj = decode_json_line(decoded, source)
    except RecordError as err:
        return err
    if fmt == "openai":
        record_id = obj.get("id") if isinstance(obj, dict) else None
        try:
            obj = openai_to_record(obj, f"{Path(source).name}:{line}")
        except ValueError as exc:
            return RecordError(source, line, str(record_id) if record_id is not None else None, str(exc))
    try:
        conv = parse_conversation(obj, source=source, line=line, limits=limits)
    except RecordError as err:
        return err
    return Record(conv, source, line)


def _top_level_fields(ddl: str) -> list[str]:
    """The top-level "name type" pieces of a DDL schema string (commas inside <...> do not split)."""
    fields, depth, start = [], 0, 0
    for i, ch in enumerate(ddl):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            fields.append(ddl[start:i].strip())
            start = i + 1
    fields.append(ddl[start:].strip())
    return fields


def _output_row(item: Record | RecordError, prediction: Any) -> dict[str, Any]:
    if isinstance(item, RecordError):
        bad = quarantine_row(item)
        return {"id": bad["id"], "source": f"{bad['file']}:{bad['line']}", "error": bad["reason"]}
    row = score_row(item, prediction)
    row["error"] = None
    if "meta" in row:
        row["meta"] = {key: row["meta"].get(key) for key in META_KEYS}
    return row


def score_partition(
    batches: Iterator[Any],
    model_dir: str,
    fmt: str,
    limits: Limits,
    threads: int | None,
    batch_size: int | None,
) -> Iterator[Any]:
    """The mapInPandas function: pandas batches of (value, source, line) -> output rows."""
    import pandas as pd

    clf = cached_classifier(model_dir, threads)
    size = batch_size or clf.default_batch_size
    names = [field.split(" ")[0] for field in _top_level_fields(OUTPUT_SCHEMA)]
    for batch in batches:
        items = [
            parse_line(value, str(source), int(line), fmt, limits)
            for value, source, line in zip(batch["value"], batch["source"], batch["line"], strict=True)
        ]
        convs = [item.conversation for item in items if isinstance(item, Record)]
        predictions = iter(clf.classify(convs, batch_size=size)) if convs else iter(())
        rows = [_output_row(item, next(predictions) if isinstance(item, Record) else None) for item in items]
        yield pd.DataFrame([{name: row.get(name) for name in names} for row in rows], columns=names)


def score_dataframe(
    df: Any,
    model_dir: str | Path,
    *,
    fmt: str = "jsonl",
    limits: Limits = DEFAULT_LIMITS,
    threads: int | None = DEFAULT_EXECUTOR_THREADS,
    batch_size: int | None = None,
) -> Any:
    """Score a Spark DataFrame of conversations (see the module docstring); returns a DataFrame."""
    require_pyspark()
    from pyspark.sql import functions as F

    if fmt not in SPARK_FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(SPARK_FORMATS)}, got {fmt!r}")
    ModelConfig.load(model_dir)  # fail on the driver, before any task, if the folder is not a model
    columns = set(df.columns)
    if "value" not in columns:
        if not {"id", "turns"} <= columns:
            raise ValueError(
                f"expected a 'value' column of JSON records or schema-v1 columns id, turns (...); found "
                f"{', '.join(sorted(columns))}"
            )
        df = df.select(F.to_json(F.struct(*[F.col(c) for c in df.columns])).alias("value"))
        columns = {"value"}
    if "source" not in columns:
        df = df.withColumn("source", F.lit("<dataframe>"))
    if "line" not in columns:
        df = df.withColumn("line", F.monotonically_increasing_id() + 1)
    df = df.select(F.col("value"), F.col("source").cast("string"), F.col("line").cast("long"))
    model = str(model_dir)

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        return score_partition(batches, model, fmt, limits, threads, batch_size)

    return df.mapInPandas(run, schema=OUTPUT_SCHEMA)


def quarantine_duplicate_ids(scored: Any, files: Sequence[Path]) -> Any:
    """``scored`` (of ``score_dataframe`` over ``read_json_lines(files)``) with every later record of an id
    seen before turned into an error row ("duplicate id"), as the local path does: the first record in
    file and line order is kept."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = F.create_map(*[x for i, path in enumerate(files) for x in (F.lit(str(path)), F.lit(i))])
    source = F.regexp_extract(F.col("source"), r"^(.*):(\d+)$", 1)
    line = F.regexp_extract(F.col("source"), r"^(.*):(\d+)$", 2).cast("long")
    first = Window.partitionBy("id").orderBy(order[source], line)
    ranked = scored.withColumn("_rank", F.when(F.col("error").isNull(), F.row_number().over(first)))
    duplicate = F.col("_rank") > 1
    nulled = [c for c in scored.columns if c not in ("id", "source", "error")]
    # the window shuffles: sort back into file and line order, which the outputs keep
    return (
        ranked.orderBy(order[source], line)
        .select(
            "id",
            *[F.when(duplicate, F.lit(None)).otherwise(F.col(c)).alias(c) for c in nulled],
            "source",
            F.when(duplicate, F.lit(DUPLICATE_REASON)).otherwise(F.col("error")).alias("error"),
        )
        .select(*scored.columns)
    )


def read_json_lines(spark: Any, files: Sequence[Path]) -> Any:
    """A DataFrame (value bytes, source, line) of the non-blank lines of ``files``, in file and line order.

    Line numbers come from ``zipWithIndex`` over each file's lines (gzip included), so they are the
    physical line numbers the local readers report.
    """
    from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField("value", BinaryType()),
            StructField("source", StringType()),
            StructField("line", LongType()),
        ]
    )
    rdds = []
    for path in files:
        source = str(path)
        lines = spark.sparkContext.textFile(str(path.resolve()), use_unicode=False).zipWithIndex()
        rdds.append(
            lines.filter(lambda pair: pair[0].strip() != b"").map(
                lambda pair, source=source: (bytearray(pair[0]), source, pair[1] + 1)
            )
        )
    if not rdds:
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(spark.sparkContext.union(rdds), schema)


def spark_files(paths: Sequence[str], fmt: str) -> tuple[list[Path], str]:
    files = expand_paths(paths)
    formats: set[str] = set()
    for path in files:
        if path.name.endswith((".meta.json", ".meta.json.gz")):
            continue
        found = detect_format(path) if fmt == "auto" else fmt
        if found is not None:  # None: an empty file, no records
            formats.add(found)
    if len(formats) > 1 or not formats <= set(SPARK_FORMATS):
        raise ValueError(
            f"--engine spark reads one JSON Lines format per run ({', '.join(SPARK_FORMATS)}); found "
            f"{', '.join(sorted(str(f) for f in formats))}. Convert the files to schema-v1 JSONL or use the "
            "local engine"
        )
    return files, formats.pop() if formats else "jsonl"
