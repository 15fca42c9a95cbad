"""``scopeguard score --engine spark``: the command-line face of ``classifier.spark``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from classifier.model_config import ModelConfig
from classifier.spark import (
    quarantine_duplicate_ids,
    read_json_lines,
    require_pyspark,
    score_dataframe,
    spark_files,
)
from cli.commands.reader_args import reader_kwargs


def run_spark_score(args: argparse.Namespace, model_dir: Path) -> int:
    """``scopeguard score --engine spark``: score JSON Lines files with Spark, write Parquet."""
    require_pyspark()
    import orjson
    from pyspark import StorageLevel
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    if args.resume:
        raise ValueError("--resume is not available with --engine spark: Spark retries failed tasks itself")
    out = Path(args.out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"--engine spark writes Parquet: --out must end in .parquet, got {out}")
    limits = reader_kwargs(args)["limits"]
    files, fmt = spark_files(args.paths, args.format)
    quarantine = args.quarantine or out.with_name(out.stem + ".quarantine.jsonl")
    builder = SparkSession.builder.appName("scopeguard-score")
    if args.spark_master:
        builder = builder.master(args.spark_master)
    if (args.spark_master or "local").startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        # local mode: Python workers must run this interpreter (the one with onnxruntime installed);
        # on a cluster, spark-submit's settings decide (docs/SPARK.md)
        os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = builder.getOrCreate()
    lines = read_json_lines(spark, files)
    scored = quarantine_duplicate_ids(
        score_dataframe(
            lines,
            str(model_dir),
            fmt=fmt,
            limits=limits,
            threads=args.threads or 1,
            batch_size=args.batch_size,
        ),
        files,
    ).persist(StorageLevel.DISK_ONLY)  # written twice (scores, quarantine): score once
    try:
        ok = scored.filter(F.col("error").isNull()).drop("error")
        ok.write.mode("overwrite").parquet(str(out))
        bad_count = 0
        quarantine.parent.mkdir(parents=True, exist_ok=True)
        with quarantine.open("wb") as handle:
            for row in scored.filter(F.col("error").isNotNull()).toLocalIterator():
                file, _, line = row["source"].rpartition(":")
                record = {"file": file, "line": int(line), "id": row["id"], "reason": row["error"]}
                handle.write(orjson.dumps(record) + b"\n")
                bad_count += 1
        total = scored.count()
    finally:
        scored.unpersist()
    print(f"{total} records read: {total - bad_count} scored, {bad_count} quarantined"
          + (f" ({quarantine})" if bad_count else ""))  # fmt: skip
    print(f"scores: {out} (Parquet, Spark)  model: {ModelConfig.load(model_dir).model_id}")
    if args.strict and bad_count:
        print("unusable records found (--strict; Spark scores the whole input before stopping)")
        return 1
    return 0
