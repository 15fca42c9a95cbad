"""Language tables: every language folder has valid tables, and a broken table says file and key."""

from __future__ import annotations

import shutil

import pytest
import yaml

from datagen.fragments import LANGUAGES
from datagen.tables import (
    TABLES_FILE,
    TABLES_ROOT,
    TablesError,
    countries,
    language_folders,
    load_tables,
    tables,
)


def test_every_language_folder_has_valid_tables():
    assert set(language_folders()) == {"en", "de", "pt-BR", "es"} and set(LANGUAGES) == set(
        language_folders()
    )
    for lang in language_folders():
        table = tables(lang)
        assert len(table.slots.months) == 12
        assert table.slots.default_country in countries().countries


def _copy(tmp_path, edit):
    lang_dir = tmp_path / "xx"
    lang_dir.mkdir()
    data = yaml.safe_load((TABLES_ROOT / "en" / TABLES_FILE).read_text(encoding="utf-8"))
    edit(data)
    (lang_dir / TABLES_FILE).write_text(yaml.safe_dump(data, allow_unicode=True))
    return lang_dir


def test_a_missing_key_names_the_file_and_the_key(tmp_path):
    lang_dir = _copy(tmp_path, lambda d: d["slots"].pop("names"))
    with pytest.raises(TablesError, match=r"xx/tables\.yaml: slots\.names: Field required"):
        load_tables(lang_dir)


def test_a_wrong_type_or_a_broken_pattern_names_the_key(tmp_path):
    lang_dir = _copy(tmp_path, lambda d: d["realism"].update(writes_accents="sometimes"))
    with pytest.raises(TablesError, match=r"realism\.writes_accents"):
        load_tables(lang_dir)
    shutil.rmtree(lang_dir)
    lang_dir = _copy(tmp_path, lambda d: d["conversation"].update(waiting="(unclosed"))
    with pytest.raises(TablesError, match=r"conversation\.waiting: .*not a valid regular expression"):
        load_tables(lang_dir)
    shutil.rmtree(lang_dir)
    lang_dir = _copy(tmp_path, lambda d: d["slots"].update(date_formats=["{day}/{year}"]))
    with pytest.raises(TablesError, match=r"slots\.date_formats: .*\['year'\]"):
        load_tables(lang_dir)


def test_a_language_folder_without_tables_is_an_error(tmp_path):
    (tmp_path / "xx").mkdir()
    with pytest.raises(TablesError, match=r"xx/tables\.yaml: missing"):
        load_tables(tmp_path / "xx")
    with pytest.raises(TablesError, match="no language folder"):
        tables("xx")
