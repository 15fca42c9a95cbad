"""Phone numbers in ids are replaced by keyed digests; the key is created once, private, and reused."""

from __future__ import annotations

import stat

import pytest

from classifier.pseudonym import KEY_FILE_ENV, RAW_IDS, Pseudonymiser, key_path, load_key


def test_wa_cloud_ids_keep_their_time_and_lose_the_number(tmp_path):
    pseudo = Pseudonymiser(load_key(tmp_path / "key"))
    out = pseudo.text("4915112345678:1773482400")
    assert out.startswith("p-") and out.endswith(":1773482400") and "4915112345678" not in out
    assert out == pseudo.text("4915112345678:1773482400")  # stable: a customer's flows still link up
    assert pseudo.text("4915112345678:1773482999").split(":")[0] == out.split(":")[0]


@pytest.mark.parametrize(
    "text",
    ["WhatsApp Chat with +49 151 2345 6789", "chat-4915123456789", "from (+1) 415-555-0100 x"],
)
def test_phone_numbers_anywhere_are_replaced(tmp_path, text):
    out = Pseudonymiser(load_key(tmp_path / "key")).text(text)
    digits = "".join(c for c in text if c.isdigit())
    assert digits[-7:] not in "".join(c for c in out if c.isdigit()) and "p-" in out


def test_ordinary_ids_and_raw_ids_stay(tmp_path):
    pseudo = Pseudonymiser(load_key(tmp_path / "key"))
    for plain in ("conv-0001", "csv-001", "order 4411", "a.jsonl:17", "gen-20260302"):
        assert pseudo.text(plain) == plain
    assert RAW_IDS.text("4915112345678:1773482400") == "4915112345678:1773482400"


def test_the_key_is_created_once_with_mode_0600(tmp_path, monkeypatch):
    path = tmp_path / "cfg" / "id-key"
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    assert key_path() == path
    first = load_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key() == first
    assert Pseudonymiser(first).text("+4915112345678") != Pseudonymiser(load_key(tmp_path / "other")).text(
        "+4915112345678"
    )


def test_a_key_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "key"
    load_key(path)
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        load_key(path)
