"""Spark scoring (local[2]) gives exactly the rows of the single-machine path.

Starting a local Spark session takes ~20-30 s; the module shares one. The full CLI comparison is marked
slow (``--slow``); ``test_score_dataframe_on_schema_v1_columns`` keeps an equality check in the default run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from classifier.spark import NOT_UTF8_PROBLEM
from cli.main import main

pyspark = pytest.importorskip("pyspark")
pq = pytest.importorskip("pyarrow.parquet")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("scopeguard-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    # py4j logs its connection shutdown at interpreter exit, after pytest has closed the streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _as_local(row: dict) -> dict:
    """A Spark/Parquet row in the shape of a local JSONL row (absent fields omitted, not null; ``profile``
    always there, null without one)."""
    row = {k: v for k, v in row.items() if (v is not None or k == "profile") and k != "error"}
    meta = {k: v for k, v in (row.pop("meta", None) or {}).items() if v is not None}
    if meta:
        row["meta"] = meta
    return row


@pytest.mark.slow  # ~40-60 s on a shared 2-core machine; test_score_dataframe_* is the everyday check
def test_spark_engine_equals_the_local_path(capsys, spark, tmp_path, tiny_model_dir, archive_factory):
    archive = archive_factory(80, bad_every=13)
    inputs = [archive, FIXTURES / "sample.jsonl.gz", FIXTURES / "bad" / "latin1.jsonl", FIXTURES / "bad"
              / "missing_fields.jsonl"]  # fmt: skip
    local = tmp_path / "local.jsonl"
    assert main(["score", *map(str, inputs), "--model", str(tiny_model_dir), "--out", str(local)]) == 0
    local_out = capsys.readouterr().out
    out = tmp_path / "spark.parquet"
    code = main(
        ["score", *map(str, inputs), "--model", str(tiny_model_dir), "--out", str(out), "--engine", "spark"]
    )
    spark_out = capsys.readouterr().out
    assert code == 0
    expected = _jsonl(local)
    got = [_as_local(r) for r in pq.read_table(out).to_pylist()]
    assert len(got) == len(expected) > 70
    assert got == expected  # same rows, same order, same scores to the last digit
    summary = next(line for line in local_out.splitlines() if "records read" in line).split(" (")[0]
    assert summary in spark_out
    local_bad = _jsonl(tmp_path / "local.quarantine.jsonl")
    spark_bad = _jsonl(tmp_path / "spark.quarantine.jsonl")
    assert [(b["file"], b["line"], b["id"]) for b in spark_bad] == [
        (b["file"], b["line"], b["id"]) for b in local_bad
    ]
    for mine, theirs in zip(spark_bad, local_bad, strict=True):
        if theirs["reason"].startswith("line is not valid UTF-8"):
            assert mine["reason"] == NOT_UTF8_PROBLEM  # Spark never sees the raw bytes
        else:
            assert mine["reason"] == theirs["reason"]
    # the report reads Spark's folder of part files
    assert main(["report", str(out), "--out", str(tmp_path / "report.html")]) == 0


def test_score_dataframe_on_schema_v1_columns(spark, tiny_model_dir):
    from classifier.inference import Classifier
    from classifier.schema import parse_conversation
    from classifier.spark import score_dataframe

    records = _jsonl(FIXTURES / "sample.jsonl")
    df = spark.read.json(str(FIXTURES / "sample.jsonl"))
    rows = score_dataframe(df, tiny_model_dir).collect()
    clf = Classifier.load(tiny_model_dir)
    expected = [clf.classify([parse_conversation(r)], batch_size=1)[0].to_dict() for r in records]
    assert [r["id"] for r in rows] == [e["id"] for e in expected]
    for row, want in zip(rows, expected, strict=True):
        assert row["error"] is None
        assert (row["label"], row["score"], row["model"]) == (want["label"], want["score"], want["model"])
        assert [e.asDict() for e in row["evidence"]] == want["evidence"]


def test_spark_engine_refuses_what_it_cannot_do(capsys, tmp_path, tiny_model_dir):
    base = ["score", str(FIXTURES / "sample.jsonl"), "--model", str(tiny_model_dir), "--engine", "spark"]
    assert main([*base, "--out", str(tmp_path / "s.jsonl")]) == 2
    assert "--out must end in .parquet" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "s.parquet"), "--resume"]) == 2
    assert "--resume is not available" in capsys.readouterr().err
    code = main(["score", str(FIXTURES / "chats.csv"), "--model", str(tiny_model_dir), "--engine", "spark",
                 "--out", str(tmp_path / "s.parquet")])  # fmt: skip
    assert code == 2 and "reads one JSON Lines format per run" in capsys.readouterr().err
