"""The distilled student (training.distill): its layers, its loss, its teacher, its config section."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from classifier.backend import pad_windows
from classifier.model_config import ModelConfig, special_tokens_of
from training.config import DistillConfig, OptimConfig, TrainConfig, load_config
from training.distill import DistillLoss, build_student, load_teacher, soft_loss, teacher_dir
from training.export import export_onnx, parity
from training.loop import Example, batch_span_logits, collate, deterministic, fit
from training.model import BOT_CHANNEL, REQUEST_CHANNEL, TurnScorer
from training.tiny import FALLBACK_TEXTS, tiny_encoder_config, train_tokenizer, windows_of_texts
from training.torch_backend import TorchBackend

REPO_ROOT = Path(__file__).resolve().parents[2]
VOCAB = 64


def tiny_teacher(layers: int = 4, vocab: int = VOCAB, seed: int = 0, init_std: float = 0.02) -> TurnScorer:
    """A random tiny scorer of ``layers`` encoder layers (``init_std``: BERT's initializer_range)."""
    config = tiny_encoder_config(vocab)
    config.num_hidden_layers = layers
    config.initializer_range = init_std
    torch.manual_seed(seed)
    return TurnScorer.from_config(config).eval()


def examples(count: int, seed: int) -> list[Example]:
    """Random one-window conversations, a request and a bot span each; half without targets, half of
    those general flows learnt through the flow-level (MIL) loss."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        length = rng.randint(8, 24)
        window = [1] + [rng.randint(4, VOCAB - 1) for _ in range(length - 2)] + [2]
        cut = length // 2
        target = float(i % 2) if i % 4 < 2 else -1.0
        out.append(Example(
            id=f"c{i}", label=i % 2, mil=i % 4 == 3, windows=[window], span_window=[0, 0],
            span_start=[1, cut], span_end=[cut, length - 1], span_turn=[0, 1],
            span_channel=[REQUEST_CHANNEL, BOT_CHANNEL], span_target=[target, target],
        ))  # fmt: skip
    return out


def layer_state(model: TurnScorer, index: int) -> dict[str, torch.Tensor]:
    return model.encoder.encoder.layer[index].state_dict()


# -- the student's weights ------------------------------------------------------------------------------


def test_student_keeps_the_chosen_layers_with_the_teachers_weights():
    teacher = tiny_teacher(layers=4)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = build_student(teacher, [0, 3], dropout=0.2)
    assert len(student.encoder.encoder.layer) == 2
    assert student.config.num_hidden_layers == 2
    for mine, theirs in ((0, 0), (1, 3)):
        a, b = layer_state(student, mine), layer_state(teacher, theirs)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(layer_state(student, 1)["output.dense.weight"],
                           layer_state(teacher, 1)["output.dense.weight"])  # fmt: skip
    for part in ("embeddings",):
        a, b = getattr(student.encoder, part).state_dict(), getattr(teacher.encoder, part).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(v, teacher.head.state_dict()[k]) for k, v in student.head.state_dict().items())
    assert student.head.dropout.p == 0.2
    assert all(p.requires_grad for p in student.parameters())
    # a copy: training the student leaves the teacher alone
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    assert teacher.config.num_hidden_layers == 4 and len(teacher.encoder.encoder.layer) == 4
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())


@pytest.mark.parametrize("layers", [[0, 0], [2, 1], [0, 4], [-1, 2], []])
def test_layers_outside_the_teacher_or_unordered_are_refused(layers):
    with pytest.raises(ValueError, match=r"student\.layers .* of the teacher's 4 encoder layers \(0\.\.3\)"):
        build_student(tiny_teacher(layers=4), layers)


@pytest.mark.parametrize("layers", [[0, 0], [2, 1], [-1, 2], []])
def test_config_refuses_bad_layers(layers):
    with pytest.raises(ValueError, match="layers"):
        DistillConfig(layers=layers)


def test_student_saves_loads_and_exports_with_onnx_parity(tmp_path):
    tokenizer = train_tokenizer(FALLBACK_TEXTS)
    special = special_tokens_of(tokenizer)
    windows = windows_of_texts(tokenizer)
    student = build_student(tiny_teacher(layers=4, vocab=tokenizer.get_vocab_size()), [1, 2]).eval()
    student.save(tmp_path / "scorer")
    again = TurnScorer.load(tmp_path / "scorer").eval()
    assert again.config.num_hidden_layers == 2 and len(again.encoder.encoder.layer) == 2
    ids, mask = pad_windows(windows[:6], special.pad_id)
    np.testing.assert_array_equal(
        TorchBackend(again, pad_id=0).padded_logits(ids, mask),
        TorchBackend(student, pad_id=0).padded_logits(ids, mask),
    )
    path = export_onnx(again, tmp_path / "model.onnx", pad_id=special.pad_id)
    from classifier.backend import onnx_session

    assert parity(again, onnx_session(path, threads=1), windows, pad_id=special.pad_id, batch_size=5) < 1e-4


# -- the loss -------------------------------------------------------------------------------------------


def test_soft_loss_of_a_student_equal_to_its_teacher_is_the_entropy_and_has_no_gradient():
    teacher = tiny_teacher(layers=2)
    with torch.no_grad():
        teacher.head.out.weight.mul_(20)  # logits far from 0, so the entropy is not ~log 2 everywhere
    student = build_student(teacher, [0, 1]).eval()  # every layer, no dropout: the teacher's logits
    batch = collate(examples(8, seed=1), pad_id=0)
    temperature = 2.0
    loss, _ = DistillLoss(teacher, alpha=1.0, temperature=temperature, mil_weight=1.0)(student, batch)
    with torch.no_grad():
        p = torch.sigmoid(batch_span_logits(teacher, batch) / temperature)
    entropy = -(p * p.log() + (1 - p) * (1 - p).log()).mean()
    assert p.min() < 0.2 or p.max() > 0.8
    torch.testing.assert_close(loss, entropy * temperature**2, rtol=1e-5, atol=1e-6)
    loss.backward()
    grads = [p.grad.abs().max() for p in student.parameters() if p.grad is not None]
    assert grads and max(grads) < 1e-5
    assert all(p.grad is None for p in teacher.parameters())


def test_soft_loss_grows_as_the_student_moves_away():
    teacher_logits = torch.tensor([-3.0, 0.5, 2.0])
    losses = [soft_loss(student, teacher_logits, 1.0) for student in (teacher_logits, teacher_logits + 1.0,
                                                                        -teacher_logits)]  # fmt: skip
    assert losses[0] < losses[1] < losses[2]


def test_alpha_zero_trains_exactly_like_fine_tuning():
    """The label part of the distillation loss is fit's own loss, MIL weight included."""
    optim = OptimConfig(batch_size=4, epochs=1, lr=1e-3, head_lr=1e-3, mil_weight=2.0)
    data = examples(16, seed=2)
    weights = []
    for distil in (False, True):
        with deterministic(seed=3, threads=1):
            teacher = tiny_teacher(layers=2, seed=1)
            student = build_student(teacher, [0, 1])
            loss_fn = DistillLoss(teacher, alpha=0.0, temperature=2.0, mil_weight=2.0) if distil else None
            fit(student, data, optim, pad_id=0, seed=3, loss_fn=loss_fn)
        weights.append(student.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_distillation_moves_the_students_logits_toward_the_teachers():
    data = examples(24, seed=4)
    with deterministic(seed=5, threads=1):
        # large weights: the dropped layers matter and the teacher's logits spread (both ~0 at BERT's 0.02)
        teacher = tiny_teacher(layers=4, seed=2, init_std=0.2)
        with torch.no_grad():
            teacher.head.out.weight.mul_(10)
        frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
        student = build_student(teacher, [0, 3], dropout=0.0)
        batch = collate(data, pad_id=0)

        def distance() -> float:
            student.eval()
            with torch.no_grad():
                gap = batch_span_logits(student, batch) - batch_span_logits(teacher, batch)
            return float(gap.abs().mean())

        start = distance()
        optim = OptimConfig(batch_size=8, epochs=8, lr=2e-3, head_lr=2e-3, warmup_ratio=0.0)
        loss_fn = DistillLoss(teacher, alpha=1.0, temperature=1.0, mil_weight=1.0)
        fitted = fit(student, data, optim, pad_id=0, seed=5, loss_fn=loss_fn)
        end = distance()
    assert start > 0.5
    assert end < 0.5 * start
    assert fitted.losses[-1] < fitted.losses[0]
    assert all(torch.equal(v, frozen[k]) for k, v in teacher.state_dict().items()), "the teacher stays frozen"
    assert not teacher.training


# -- the teacher ----------------------------------------------------------------------------------------


def test_default_teacher_is_the_checkpoint_of_the_model_in_teacher_model(tmp_path):
    model_dir = REPO_ROOT / "tests" / "fixtures" / "tiny_model"
    model_id = ModelConfig.load(model_dir).model_id
    distill = DistillConfig(teacher_model=model_dir)
    expected = re.escape(str(tmp_path / "runs" / model_id / "scorer"))
    with pytest.raises(FileNotFoundError, match=rf"teacher checkpoint {expected} not found.*run make train"):
        teacher_dir(distill, tmp_path / "runs")
    tiny_teacher(layers=2).save(tmp_path / "runs" / model_id / "scorer")
    teacher = load_teacher(distill, tmp_path / "runs")
    assert teacher.path == tmp_path / "runs" / model_id / "scorer"
    assert teacher.model_id == model_id and teacher.num_layers == 2 and len(teacher.sha256) == 64
    assert not teacher.model.training and not any(p.requires_grad for p in teacher.model.parameters())


def test_missing_teacher_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no teacher model: .*scopeguard\.json does not exist; run"):
        teacher_dir(DistillConfig(teacher_model=tmp_path / "models" / "default"), tmp_path / "runs")
    with pytest.raises(FileNotFoundError, match=r"teacher checkpoint .*nowhere not found"):
        teacher_dir(DistillConfig(teacher=tmp_path / "nowhere"), None)


# -- the config -----------------------------------------------------------------------------------------


def test_without_a_student_the_config_digest_and_copy_are_as_before():
    """The shipped model's config copy still hashes to the config_sha256 its run recorded."""
    folder = REPO_ROOT / "models" / "default"
    copied = TrainConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text()))
    assert copied.student is None
    assert copied.digest() == json.loads((folder / "provenance.json").read_text())["config_sha256"]
    assert "student" not in yaml.safe_load(copied.to_yaml())


