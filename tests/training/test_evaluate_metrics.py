"""Flow metrics, calibration, threshold policy, and the eval command on a tiny model folder."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from classifier.calibration import calibrate_array
from classifier.inference import TurnLogits
from classifier.model_config import Calibration
from classifier.schema import Conversation
from training.calibration import choose_threshold, fit_platt
from training.evaluate import (
    binary_metrics,
    evaluate_flows,
    evidence_accuracy,
    expected_calibration_error,
)


def test_binary_metrics_match_hand_counts():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.4, 0.8, 0.3, 0.7, 0.9])
    m = binary_metrics(y, s, 0.5)
    assert m["confusion_matrix"]["matrix"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["general_precision"] == pytest.approx(2 / 3) and m["general_recall"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == pytest.approx(6 / 9)  # 6 of the 9 (general, business) pairs ranked right


def test_single_label_sets_have_no_auc():
    m = binary_metrics([0, 0, 0], [0.1, 0.2, 0.9], 0.5)
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["accuracy"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx(0.8)  # F1 of the one label present, not averaged with a 0


def test_ece_is_zero_when_confidence_matches_frequency_and_large_when_not():
    y = np.array([1, 0] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.where(y == 1, 0.05, 0.95)) > 0.8


def test_platt_recovers_a_known_sigmoid_and_lowers_ece():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))).astype(int)
    cal, note = fit_platt(logits, y)
    assert note is None
    assert cal.a == pytest.approx(0.5, abs=0.08) and cal.b == pytest.approx(-1.0, abs=0.15)
    before = expected_calibration_error(y, calibrate_array(logits, None))
    after = expected_calibration_error(y, calibrate_array(logits, cal))
    assert after < before / 2


def test_platt_refuses_an_inverted_ranking():
    cal, note = fit_platt(np.array([3.0, 2.0, -2.0, -3.0]), np.array([0, 0, 1, 1]))
    assert cal.a == 1.0 and "not positive" in note


def test_threshold_reaches_target_precision_with_max_recall():
    y = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 1])
    s = np.linspace(0.05, 0.95, 10)
    threshold, info = choose_threshold(y, s, target_precision=0.95, fallback=0.5)
    assert threshold == pytest.approx(s[6])  # lowest threshold whose predictions are all general
    assert info["validation_precision"] == 1.0 and info["validation_recall"] == pytest.approx(0.8)
    threshold, info = choose_threshold(y, s, target_precision=0.8, fallback=0.5)
    assert threshold == pytest.approx(s[4]) and info["validation_recall"] == 1.0


def test_threshold_falls_back_when_precision_is_unreachable():
    threshold, info = choose_threshold(
        np.array([1, 0]), np.array([0.1, 0.9]), target_precision=0.95, fallback=0.5
    )
    assert threshold == 0.5 and info["policy"] == "fallback"


def _conv(i, label, general_turns=(), lang="en"):
    turns = [{"role": "user", "text": "q"}, {"role": "assistant", "text": "a"}, {"role": "user", "text": "q"},
             {"role": "assistant", "text": "a"}]  # fmt: skip
    meta = {"general_turns": list(general_turns), "domain": "bank" if i % 2 else "shop"}
    return Conversation.model_validate(
        {"id": f"c{i}", "turns": turns, "label": label, "lang": lang, "meta": meta}
    )


def test_evidence_accuracy_counts_top_bot_turn_in_general_turns():
    convs = [
        _conv(0, "general_assistance", [3]),
        _conv(1, "general_assistance", [1]),
        _conv(2, "business_support"),
    ]
    raw = [TurnLogits({1: ("assistant", 0.0), 3: ("assistant", 2.0)}, 2.0, "assistant")] * 3
    assert evidence_accuracy(convs, raw) == {"n": 2, "accuracy": 0.5}


def test_evaluate_flows_breaks_down_and_skips_unlabelled():
    general = [i % 3 == 0 for i in range(10)]
    convs = [
        _conv(
            i,
            "general_assistance" if g else "business_support",
            [3] if g else [],
            lang="de" if i < 4 else "en",
        )
        for i, g in enumerate(general)
    ]
    convs.append(Conversation.model_validate({"id": "u", "turns": [{"role": "user", "text": "x"}]}))
    logits = [1.0 if c.label == "general_assistance" else -1.0 for c in convs]
    raw = [TurnLogits({3: ("assistant", z)}, z, "assistant") for z in logits]
    out = evaluate_flows(convs, raw, Calibration(a=2.0, b=0.0), 0.5)
    assert out["unlabelled"] == 1 and out["overall"]["n"] == 10 and out["overall"]["accuracy"] == 1.0
    assert {k: v["n"] for k, v in out["by_lang"].items()} == {"de": 4, "en": 6}
    assert set(out["by_domain"]) == {"bank", "shop"} and "by_source" not in out
    assert out["overall"]["ece"] < out["ece_uncalibrated"]


def test_neg_inf_flow_logit_scores_zero():
    assert calibrate_array(np.array([-math.inf, 0.0]), Calibration(a=1.0, b=0.0)).tolist() == [0.0, 0.5]


def test_evaluate_module_does_not_import_torch():
    code = "import sys, training.evaluate; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )


def test_eval_command_reports_metrics_json(tiny_model_dir, tmp_path, data_tools, capsys):
    from cli.main import main

    data = data_tools.write_gz(tmp_path / "eval.jsonl.gz", data_tools.conversations(12, 0, 4))
    code = main(["eval", str(data), "--model", str(tiny_model_dir), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["overall"]["n"] == 12 and result["invalid"] == 0
    assert result["model"].startswith("scopeguard-tiny-r1-")
    assert set(result["by_lang"]) <= {"en", "de"}


def test_eval_command_counts_invalid_records(tiny_model_dir, tmp_path, data_tools, capsys):
    from cli.main import main

    records = data_tools.conversations(4, 0, 4)
    records[0]["turns"] = []
    data = data_tools.write_gz(tmp_path / "eval.jsonl.gz", records)
    assert main(["eval", str(data), "--model", str(tiny_model_dir)]) == 1
    captured = capsys.readouterr()
    assert "turns is empty" in captured.err and "3 evaluated" in captured.out and "1 invalid" in captured.out


def test_scope_pair_accuracy_counts_pairs_with_both_members_right():
    from classifier.schema import Conversation, Turn
    from training.evaluate import scope_pair_accuracy

    def conv(pair: str, label: str, lang: str) -> Conversation:
        return Conversation(
            id=f"{pair}-{label}", turns=[Turn(role="user", text="x")], label=label, lang=lang,
            meta={"pair_id": pair},
        )  # fmt: skip

    convs = [conv("p1", "business_support", "en"), conv("p1", "general_assistance", "en"),
             conv("p2", "business_support", "de"), conv("p2", "general_assistance", "de"),
             conv("p3", "business_support", "de")]  # fmt: skip
    y_true = np.array([0, 1, 0, 1, 0])
    y_pred = np.array([0, 1, 0, 0, 0])  # p1 right, p2 half right, p3 alone
    result = scope_pair_accuracy(convs, y_true, y_pred)
    assert result == {
        "pairs": 2, "accuracy": 0.5, "incomplete": 1,
        "by_lang": {"de": {"pairs": 1, "accuracy": 0.0}, "en": {"pairs": 1, "accuracy": 1.0}},
    }  # fmt: skip
    assert scope_pair_accuracy(convs[4:], y_true[4:], y_pred[4:]) is None
