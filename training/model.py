"""The turn scorer of the model contract: a BERT-family encoder plus a per-token two-channel head.

``token_logits[B, T, 2]``: channel 0 = "this assistant turn performs general assistance" (bot head),
channel 1 = "this user turn asks for general assistance" (request head). A turn's logit is the mean of
its span on its channel; that mean is done outside the network (numpy at inference, ``span_logits``
here) so the ONNX graph and training compute the same thing.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

BOT_CHANNEL = 0
REQUEST_CHANNEL = 1
CHANNEL_OF_ROLE = {"assistant": BOT_CHANNEL, "user": REQUEST_CHANNEL}
HEAD_FILE = "turn_head.pt"
CHECKPOINT_SCORER_DIR = "scorer"  # TurnScorer.save folder in <checkpoint_dir>/<model id>/ (training.train)
# Eager attention exports to plain MatMul/Softmax ONNX ops that onnxruntime quantises well; the
# attention implementation is fixed here so training and export run the same graph.
ATTN_IMPLEMENTATION = "eager"


class TurnHead(nn.Module):
    """dropout -> Linear(H, H) -> GELU -> Linear(H, 2), applied to every token."""

    def __init__(self, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.act = nn.GELU()
        self.out = nn.Linear(hidden_size, 2)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.dense(self.dropout(hidden))))


class TurnScorer(nn.Module):
    def __init__(self, encoder: PreTrainedModel, *, dropout: float | None = None) -> None:
        super().__init__()
        self.encoder: PreTrainedModel = encoder
        config = encoder.config
        if dropout is None:
            dropout = float(getattr(config, "hidden_dropout_prob", 0.1))
        self.head = TurnHead(config.hidden_size, dropout)

    @property
    def config(self) -> PretrainedConfig:
        return self.encoder.config

    @classmethod
    def from_pretrained(cls, base_dir: str | Path, *, dropout: float | None = None) -> TurnScorer:
        """Pretrained encoder weights from ``base_dir`` (a transformers folder) + a freshly initialised head.

        Seed torch before calling: the head's initialisation draws from the global generator.
        """
        encoder = AutoModel.from_pretrained(
            str(base_dir), add_pooling_layer=False, attn_implementation=ATTN_IMPLEMENTATION
        )
        return cls(encoder, dropout=dropout)

    @classmethod
    def from_config(cls, config: PretrainedConfig, *, dropout: float | None = None) -> TurnScorer:
        """A randomly initialised encoder (tiny test models); seed torch before calling."""
        config._attn_implementation = ATTN_IMPLEMENTATION
        encoder = AutoModel.from_config(config, add_pooling_layer=False)
        return cls(encoder, dropout=dropout)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # token_type_ids are all zero for a single-segment window; passing them explicitly keeps the
        # exported graph free of the buffered default whose shape would be traced as a constant.
        hidden = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),
        ).last_hidden_state
        return self.head(hidden)

    def save(self, out_dir: str | Path) -> None:
        """Encoder in transformers format + head state dict, reloadable with ``load``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(str(out))
        torch.save(self.head.state_dict(), out / HEAD_FILE)

    @classmethod
    def load(cls, model_dir: str | Path) -> TurnScorer:
        """A model written by ``save`` (fine-tuned encoder and head)."""
        config = AutoConfig.from_pretrained(str(model_dir))
        config._attn_implementation = ATTN_IMPLEMENTATION
        encoder = AutoModel.from_pretrained(
            str(model_dir), config=config, add_pooling_layer=False, attn_implementation=ATTN_IMPLEMENTATION
        )
        model = cls(encoder)
        model.head.load_state_dict(torch.load(Path(model_dir) / HEAD_FILE, weights_only=True))
        return model


def span_logits(
    token_logits: torch.Tensor,
    window_index: torch.Tensor,
    starts: torch.Tensor,
    ends: torch.Tensor,
    channels: torch.Tensor,
) -> torch.Tensor:
    """Mean of ``token_logits[window, start:end, channel]`` for every span, vectorised.

    All index tensors are int64 of shape [S]; returns float [S].
    """
    seq = token_logits.shape[1]
    positions = torch.arange(seq, device=token_logits.device)
    inside = (positions[None, :] >= starts[:, None]) & (positions[None, :] < ends[:, None])
    weights = inside.to(token_logits.dtype) / (ends - starts).to(token_logits.dtype)[:, None]
    per_token = token_logits[window_index, :, channels]  # [S, T]
    return (per_token * weights).sum(dim=1)