@pytest.mark.parametrize(
    ("name", "layers", "output", "int8_aware"),
    [
        ("config-student.yaml", (0, 1, 2, 3), "models/student", False),
        ("config-int8.yaml", tuple(range(12)), "models/int8", True),
    ],
)
def test_student_configs_load_and_differ_from_the_teachers_only_where_they_say(
    name, layers, output, int8_aware
):
    config = load_config(REPO_ROOT / "training" / name)
    assert config.student is not None and config.student.layers == layers
    assert config.student.int8_aware is int8_aware
    assert config.output_dir == Path(output)
    assert 0 <= config.student.alpha <= 1 and config.student.temperature > 0
    again = TrainConfig.model_validate(yaml.safe_load(config.to_yaml()))
    assert again == config and again.digest() == config.digest()
    # the teacher's settings but for the student section, the output folder, the training budget (epochs,
    # windows), the encoder learning rate and, for the int8-aware run, the precision it tries first
    teacher = load_config(REPO_ROOT / "training" / "config.yaml")
    budget = ("max_train_windows", "lr", "epochs")
    optim = config.optim.model_copy(update={k: getattr(teacher.optim, k) for k in budget})
    quantization = config.quantization.model_copy(update={"precision": teacher.quantization.precision})
    update = {"student": None, "output_dir": teacher.output_dir, "optim": optim, "quantization": quantization}
    same = config.model_copy(update=update)
    assert same == teacher


def test_student_without_teacher_or_checkpoint_dir_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"student": {"layers": [0, 1]}, "checkpoint_dir": None}))
    with pytest.raises(ValueError, match=r"student\.teacher is not set and checkpoint_dir is None"):
        load_config(path)
    path.write_text(yaml.safe_dump({"student": {"layers": [1, 0]}}))
    with pytest.raises(ValueError, match=r"student\.layers.*distinct, ascending"):
        load_config(path)
