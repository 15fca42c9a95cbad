"""Readers: every format on valid input (exact turns) and on malformed input (located errors, accounting)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifier.readers import ReadStats, Record, detect_format, expand_paths, read_conversations
from classifier.schema import Limits, RecordError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BAD = FIXTURES / "bad"


def read_all(paths, **kwargs) -> tuple[list[Record], list[RecordError], ReadStats]:
    stats = ReadStats()
    ok: list[Record] = []
    errors: list[RecordError] = []
    for item in read_conversations(paths, stats=stats, **kwargs):
        (errors if isinstance(item, RecordError) else ok).append(item)
    assert stats.ok == len(ok) and stats.failed == len(errors)
    assert stats.read == stats.ok + stats.failed
    for file_stats in stats.files.values():
        assert file_stats.read == file_stats.ok + file_stats.failed
    return ok, errors, stats


def turns(record: Record) -> list[tuple[str, str]]:
    return [(t.role, t.text) for t in record.conversation.turns]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *objects: object) -> Path:
    return write(path, "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects))


GOOD = {"id": "g", "turns": [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "hello"}]}


# --- jsonl ------------------------------------------------------------------------------------------


def test_jsonl_fixture_reads_every_conversation_with_its_line():
    ok, errors, stats = read_all(FIXTURES / "sample.jsonl")
    assert errors == []
    assert [r.conversation.id for r in ok] == [
        f"conv-{x}" for x in ("en-001", "de-002", "pt-003", "es-004", "en-005", "en-006")
    ]
    assert [r.line for r in ok] == [1, 2, 3, 4, 5, 6]
    first = ok[0]
    assert first.location == f"{FIXTURES / 'sample.jsonl'}:1"
    assert turns(first)[0] == ("user", "hi, where is my order 4411? it was supposed to arrive yesterday")
    assert first.conversation.turns[0].ts == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert first.conversation.label == "business_support" and first.conversation.lang == "en"
    assert [t.role for t in ok[4].conversation.turns] == ["user", "assistant", "user", "agent"]
    assert ok[5].conversation.label is None
    assert stats.files[str(FIXTURES / "sample.jsonl")].read == 6


def test_gzip_reads_the_same_as_plain():
    plain, _, _ = read_all(FIXTURES / "sample.jsonl")
    packed, errors, _ = read_all(FIXTURES / "sample.jsonl.gz")
    assert errors == []
    assert [r.conversation for r in packed] == [r.conversation for r in plain]


def test_bad_json_is_located_and_reading_continues():
    ok, errors, stats = read_all(BAD / "bad_json.jsonl")
    assert [r.conversation.id for r in ok] == ["ok-1", "ok-3"]
    assert [(e.line, e.source) for e in errors] == [(2, str(BAD / "bad_json.jsonl"))] * 1 + [
        (4, str(BAD / "bad_json.jsonl"))
    ]
    assert "invalid JSON" in errors[0].problem
    assert stats.read == 4


def test_missing_fields_name_the_field():
    _, errors, _ = read_all(BAD / "missing_fields.jsonl")
    assert [str(e) for e in errors] == [
        f"{BAD / 'missing_fields.jsonl'} line 2 (id conv-2): turns is missing",
        f"{BAD / 'missing_fields.jsonl'} line 3: id is missing",
        f"{BAD / 'missing_fields.jsonl'} line 4 (id conv-4): turns[0].text is missing",
    ]


def test_unknown_role_and_label():
    _, errors, _ = read_all(BAD / "unknown_role.jsonl")
    assert errors[0].describe() == (
        f"{BAD / 'unknown_role.jsonl'} line 2 (id conv-2): "
        "turns[2].role 'bot' is not one of user, assistant, agent, system"
    )
    assert errors[1].record_id == "conv-3" and "label 'support'" in errors[1].problem


def test_empty_text_names_the_turn():
    ok, errors, _ = read_all(BAD / "empty_text.jsonl")
    assert len(ok) == 1
    assert (errors[0].line, errors[0].record_id, errors[0].problem) == (1, "conv-1", "turns[0].text is empty")


def test_latin1_line_is_one_error_with_line_and_byte():
    ok, errors, _ = read_all(BAD / "latin1.jsonl")
    assert [r.line for r in ok] == [1, 3]
    assert errors[0].line == 2
    assert "not valid UTF-8" in errors[0].problem and "0xe4" in errors[0].problem


def test_truncated_gzip_is_an_error_where_it_breaks_not_a_crash():
    ok, errors, _stats = read_all([BAD / "truncated.jsonl.gz", FIXTURES / "sample.jsonl"])
    broken = [e for e in errors if e.source.endswith("truncated.jsonl.gz")]
    assert len(broken) == 1
    lines_before = [r.line for r in ok if r.source.endswith("truncated.jsonl.gz")]
    assert lines_before == list(range(1, len(lines_before) + 1))
    assert broken[0].line == len(lines_before) + 1
    assert "truncated" in broken[0].problem
    # the next file is still read
    assert sum(r.source.endswith("sample.jsonl") for r in ok) == 6


def test_gzip_that_is_not_gzip_at_all(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(b"this is not gzip\n")
    ok, errors, stats = read_all(path)
    assert ok == [] and len(errors) == 1 and errors[0].line == 1
    assert stats.files[str(path)].failed == 1


def test_limits_are_record_errors(tmp_path):
    path = jsonl(tmp_path / "a.jsonl", GOOD, {"id": "long", "turns": [{"role": "user", "text": "x" * 50}]})
    ok, errors, _ = read_all(path, limits=Limits(max_turn_chars=20))
    assert [r.conversation.id for r in ok] == ["g"]
    assert errors[0].record_id == "long"
    assert errors[0].problem == "turns[0].text has 50 characters, over the limit of 20"


def test_oversized_line_is_rejected_without_parsing(tmp_path):
    big = {"id": "big", "turns": [{"role": "user", "text": "y" * 3000}]}
    path = jsonl(tmp_path / "a.jsonl", big, GOOD)
    limits = Limits(max_conversation_chars=10)
    from classifier.readers import base

    old = base.LINE_BYTES_SLACK
    base.LINE_BYTES_SLACK = 100
    try:
        ok, errors, _ = read_all(path, limits=limits)
    finally:
        base.LINE_BYTES_SLACK = old
    assert [r.line for r in ok] == [2]
    assert errors[0].line == 1 and "bytes, over the limit" in errors[0].problem


def test_blank_lines_are_not_records_but_keep_line_numbers(tmp_path):
    path = write(tmp_path / "a.jsonl", "\n" + json.dumps(GOOD) + "\n\n   \n" + json.dumps(GOOD) + "\n")
    ok, _errors, stats = read_all(path)
    assert [r.line for r in ok] == [2, 5] and stats.read == 2


# --- openai -----------------------------------------------------------------------------------------


def test_openai_fixture():
    ok, errors, _ = read_all(FIXTURES / "openai.jsonl")
    assert errors == []
    assert [r.conversation.id for r in ok] == ["oa-001", "openai.jsonl:2", "oa-003", "oa-004"]
    second = ok[1].conversation
    assert turns(ok[1]) == [
        ("system", "Du bist der Kundenservice-Bot der Stadtwerke Hagen."),
        ("user", "Hier ist mein Zählerstand\n[image]"),
        ("assistant", "Danke! Ich habe den Zählerstand 48213 kWh für Zähler 1ESY1160 übernommen."),
    ]
    assert second.meta == {"business": "utility"} and second.label == "business_support"
    assert ok[2].conversation.meta == {"business": "mobile carrier"}
    assert ok[3].conversation.label is None and ok[3].conversation.lang == "pt-BR"


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"role": "tool", "content": '{"status": "shipped"}'}, "messages[1] is a tool result"),
        ({"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]}, "messages[1] is a tool call"),
        ({"role": "bot", "content": "hi"}, "messages[1].role 'bot' is not one of system, developer, user"),
        ({"role": "assistant", "content": "  "}, "messages[1].content is empty"),
        ({"role": "assistant"}, "messages[1].content is missing"),
        ({"role": "assistant", "content": 5}, "messages[1].content must be a string or a list of parts"),
    ],
)
def test_openai_bad_messages_are_located(tmp_path, message, problem):
    record = {"id": "o1", "messages": [{"role": "user", "content": "hi"}, message]}
    path = jsonl(tmp_path / "o.jsonl", record, {"messages": [{"role": "user", "content": "ok"}]})
    ok, errors, _ = read_all(path, format="openai")
    assert [r.conversation.id for r in ok] == ["o.jsonl:2"]
    assert (errors[0].line, errors[0].record_id) == (1, "o1")
    assert errors[0].problem.startswith(problem)


def test_openai_missing_messages(tmp_path):
    path = jsonl(
        tmp_path / "o.jsonl", {"id": "o1", "messages": [{"role": "user", "content": "a"}]}, {"id": "x"}
    )
    _, errors, _ = read_all(path, format="openai")
    assert errors[0].describe() == f"{path} line 2 (id x): messages is missing"


# --- csv --------------------------------------------------------------------------------------------


def test_csv_fixture_groups_rows_and_keeps_physical_lines():
    ok, errors, _ = read_all(FIXTURES / "chats.csv")
    assert errors == []
    assert [(r.conversation.id, r.line) for r in ok] == [
        ("csv-001", 2),
        ("csv-002", 5),
        ("csv-003", 8),
        ("csv-004", 10),
    ]
    assert [t.role for t in ok[0].conversation.turns] == ["user", "assistant", "user"]
    assert "\nArbeitsmittel" in ok[1].conversation.turns[1].text  # quoted field over two lines
    assert ok[1].conversation.label == "general_assistance" and ok[1].conversation.lang == "de"
    assert ok[2].conversation.label is None
    assert ok[3].conversation.turns[0].ts is None
    assert ok[0].conversation.turns[1].ts == datetime(2026, 3, 10, 11, 0, 7, tzinfo=UTC)


def test_csv_missing_column_names_found_and_expected(tmp_path):
    path = write(tmp_path / "c.csv", "conversation_id,speaker,text\nc1,user,hi\n")
    ok, errors, _ = read_all(path)
    assert ok == [] and len(errors) == 1
    assert errors[0].line == 1
    assert "missing column(s) role" in errors[0].problem
    assert "unknown column(s) speaker" in errors[0].problem
    assert "found conversation_id, speaker, text" in errors[0].problem


def test_csv_row_errors_name_the_physical_line(tmp_path):
    text = (
        "conversation_id,role,text\n"
        'c1,user,"two\nlines"\n'  # lines 2-3
        "c1,bot,hello\n"  # line 4
        "c2,user,hi\n"
        "c3,user,\n"  # line 6: empty text
    )
    ok, errors, stats = read_all(write(tmp_path / "c.csv", text))
    assert [r.conversation.id for r in ok] == ["c2"]
    assert [(e.record_id, e.line) for e in errors] == [("c1", 4), ("c3", 6)]
    assert errors[0].problem == "role 'bot' is not one of user, assistant, agent, system"
    assert errors[1].problem == "text is empty"
    assert stats.read == 3


def test_csv_reappearing_id_is_an_error_naming_both_places(tmp_path):
    text = "conversation_id,role,text\nc1,user,a\nc2,user,b\nc1,assistant,c\nc1,user,d\n"
    ok, errors, _ = read_all(write(tmp_path / "c.csv", text))
    assert [r.conversation.id for r in ok] == ["c1", "c2"]
    assert errors[0].record_id == "c1" and errors[0].line == 4
    assert "lines 4-5 after its rows on lines 2-2" in errors[0].problem


def test_csv_conflicting_label_and_bad_encoding(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(
        b"conversation_id,role,text,label\n"
        b"c1,user,hi,business_support\n"
        b"c1,assistant,hello,general_assistance\n"
        b"c2,user,gr\xfc\xdfe,\n"
        b"c3,user,ok,\n"
    )
    ok, errors, _ = read_all(path)
    assert [r.conversation.id for r in ok] == ["c3"]
    assert (errors[0].record_id, errors[0].line) == ("c1", 3)
    assert "label 'general_assistance' differs from 'business_support' on line 2" in errors[0].problem
    assert (errors[1].record_id, errors[1].line) == ("c2", 4) and "not valid UTF-8" in errors[1].problem


def test_csv_wrong_field_count_is_its_own_error(tmp_path):
    path = write(tmp_path / "c.csv", "conversation_id,role,text\nc1,user,hi,extra\nc1,user,hello\n")
    ok, errors, _ = read_all(path)
    assert [r.line for r in ok] == [3]
    assert errors[0].line == 2 and "has 4 fields, expected 3" in errors[0].problem


def test_csv_turn_limit_without_buffering_everything(tmp_path):
    rows = "".join(f"c1,user,m{i}\n" for i in range(10))
    path = write(tmp_path / "c.csv", "conversation_id,role,text\n" + rows)
    _, errors, _ = read_all(path, limits=Limits(max_turns=3))
    assert errors[0].problem == "has 10 rows (lines 2-11), over the limit of 3 turns"


# --- whatsapp-txt -----------------------------------------------------------------------------------


def test_whatsapp_android_fixture_with_sidecar():
    ok, errors, stats = read_all(FIXTURES / "whatsapp_android.txt")
    assert errors == []
    conv = ok[0].conversation
    assert conv.id == "whatsapp_android" and ok[0].line == 2
    assert (
        conv.label == "business_support"
        and conv.lang == "de"
        and conv.meta == {"business": "furniture store"}
    )
    roles = [t.role for t in conv.turns]
    assert roles == ["user", "assistant", "assistant", "user", "user", "assistant", "user"]
    assert conv.turns[2].text.endswith(
        "zwischen 8 und 12 Uhr geplant.\nDu bekommst am Montag früh eine SMS mit einem genaueren Zeitfenster."
    )
    assert conv.turns[3].text == "<Media omitted>"
    assert conv.turns[0].ts == datetime(2026, 3, 14, 9, 12)
    assert conv.turns[-1].ts == datetime(2026, 3, 14, 21, 47)
    assert stats.skipped == {"whatsapp-txt system line": 1}


def test_whatsapp_ios_fixture_12h_month_first():
    ok, errors, _ = read_all(FIXTURES / "whatsapp_ios.txt")
    assert errors == []
    conv = ok[0].conversation
    assert [t.ts for t in conv.turns][:2] == [
        datetime(2026, 3, 14, 21, 5, 12),
        datetime(2026, 3, 14, 21, 5, 20),
    ]
    assert conv.turns[-1].ts == datetime(2026, 3, 15, 0, 2, 44)  # 12:02 AM
    assert conv.turns[0].role == "user" and conv.turns[1].role == "assistant"
    assert conv.turns[3].text.endswith(
        "with Dr. Patel.\nReply CANCEL any time if you need to change it again."
    )
    assert conv.turns[4].text == "image omitted"
    assert len(conv.turns) == 8  # the encryption notice is not a turn


def test_whatsapp_flag_overrides_sidecar_and_unknown_sender_is_an_error():
    _, errors, _ = read_all(FIXTURES / "whatsapp_android.txt", business_sender="Lena Fischer")
    assert errors == []
    ok, _, _ = read_all(FIXTURES / "whatsapp_android.txt", business_sender="Lena Fischer")
    assert ok[0].conversation.turns[0].role == "assistant"
    _, errors, _ = read_all(FIXTURES / "whatsapp_android.txt", business_sender="Nobody")
    assert "'Nobody' does not occur; senders found: Lena Fischer, Möbelhaus Berg Support" in errors[0].problem


def test_whatsapp_without_business_sender_says_how_to_give_it(tmp_path):
    path = write(tmp_path / "chat.txt", "01/02/2026, 10:00 - Ana: hola\n01/02/2026, 10:01 - Shop: hola Ana\n")
    ok, errors, _ = read_all(path)
    assert ok == [] and errors[0].record_id == "chat"
    assert "senders found: Ana, Shop" in errors[0].problem and "--business-sender" in errors[0].problem


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # nothing decides: day first
        (["05/04/2026, 10:00 - Ana: a"], datetime(2026, 4, 5, 10, 0)),
        # a later date with day 13 decides day first for the whole file
        (["05/04/2026, 10:00 - Ana: a", "13/04/2026, 10:00 - Ana: b"], datetime(2026, 4, 5, 10, 0)),
        # a second number over 12 decides month first
        (["05/04/2026, 10:00 - Ana: a", "05/13/2026, 10:00 - Ana: b"], datetime(2026, 5, 4, 10, 0)),
        (["5/4/26, 2:05 p. m. - Ana: a"], datetime(2026, 4, 5, 14, 5)),
        (["5/4/26, 12:05 a. m. - Ana: a"], datetime(2026, 4, 5, 0, 5)),
        (["5/4/26, 12:05 pm - Ana: a"], datetime(2026, 4, 5, 12, 5)),
        (["[05.04.26, 09:30:15] Ana: a"], datetime(2026, 4, 5, 9, 30, 15)),
    ],
)
def test_whatsapp_dates(tmp_path, lines, expected):
    text = "\n".join([*lines, "05/04/2026, 11:00 - Shop: ok"]) + "\n"
    ok, errors, _ = read_all(write(tmp_path / "c.txt", text), business_sender="Shop")
    assert errors == []
    assert ok[0].conversation.turns[0].ts == expected


def test_whatsapp_mixed_date_orders_and_non_export(tmp_path):
    mixed = "13/04/2026, 10:00 - Ana: a\n04/13/2026, 10:00 - Shop: b\n"
    _, errors, _ = read_all(write(tmp_path / "m.txt", mixed), business_sender="Shop")
    assert errors[0].line == 2 and "mix day/month orders" in errors[0].problem
    _, errors, _ = read_all(write(tmp_path / "n.txt", "hello there\n"), business_sender="Shop")
    assert errors[0].line == 1 and "WhatsApp chat export" in errors[0].problem


def test_whatsapp_bad_encoding_fails_the_file_naming_the_line(tmp_path):
    path = tmp_path / "e.txt"
    path.write_bytes(b"01/02/2026, 10:00 - Ana: hola\n01/02/2026, 10:01 - Shop: ol\xe1\n")
    ok, errors, stats = read_all(path, business_sender="Shop")
    assert ok == [] and errors[0].line == 2 and "not valid UTF-8" in errors[0].problem
    assert stats.read == 1


def test_whatsapp_agent_senders_from_sidecar(tmp_path):
    path = write(
        tmp_path / "c.txt",
        "01/02/2026, 10:00 - Ana: hi\n01/02/2026, 10:01 - Bot: hi\n"
        "01/02/2026, 10:02 - Maria (Shop): I'm taking over\n",
    )
    (tmp_path / "c.txt.meta.json").write_text(
        json.dumps({"business_sender": "Bot", "agent_senders": ["Maria (Shop)"]})
    )
    ok, _, _ = read_all(path)
    assert [t.role for t in ok[0].conversation.turns] == ["user", "assistant", "agent"]


def test_sidecar_is_never_read_as_data(tmp_path):
    write(tmp_path / "c.txt", "01/02/2026, 10:00 - Ana: hi\n01/02/2026, 10:01 - Bot: hi\n")
    side = tmp_path / "c.txt.meta.json"
    side.write_text(json.dumps({"business_sender": "Bot"}))
    ok, errors, stats = read_all([tmp_path / "c.txt", side])
    assert len(ok) == 1 and errors == [] and stats.sidecars == [str(side)]
    assert expand_paths([tmp_path]) == [tmp_path / "c.txt"]


# --- wa-cloud ---------------------------------------------------------------------------------------


T0 = 1773482400


def test_wa_cloud_fixture_merges_per_customer_and_cuts_by_window():
    ok, errors, stats = read_all(FIXTURES / "wa_cloud.jsonl")
    assert errors == []
    assert [(r.conversation.id, r.line) for r in ok] == [
        (f"4915112345678:{T0}", 1),
        (f"5511987654321:{T0 + 100}", 5),
        (f"5511987654321:{T0 + 2 * 86400}", 10),
    ]
    assert turns(ok[0]) == [
        ("user", "Hallo, ich möchte meinen Tisch für heute Abend von 4 auf 6 Personen ändern"),
        (
            "assistant",
            "Gern! Für 19:30 Uhr haben wir einen Tisch für 6 Personen frei. "
            "Soll ich die Reservierung R-2291 ändern?",
        ),
        ("user", "Ja, bitte ändern"),  # interactive button reply -> its title
        ("assistant", "Erledigt ✅ Reservierung R-2291: heute 19:30 Uhr, 6 Personen."),
    ]
    assert turns(ok[1])[1] == ("user", "[image] essa aqui")
    assert len(ok[1].conversation.turns) == 3  # the repeated delivery of wamid.B2 is counted, not added
    assert turns(ok[2])[2] == ("user", "[location] Loja Paulista, Av. Paulista, 1000")
    assert ok[2].conversation.turns[1].ts == datetime.fromtimestamp(T0 + 2 * 86400 + 7, UTC)
    assert stats.skipped == {"wa-cloud status notification": 2, "wa-cloud repeated delivery": 1}


def test_wa_cloud_window_hours_parameter():
    ok, _, _ = read_all(FIXTURES / "wa_cloud.jsonl", window_hours=72)
    assert [len(r.conversation.turns) for r in ok] == [4, 6]


def _inbound(wa_id: str, ts: int, message: dict) -> dict:
    msg = {"from": wa_id, "id": f"wamid.{wa_id}.{ts}", "timestamp": str(ts), **message}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messages": [msg]}}]}],
    }


def test_wa_cloud_placeholders_never_vanish(tmp_path):
    path = jsonl(
        tmp_path / "w.jsonl",
        _inbound("1", T0, {"type": "audio", "audio": {"id": "a"}}),
        _inbound("1", T0 + 1, {"type": "sticker", "sticker": {"id": "s"}}),
        _inbound(
            "1",
            T0 + 2,
            {
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "r", "title": "Track order"}},
            },
        ),
        _inbound("1", T0 + 3, {"type": "reaction", "reaction": {"message_id": "m", "emoji": "👍"}}),
        _inbound("1", T0 + 4, {"type": "unsupported"}),
        {
            "messaging_product": "whatsapp",
            "to": "1",
            "type": "template",
            "template": {"name": "order_update"},
            "timestamp": T0 + 5,
        },
    )
    ok, errors, _ = read_all(path)
    assert errors == []
    assert [t.text for t in ok[0].conversation.turns] == [
        "[audio]",
        "[sticker]",
        "Track order",
        "[reaction 👍]",
        "[unsupported]",
        "[template order_update]",
    ]


def test_wa_cloud_errors_are_located(tmp_path):
    path = jsonl(
        tmp_path / "w.jsonl",
        _inbound("1", T0, {"type": "text", "text": {"body": "hi"}}),
        {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hello"}},
        _inbound("1", T0 + 2, {"type": "text", "text": {}}),
        _inbound("1", T0 + 3, {"type": "text", "text": {"body": " "}}),
        {"something": "else"},
    )
    ok, errors, stats = read_all(path)
    assert len(ok) == 1 and turns(ok[0]) == [("user", "hi")]
    assert [e.line for e in errors] == [2, 3, 4, 5]
    assert errors[0].problem.startswith("timestamp is missing")
    assert errors[1].problem == "entry[0].changes[0].value.messages[0].text.body is missing"
    assert errors[2].problem == "entry[0].changes[0].value.messages[0].text.body is empty"
    assert "neither a webhook notification" in errors[3].problem
    assert stats.read == 5


def test_wa_cloud_truncated_gzip_says_what_was_not_emitted(tmp_path):
    lines = [
        _inbound(str(i % 7), T0 + i, {"type": "text", "text": {"body": f"message number {i} " * 5}})
        for i in range(300)
    ]
    payload = "".join(json.dumps(o) + "\n" for o in lines).encode()
    data = gzip.compress(payload)
    path = tmp_path / "w.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    ok, errors, _stats = read_all(path)
    assert ok == [] and len(errors) == 1
    assert "were not emitted" in errors[0].problem and errors[0].line > 1


# --- detection and paths ----------------------------------------------------------------------------


def test_detect_format_by_extension_and_first_line(tmp_path):
    assert detect_format(FIXTURES / "sample.jsonl") == "jsonl"
    assert detect_format(FIXTURES / "sample.jsonl.gz") == "jsonl"
    assert detect_format(FIXTURES / "openai.jsonl") == "openai"
    assert detect_format(FIXTURES / "wa_cloud.jsonl") == "wa-cloud"
    assert detect_format(FIXTURES / "chats.csv") == "csv"
    assert detect_format(FIXTURES / "whatsapp_ios.txt") == "whatsapp-txt"
    assert (
        detect_format(jsonl(tmp_path / "o.json", {"messaging_product": "whatsapp", "to": "1"})) == "wa-cloud"
    )
    assert detect_format(write(tmp_path / "e.jsonl", "\n\n")) is None


def test_unknown_format_is_a_clear_error(tmp_path):
    with pytest.raises(
        ValueError, match=r"x\.parquet: unknown file type.*jsonl, openai, csv, whatsapp-txt, wa-cloud"
    ):
        list(read_conversations(write(tmp_path / "x.parquet", "")))
    with pytest.raises(ValueError, match=r"y\.jsonl: cannot tell the format.*--format"):
        list(read_conversations(jsonl(tmp_path / "y.jsonl", {"foo": 1})))
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        list(read_conversations(FIXTURES / "sample.jsonl", format="xml"))
    with pytest.raises(FileNotFoundError):
        list(read_conversations(tmp_path / "missing.jsonl"))


def test_usage_errors_come_before_any_record(tmp_path):
    stream = read_conversations([FIXTURES / "sample.jsonl", write(tmp_path / "x.doc", "")])
    with pytest.raises(ValueError):
        next(stream)


def test_directories_are_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    jsonl(tmp_path / "b" / "2.jsonl", GOOD)
    jsonl(tmp_path / "a.jsonl", GOOD)
    write(tmp_path / "notes.md", "not data")
    assert expand_paths([tmp_path]) == [tmp_path / "a.jsonl", tmp_path / "b" / "2.jsonl"]
    ok, _, stats = read_all(tmp_path)
    assert [r.source for r in ok] == [str(tmp_path / "a.jsonl"), str(tmp_path / "b" / "2.jsonl")]
    assert set(stats.files) == {str(tmp_path / "a.jsonl"), str(tmp_path / "b" / "2.jsonl")}


def test_every_bad_fixture_accounts_for_every_record():
    _ok, errors, stats = read_all(BAD)
    assert len(errors) == 10
    for name, file_stats in stats.files.items():
        assert file_stats.failed >= 1, name


# --- robustness: arbitrary bytes never crash a reader, and every item is accounted for -----------------

SEEDS = {
    "jsonl": (FIXTURES / "sample.jsonl").read_bytes(),
    "openai": (FIXTURES / "openai.jsonl").read_bytes(),
    "csv": (FIXTURES / "chats.csv").read_bytes(),
    "whatsapp-txt": (FIXTURES / "whatsapp_android.txt").read_bytes(),
    "wa-cloud": (FIXTURES / "wa_cloud.jsonl").read_bytes(),
}


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_mangled_input_never_crashes(tmp_path_factory, fmt):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seed = SEEDS[fmt]
    folder = tmp_path_factory.mktemp(fmt)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(cut=st.integers(0, len(seed)), junk=st.binary(max_size=40), pos=st.integers(0, len(seed)))
    def check(cut: int, junk: bytes, pos: int) -> None:
        data = seed[:pos] + junk + seed[pos:cut] if pos <= cut else seed[:cut] + junk
        path = folder / "input.data"
        path.write_bytes(data)
        read_all(path, format=fmt, business_sender="Möbelhaus Berg Support")

    check()


def test_csv_parse_error_is_a_located_error(tmp_path):
    path = write(
        tmp_path / "c.csv", 'conversation_id,role,text\nc1,user,"' + "x" * 140_000 + '"\nc2,user,fine\n'
    )
    ok, errors, stats = read_all(path)
    assert [(r.conversation.id, r.line) for r in ok] == [("c2", 3)]
    assert errors[0].line == 2 and "field larger than field limit" in errors[0].problem
    assert stats.read == 2


def _paths_in(obj: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _paths_in(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found += _paths_in(value, (*prefix, i))
    return found


def _replaced(obj: object, path: tuple, value: object) -> object:
    if not path:
        return value
    copy = json.loads(json.dumps(obj))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("fmt", "name"), [("jsonl", "sample.jsonl"), ("openai", "openai.jsonl"), ("wa-cloud", "wa_cloud.jsonl")]
)
def test_any_value_in_any_field_is_an_error_not_a_crash(tmp_path_factory, fmt, name):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    records = [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    values = st.recursive(
        scalars | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=5,
    )
    folder = tmp_path_factory.mktemp(fmt)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def check(data) -> None:
        i = data.draw(st.integers(0, len(records) - 1))
        path = data.draw(st.sampled_from(_paths_in(records[i])))
        mutated = [*records[:i], _replaced(records[i], path, data.draw(values)), *records[i + 1 :]]
        read_all(jsonl(folder / "input.jsonl", *mutated), format=fmt)

    check()


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            _inbound("1", T0, {"type": "text", "text": {"body": "a"}, "id": ["x"]}),
            "messages[0].id must be a string",
        ),
        (_inbound("1", 10**15, {"type": "text", "text": {"body": "a"}}), "is not a Unix timestamp"),
        (
            {
                "messaging_product": "whatsapp",
                "to": "1",
                "type": "text",
                "text": {"body": "a"},
                "timestamp": "soon",
            },
            "timestamp 'soon' is not a Unix timestamp or ISO 8601 time",
        ),
    ],
)
def test_wa_cloud_field_types(tmp_path, record, problem):
    _, errors, _ = read_all(jsonl(tmp_path / "w.jsonl", record), format="wa-cloud")
    assert problem in errors[0].problem
