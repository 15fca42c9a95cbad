"""``TorchBackend``: a ``TurnScorer`` behind ``classifier.Classifier``, so torch scoring (export parity, the
benchmarks' torch rows and serve baseline, any evaluation of the torch model) goes through the same
rendering, batching, span means, aggregation, calibration and evidence as the shipped ONNX model.
(A training run evaluates the model folder it writes, i.e. the shipped ONNX graph, not the torch model.)

    clf = torch_classifier(model, config, tokenizer)           # config: a ModelConfig
    clf.classify(conversations)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from classifier.backend import DEFAULT_BATCH_SIZE, PaddedBatchBackend
from classifier.inference import Classifier
from classifier.model_config import TOKENIZER_FILE, ModelConfig
from training.model import TurnScorer


class TorchBackend(PaddedBatchBackend):
    """Runs ``model`` (put in eval mode) without gradients; ``bf16`` runs it under bf16 autocast on CPU.

    Every window's logits are independent of its batch-mates (padding is masked), so the exact batch
    size is the ONNX fp32 one.
    """

    def __init__(
        self,
        model: TurnScorer,
        *,
        pad_id: int,
        bf16: bool = False,
        exact_batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        super().__init__(pad_id=pad_id, exact_batch_size=exact_batch_size)
        self.model = model.eval()
        self.bf16 = bf16

    def padded_logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16),
        ):
            logits = self.model(torch.from_numpy(ids), torch.from_numpy(mask))
        return logits.float().numpy()


def torch_classifier(
    model: TurnScorer, config: ModelConfig, tokenizer: Tokenizer, *, bf16: bool = False
) -> Classifier:
    """A ``Classifier`` with ``config``'s rendering, calibration and threshold that runs ``model``."""
    backend = TorchBackend(model, pad_id=config.special_tokens.pad_id, bf16=bf16)
    return Classifier(None, config, backend, tokenizer)


def load_torch_classifier(scorer_dir: str | Path, model_dir: str | Path, *, bf16: bool = False) -> Classifier:
    """The torch scorer saved by a training run (``TurnScorer.save``) with the config and tokenizer of
    its model folder."""
    model_dir = Path(model_dir)
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    return torch_classifier(TurnScorer.load(scorer_dir), ModelConfig.load(model_dir), tokenizer, bf16=bf16)
