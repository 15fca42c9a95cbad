"""MODEL_CARD.md of a trained model folder, written from metrics.json and provenance.json content."""

from __future__ import annotations

from typing import Any

from classifier.model_config import ModelConfig
from classifier.model_metrics import BinaryMetrics, Distillation, ModelMetrics, SplitMetrics
from training.config import TrainConfig

BREAKDOWN_KEYS = ("lang", "domain", "category", "source")
OWN_PREFIX = "own/"  # the company's reviewed conversations (training.train.with_own_data)


def _f(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _split_table(splits: dict[str, SplitMetrics]) -> list[str]:
    lines = [
        "| split | flows | general | accuracy | macro-F1 | P (general) | R (general) | ROC-AUC | PR-AUC "
        "| ECE | evidence acc. |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in splits.items():
        o = m.overall
        lines.append(
            f"| {name} | {o.n} | {o.positives} | {_f(o.accuracy)} | {_f(o.macro_f1)} | "
            f"{_f(o.general_precision)} | {_f(o.general_recall)} | {_f(o.roc_auc)} | "
            f"{_f(o.pr_auc)} | {_f(o.ece)} | {_f(m.evidence.accuracy)} |"
        )
    return lines


def _baseline_table(
    baselines: dict[str, dict[str, BinaryMetrics]], model_splits: dict[str, SplitMetrics]
) -> list[str]:
    lines = ["| split | model macro-F1 | " + " | ".join(f"{b} macro-F1" for b in baselines) + " |"]
    lines.append("|---|---:|" + "---:|" * len(baselines))
    names = sorted({s for b in baselines.values() for s in b}, key=list(model_splits).index)
    for split in names:
        cells = [_f(m.macro_f1 if (m := baselines[b].get(split)) else None) for b in baselines]
        model_f1 = _f(model_splits[split].overall.macro_f1)
        lines.append(f"| {split} | {model_f1} | " + " | ".join(cells) + " |")
    return lines


def _breakdown(split: str, metrics: SplitMetrics, key: str) -> list[str]:
    groups = getattr(metrics, f"by_{key}")
    if not groups:
        return []
    lines = [
        f"**{split} by {key}**",
        "",
        f"| {key} | flows | accuracy | macro-F1 | R (general) |",
        "|---|---:|---:|---:|---:|",
    ]
    for value, g in groups.items():
        lines.append(f"| {value} | {g.n} | {_f(g.accuracy)} | {_f(g.macro_f1)} | {_f(g.general_recall)} |")
    return [*lines, ""]


def _own_section(splits: dict[str, SplitMetrics]) -> list[str]:
    """The company's reviewed traffic, reported apart from the generated data (empty without it)."""
    own = {name: m for name, m in splits.items() if name.startswith(OWN_PREFIX)}
    if not own:
        return []
    return [
        "## The company's reviewed traffic",
        "Conversations picked from the company's archive and labelled in `scopeguard review` "
        "(`data/own/`), split by conversation: `own/train` was trained on, `own/validation` joined "
        "calibration and the threshold, **`own/test`** is the honest number on the company's own traffic. "
        "Picked conversations over-represent hard cases, so these numbers are lower than on a random "
        "sample of the archive.",
        "",
        *_split_table(own),
        "",
    ]


def _distillation_lines(distillation: Distillation | None) -> list[str]:
    """A student's teacher and kept layers (training.distill); nothing for a fine-tuned model."""
    if distillation is None:
        return []
    d = distillation
    int8 = " Trained int8-aware: dynamic int8's rounding in every layer." if d.int8_aware else ""
    return [
        f"- Distilled student of **{d.teacher_model_id or 'a teacher outside the runs folder'}**: keeps "
        f"encoder layers {d.layers} of its {d.teacher_layers}; loss (1 - {d.alpha}) x labels + {d.alpha} x "
        f"the teacher's turn scores at temperature {d.temperature} (teacher checkpoint in provenance.json)."
        + int8
    ]


def render_model_card(
    model: ModelConfig, metrics: ModelMetrics, provenance: dict[str, Any], config: TrainConfig
) -> str:
    splits = metrics.splits
    test = next((s for s in config.data.test_splits if s in splits), config.data.validation_splits[0])
    export = metrics.export
    cal = metrics.calibration
    training = metrics.training
    lines = [
        f"# {model.model_id}",
        "",
        "Decides, flow by flow, whether a chatbot acted as a general-purpose AI assistant "
        "(`general_assistance`) or gave bounded business support (`business_support`). The bot's behaviour "
        "decides; with no bot reply, the request is judged.",
        "",
        "## Model",
        f"- Base encoder: {model.base_model.name} (package {model.base_model.package} "
        f"{model.base_model.version}), fine-tuned as a per-token turn scorer (model contract).",
        *_distillation_lines(training.distillation),
        f"- Rendering {model.render.version}: windows of {model.render.max_tokens} tokens, turns capped at "
        f"{model.render.max_turn_tokens}.",
        f"- Flow score: max over bot-turn logits (else user-request logits), Platt-calibrated "
        f"(a={cal.a:.4f}, b={cal.b:.4f}); threshold {model.threshold:.4f} "
        f"({metrics.threshold_policy.policy}, "
        f"target precision {config.threshold.target_precision}).",
        f"- Precision shipped: **{model.precision}** — {export.precision_reason}. "
        f"ONNX exporter: {export.exporter} (max |ONNX-torch| logit {export.parity_max_abs_diff:.2e}).",
        f"- Calibration (validation ECE): {_f(cal.validation_ece_before)} before, "
        f"{_f(cal.validation_ece_after)} after.",
        "",
        "## Training data",
        f"Only files listed in `{provenance['data_manifest']['path']}` with a matching sha256 and "
        "`exclusive_use: true` (manifest sha256 "
        f"`{provenance['data_manifest']['sha256'][:16]}…`):",
        "",
        *[f"- `{f['path']}` ({f['split']}, sha256 `{f['sha256'][:12]}…`)" for f in provenance["data_files"]],
        "",
        f"{training.train_conversations} training conversations ({training.train_windows} windows) of "
        f"{training.train_conversations_available} available; {training.steps} steps in "
        f"{training.seconds:.0f} s ({training.steps_per_second:.2f} steps/s), seed {config.seed}.",
        "",
        "## Results",
        "Scores of the shipped ONNX model. The threshold and calibration were fitted on validation, so "
        f"**{test}** is the honest number. Sets under `realdev/` are real public conversations, never "
        "trained or tuned on.",
        "",
        *_split_table({k: v for k, v in splits.items() if not k.startswith(OWN_PREFIX)}),
        "",
        *_own_section(splits),
        "## Baselines (threshold 0.5)",
        "",
        *(_baseline_table(metrics.baselines, splits) if metrics.baselines else ["(not run)"]),
        "",
        "## Breakdowns",
        "",
        *[line for key in BREAKDOWN_KEYS for line in _breakdown(test, splits[test], key)],
        "## Intended use and limits",
        "- Audit of the company's own bot transcripts against the WhatsApp Business terms; a flag is "
        "evidence for review (see each prediction's evidence turns), not an automatic verdict.",
        "- Trained on the company's own labelled transcripts only; accuracy on other bots, languages or "
        "domains is measured above only where realdev data exists.",
        "",
        "## Provenance",
        f"- git commit: {provenance['git']['commit']} (dirty: {provenance['git']['dirty']})",
        f"- config sha256: `{provenance['config_sha256']}` (copy in config.yaml)",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in provenance['libraries'].items())}",
        "",
    ]
    return "\n".join(lines)
