"""The naive baseline service of ``bench_serve.py``: FastAPI calling a torch model once per request.

What a first version of the service would look like: a synchronous endpoint (FastAPI's thread pool),
the conversation scored by the torch model through ``Classifier`` (``training.torch_backend``: the same
rendering, span means, aggregation and calibration as the service), one torch forward pass per request
in fp32, no micro-batching across requests, no ONNX. The model has the architecture of the served one
(the base encoder from the model folder's training config + the turn head), so the comparison measures
the serving path, not the model size; for the tiny test model a random encoder of the tiny config is
used. With ``--torch-model`` (the training run's ``runs/<model id>/scorer``) it serves the fine-tuned
weights themselves.

    python -m benchmarks.baseline_app --model DIR --port 8090 [--threads N]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
import uvicorn
from fastapi import FastAPI, HTTPException
from tokenizers import Tokenizer

from benchmarks.common import pipeline_style_logits
from classifier.model_config import TOKENIZER_FILE, ModelConfig
from classifier.schema import RecordError, parse_conversation
from training.config import CONFIG_COPY_FILE, load_config
from training.model import TurnScorer
from training.tiny import TINY_NAME, tiny_encoder_config
from training.torch_backend import torch_classifier


def build_torch_model(model_dir: Path, tokenizer: Tokenizer, torch_model: Path | None = None) -> TurnScorer:
    if torch_model is not None:  # the fine-tuned scorer of the training run (runs/<model id>/scorer)
        return TurnScorer.load(torch_model).eval()
    config = ModelConfig.load(model_dir)
    training_config = model_dir / CONFIG_COPY_FILE
    if training_config.is_file():
        base_dir = load_config(training_config).base_model.locate()
        return TurnScorer.from_pretrained(base_dir).eval()
    if TINY_NAME in config.model_id:
        return TurnScorer.from_config(tiny_encoder_config(tokenizer.get_vocab_size())).eval()
    raise FileNotFoundError(
        f"{model_dir / CONFIG_COPY_FILE} not found: the baseline needs the training config to find "
        "the base encoder"
    )


def create_app(model_dir: Path, torch_model: Path | None = None) -> FastAPI:
    config = ModelConfig.load(model_dir)
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    clf = torch_classifier(build_torch_model(model_dir, tokenizer, torch_model), config, tokenizer)
    app = FastAPI(title="naive baseline")

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/classify")
    def classify(body: dict[str, Any]) -> dict[str, Any]:
        try:
            conv = parse_conversation(body, source="request")
        except RecordError as exc:
            raise HTTPException(422, exc.describe()) from None
        (raw,) = pipeline_style_logits(clf, [conv])  # one forward pass over the conversation's windows
        score = clf.calibrate(raw.flow_logit)
        label = "general_assistance" if score >= config.threshold else "business_support"
        return {"id": conv.id, "label": label, "score": round(score, 4), "model": "naive-torch-baseline"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--torch-model", type=Path, help="TurnScorer.save folder of the fine-tuned model")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    app = create_app(args.model, args.torch_model)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
