"""Helpers shared by the scoring and report tests: run a command, read and write JSONL, make score rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.main import main


def run_cli(capsys: Any, command: str, *argv: object) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``scopeguard COMMAND ARGV...``."""
    code = main([command, *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def score_row(
    i: int, general: bool, *, score: float | None = None, threshold: float = 0.62, **fields: Any
) -> dict:
    """A row as ``scopeguard score`` writes it (id ``c<i>``, one evidence turn); ``fields`` add or replace."""
    score = score if score is not None else (0.9 if general else 0.1)
    row = {
        "id": f"c{i}",
        "label": "general_assistance" if general else "business_support",
        "score": score,
        "threshold": threshold,
        "model": "m-1",
        "evidence": [{"turn": 1, "role": "assistant", "score": score}],
        "source": f"a.jsonl:{i + 1}",
    }
    return row | fields
