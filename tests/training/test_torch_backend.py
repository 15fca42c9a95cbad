"""The torch scorer and its exported ONNX graph give the same predictions through the one Classifier path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from classifier.backend import DEFAULT_BATCH_SIZE, Backend, OnnxBackend
from classifier.inference import Classifier
from classifier.model_config import BaseModelInfo, Calibration, special_tokens_of
from classifier.render import RenderConfig
from training.model import TurnScorer
from training.package import write_model_folder
from training.tiny import FALLBACK_TEXTS, conversations_from_texts, tiny_encoder_config, train_tokenizer
from training.torch_backend import TorchBackend, torch_classifier

RENDER = RenderConfig(max_tokens=64, max_turn_tokens=32, turn_tail_tokens=8, context_tokens=16,
                      max_system_tokens=8)  # fmt: skip


@pytest.fixture(scope="module")
def torch_and_onnx(tmp_path_factory):
    """A random tiny scorer and the fp32 model folder exported from it, both behind ``Classifier`` with
    the folder's config: Platt calibration and a threshold at the median flow score (both labels occur)."""
    tokenizer = train_tokenizer(FALLBACK_TEXTS)
    torch.manual_seed(11)
    model = TurnScorer.from_config(tiny_encoder_config(tokenizer.get_vocab_size())).eval()
    out = tmp_path_factory.mktemp("fp32")
    write_model_folder(
        out,
        model=model,
        tokenizer=tokenizer,
        render=RENDER,
        special_tokens=special_tokens_of(tokenizer),
        base_model=BaseModelInfo(name="tiny-random-bert"),
        model_name="tiny",
        check_convs=conversations_from_texts(FALLBACK_TEXTS),
        calibration=Calibration(a=3.0, b=0.2),
        precision="fp32",
        exporters=("legacy",),
    )
    loaded = Classifier.load(out, threads=1)
    scores = [p.score for p in loaded.classify(conversations_from_texts(FALLBACK_TEXTS))]
    config = loaded.config.model_copy(update={"threshold": float(np.median(scores))})
    onnx_clf = Classifier(out, config, loaded.backend, loaded.encoder.tokenizer)
    return torch_classifier(model, config, loaded.encoder.tokenizer), onnx_clf


def test_both_backends_satisfy_the_protocol(torch_and_onnx):
    torch_clf, onnx_clf = torch_and_onnx
    assert isinstance(torch_clf.backend, TorchBackend) and isinstance(torch_clf.backend, Backend)
    assert isinstance(onnx_clf.backend, OnnxBackend) and isinstance(onnx_clf.backend, Backend)
    assert torch_clf.default_batch_size == onnx_clf.default_batch_size == DEFAULT_BATCH_SIZE


def test_torch_and_onnx_predictions_agree(torch_and_onnx):
    torch_clf, onnx_clf = torch_and_onnx
    convs = conversations_from_texts(FALLBACK_TEXTS)
    got, want = torch_clf.classify(convs), onnx_clf.classify(convs)
    assert [p.id for p in got] == [p.id for p in want]
    for t, o in zip(got, want, strict=True):
        assert t.score == pytest.approx(o.score, abs=1e-5)
        assert t.turn_scores.keys() == o.turn_scores.keys()
        np.testing.assert_allclose(list(t.turn_scores.values()), list(o.turn_scores.values()), atol=1e-5)
        if abs(o.score - o.threshold) > 1e-4:
            assert t.label == o.label
        assert [e.turn for e in t.evidence] == [e.turn for e in o.evidence]
        assert t.model == o.model and t.threshold == o.threshold
    assert {p.label for p in want} == {"business_support", "general_assistance"}, "both labels exercised"


def test_bf16_autocast_runs_through_the_same_path(torch_and_onnx):
    torch_clf, onnx_clf = torch_and_onnx
    backend = TorchBackend(torch_clf.backend.model, pad_id=torch_clf.backend.pad_id, bf16=True)
    bf16 = Classifier(None, onnx_clf.config, backend, torch_clf.encoder.tokenizer)
    convs = conversations_from_texts(FALLBACK_TEXTS)
    fp32 = np.array([r.flow_logit for r in onnx_clf.turn_logits_many(convs)])
    low = np.array([r.flow_logit for r in bf16.turn_logits_many(convs)])
    assert np.abs(fp32 - low).max() < 0.1
    assert not np.array_equal(fp32, low), "bf16 really ran"
