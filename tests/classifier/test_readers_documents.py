"""Pretty-printed ``.json`` documents are read; WhatsApp exports in unknown layouts get an error that
names the accepted layouts and docs/FORMATS.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from classifier.readers import Record, detect_format, read_conversations
from classifier.schema import RecordError

REPO = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    """The schema example of the README, a pretty-printed JSON object."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Transcript schema v1.*?```json\n(.*?)```", readme, flags=re.S)
    assert block is not None
    return block.group(1)


def test_the_readme_example_as_a_json_file_is_read(tmp_path):
    path = tmp_path / "conv.json"
    path.write_text(readme_example(), encoding="utf-8")
    assert detect_format(path) == "jsonl"
    (item,) = list(read_conversations(path))
    assert isinstance(item, Record) and item.conversation.id == "conv-0001" and item.line == 1


def test_an_array_document_locates_each_object_at_its_line(tmp_path):
    path = tmp_path / "convs.json"
    path.write_text(
        '[\n  {"id": "a", "turns": [{"role": "user", "text": "x"}]},\n'
        '  {"id": "b",\n   "turns": [{"role": "bot", "text": "y"}]}\n]\n',
        encoding="utf-8",
    )
    a, b = list(read_conversations(path))
    assert isinstance(a, Record) and a.line == 2
    assert isinstance(b, RecordError) and b.line == 3 and "role 'bot'" in b.problem


def test_broken_json_lines_in_a_json_file_stay_per_line_errors(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text('{"id": "a", "turns": [{"role": "user", "text": "x"}]}\n{"id": "b", "turns"\n', "utf-8")
    a, b = list(read_conversations(path))
    assert isinstance(a, Record) and isinstance(b, RecordError) and b.line == 2


@pytest.mark.parametrize(
    "first_line",
    [
        "14/03/2026 à 09:12 - Lena: Bonjour, ma commande 4471 ?",
        "2026/3/14 09:12 - 李雷: 你好，我的订单 4471 在哪里？",
    ],
)
def test_an_unknown_whatsapp_layout_names_the_accepted_ones(tmp_path, first_line):
    path = tmp_path / "chat.txt"
    path.write_text(first_line + "\n", encoding="utf-8")
    (err,) = list(read_conversations(path, business_sender="Shop"))
    assert isinstance(err, RecordError)
    assert "DD/MM/YYYY, HH:MM - Name: text" in err.problem and "docs/FORMATS.md" in err.problem
