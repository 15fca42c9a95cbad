"""Zero-shot baseline: the untuned base encoder, mean-pooled, compared with label prototype descriptions.

score = sigmoid(scale * (cos(flow, general prototype) - cos(flow, business prototype))); threshold 0.5.
It shows how much of the task the pretrained encoder solves without the company's labelled data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModel

from classifier.calibration import sigmoid_array
from classifier.model_config import TOKENIZER_FILE, special_tokens_of
from classifier.render import render_text
from classifier.schema import NEGATIVE_LABEL, POSITIVE_LABEL, Conversation

MAX_TOKENS = 256
SCALE = 20.0  # cosine differences are small; this spreads scores over (0, 1) without changing the ranking


class ZeroShot:
    def __init__(self, base_dir: Path, prototypes: dict[str, list[str]], *, batch_size: int = 16) -> None:
        missing = {NEGATIVE_LABEL, POSITIVE_LABEL} - set(prototypes)
        if missing:
            raise ValueError(f"zero-shot prototypes need descriptions for {sorted(missing)}")
        self.tokenizer = Tokenizer.from_file(str(base_dir / TOKENIZER_FILE))
        pad_id = special_tokens_of(self.tokenizer).pad_id
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=self.tokenizer.id_to_token(pad_id))
        self.model = AutoModel.from_pretrained(str(base_dir), add_pooling_layer=False).eval()
        self.batch_size = batch_size
        self.prototypes = {
            label: self._unit(self.embed(texts).mean(axis=0)) for label, texts in prototypes.items()
        }

    @staticmethod
    def _unit(v: np.ndarray) -> np.ndarray:
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised last hidden states (sentence-transformers' pooling for this model)."""
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                enc = self.tokenizer.encode_batch(list(texts[start : start + self.batch_size]))
                ids = torch.tensor([e.ids for e in enc])
                mask = torch.tensor([e.attention_mask for e in enc])
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 1))

    def scores(self, convs: Sequence[Conversation]) -> np.ndarray:
        emb = self.embed([render_text(c) for c in convs])
        diff = emb @ self.prototypes[POSITIVE_LABEL] - emb @ self.prototypes[NEGATIVE_LABEL]
        return sigmoid_array(SCALE * diff)
