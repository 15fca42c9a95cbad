"""The fragment validator names file and family for every problem the content writers can make."""

from __future__ import annotations

import pytest
from datagen_samples import CATEGORY, COMMON, DOMAIN

from datagen.fragments import FragmentError, load_fragments, load_fragments_strict


def test_valid_files_load_with_quota_warnings_only(tmp_path, write_lang):
    write_lang(tmp_path)
    fragments, report = load_fragments(tmp_path, ("en",))
    assert report.errors == []
    assert any("brief asks for >= 10" in w for w in report.warnings)
    assert fragments["en"].domains["telecom"].families[0].uid == "en/business/telecom/roaming"


def test_braces_in_general_answers_stay_literal(tmp_path, write_lang):
    write_lang(tmp_path)
    _, report = load_fragments(tmp_path, ("en",))
    assert not any("unknown slot" in e for e in report.errors)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        (DOMAIN.replace("{city}", "{town}"), "family 'roaming': 'user[0]' uses unknown slot {town}"),
        (
            DOMAIN.replace('    bot: ["Send ROAM to 4141, {amount}/day."]\n', ""),
            "family 'roaming': 'bot' is missing",
        ),
        (DOMAIN + DOMAIN.split("families:\n")[1], "family 'roaming': duplicate id"),
        (DOMAIN.replace("kind: exchange", "kind: chat"), "'kind' must be one of exchange, explanation"),
        (DOMAIN.replace("{city}", "{product}"), "unknown slot {product}"),  # no products listed
        (
            DOMAIN.replace("domain: telecom", "domain: telco"),
            "'domain' is 'telco' but the file name says 'telecom'",
        ),
    ],
)
def test_domain_errors_name_file_and_family(tmp_path, write_lang, domain, expected):
    write_lang(tmp_path, domain=domain)
    _, report = load_fragments(tmp_path, ("en",))
    matching = [e for e in report.errors if expected in e]
    assert matching, report.errors
    assert "telecom.yaml" in matching[0]
    with pytest.raises(FragmentError, match=r"telecom\.yaml"):
        load_fragments_strict(tmp_path, ("en",))


def test_common_errors(tmp_path, write_lang):
    write_lang(tmp_path, common=COMMON.replace('insist_user: ["pls"]\n', "").replace("{topic}", "{subject}"))
    _, report = load_fragments(tmp_path, ("en",))
    assert any("'insist_user' is missing" in e for e in report.errors)
    assert any("unknown slot {subject}" in e for e in report.errors)


def test_broken_yaml_is_an_error_naming_the_file(tmp_path, write_lang):
    write_lang(tmp_path, category="category: coding\nfamilies: [\n")
    _, report = load_fragments(tmp_path, ("en",))
    assert any("coding.yaml: not valid YAML" in e for e in report.errors)


def test_general_family_needs_deflect_topic(tmp_path, write_lang):
    write_lang(tmp_path, category=CATEGORY.replace('    deflect_topic: "programming"\n', ""))
    _, report = load_fragments(tmp_path, ("en",))
    assert any("family 'reverse_string': 'deflect_topic'" in e for e in report.errors)


def test_a_long_line_written_in_two_families_is_a_warning(tmp_path, write_lang):
    long_line = 'user: ["hello, is roaming included abroad?"]'
    domain = DOMAIN.replace('user: ["roaming to {city}?"]', long_line)
    domain += domain.split("families:\n")[1].replace("id: roaming", "id: roaming_again")
    write_lang(tmp_path, domain=domain)
    _, report = load_fragments(tmp_path, ("en",))
    assert report.errors == []
    assert any("is written in 2 families" in w and "roaming_again" in w for w in report.warnings)


def test_offer_of_names_known_kinds_of_business(tmp_path, write_lang):
    topic = '    deflect_topic: "programming"\n'
    bad = CATEGORY.replace(topic, topic + "    offer_of: [bakery]\n")
    write_lang(tmp_path, category=bad)
    _, report = load_fragments(tmp_path, ("en",))
    assert any("family 'reverse_string': 'offer_of' holds 'bakery'" in e for e in report.errors)
