"""`scopeguard.json`: what a model folder must say about itself so inference reproduces training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tokenizers import Tokenizer

from classifier.render import RenderConfig
from classifier.schema import LABELS, BusinessProfile

MODEL_CONFIG_FILE = "scopeguard.json"
TOKENIZER_FILE = "tokenizer.json"
DEFAULT_ONNX_FILE = "model.onnx"
METRICS_FILE = "metrics.json"
PROVENANCE_FILE = "provenance.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
FORMAT_VERSION = 1


class SpecialTokens(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cls_id: int = Field(ge=0)
    sep_id: int = Field(ge=0)
    pad_id: int = Field(ge=0)


# (cls, sep, pad) names of the vocabularies the base models use: WordPiece (BERT, MiniLM) and
# SentencePiece (XLM-R, multilingual-e5).
SPECIAL_TOKEN_NAMES = (("[CLS]", "[SEP]", "[PAD]"), ("<s>", "</s>", "<pad>"))


def special_tokens_of(tokenizer: Tokenizer) -> SpecialTokens:
    """The [CLS]/[SEP]/[PAD] ids (or <s>/</s>/<pad>) of a base model's tokenizer."""
    for names in SPECIAL_TOKEN_NAMES:
        ids = [tokenizer.token_to_id(name) for name in names]
        if all(i is not None for i in ids):
            return SpecialTokens(cls_id=ids[0], sep_id=ids[1], pad_id=ids[2])
    expected = " or ".join("/".join(names) for names in SPECIAL_TOKEN_NAMES)
    raise ValueError(
        f"the tokenizer has none of the special token sets {expected}; a BERT or XLM-R vocabulary is needed"
    )


class Calibration(BaseModel):
    """Platt scaling of the flow logit: score = sigmoid(a * logit + b)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["platt", "none"] = "platt"
    a: float = Field(1.0, gt=0, description="must be positive so calibration keeps the ranking")
    b: float = 0.0


class BaseModelInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    package: str | None = None
    version: str | None = None


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    model_id: str = Field(min_length=1)
    labels: tuple[str, str] = LABELS  # type: ignore[assignment]
    render: RenderConfig
    special_tokens: SpecialTokens
    calibration: Calibration = Calibration()
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    aggregation: Literal["max"] = "max"
    onnx_file: str = DEFAULT_ONNX_FILE
    # fp32; int8 = dynamic quantisation (activations too, scaled per call); int8-weights = weight-only
    # (MatMul weights int8 in blocks, embedding tables int8 per row), activations quantised per row
    # (training/export.py: quantize_weights)
    precision: Literal["fp32", "int8", "int8-weights"] = "fp32"
    # int8-weights only: how the MatMul weights are stored. "dequantize-linear" (blocks of int8 codes
    # behind DequantizeLinear) lets the runtime multiply in int8 or fp32, per CPU
    # (classifier.compute.choose_compute); "matmulnbits" (models packaged before 2026-12-08) fixes int8.
    int8_weights_format: Literal["matmulnbits", "dequantize-linear"] = "matmulnbits"
    base_model: BaseModelInfo
    created: str | None = None
    # The business profile of conversations that bring none (classifier.profile): for a model folder
    # trained for one business.
    default_profile: BusinessProfile | None = None

    @model_validator(mode="after")
    def _supported(self) -> ModelConfig:
        if self.format_version != FORMAT_VERSION:
            raise ValueError(
                f"model format_version {self.format_version} is not supported (expected {FORMAT_VERSION})"
            )
        if tuple(self.labels) != LABELS:
            raise ValueError(f"labels must be {list(LABELS)}, found {list(self.labels)}")
        if self.int8_weights_format != "matmulnbits" and self.precision != "int8-weights":
            raise ValueError(
                f"int8_weights_format {self.int8_weights_format!r} needs precision int8-weights "
                f"(found {self.precision})"
            )
        return self

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelConfig:
        path = Path(model_dir) / MODEL_CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: a scopeguard model folder holds {MODEL_CONFIG_FILE}, "
                f"{TOKENIZER_FILE} and the ONNX file; pass --model with such a folder"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path} is not a valid model config: {exc}") from None

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / MODEL_CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if self.precision != "int8-weights":
            del data["int8_weights_format"]  # meaningless there: such folders stay as they were
        return data


THRESHOLD_DECIMALS = 3


def format_threshold(value: float) -> str:
    """The decision threshold as every command and the report print it (3 decimals)."""
    return f"{value:.{THRESHOLD_DECIMALS}f}"
