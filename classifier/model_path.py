"""Where the model folder is when a command is not given ``--model``.

Order: the ``--model`` argument; else the ``SCOPEGUARD_MODEL`` environment variable; else the shipped
model, package data of ``classifier`` (``classifier/default_model``: in a source tree a link to
``models/default``, where ``make train`` writes it; in an installed wheel the files themselves).
Relative paths are taken from the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_ENV_VAR = "SCOPEGUARD_MODEL"
DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"


def resolve_model_dir(given: str | Path | None = None) -> Path:
    """The model folder to use (see the module docstring); FileNotFoundError saying what to do if absent."""
    if given is not None:
        path, origin = Path(given), "--model"
    elif os.environ.get(MODEL_ENV_VAR):
        path, origin = Path(os.environ[MODEL_ENV_VAR]), f"${MODEL_ENV_VAR}"
    else:
        path, origin = DEFAULT_MODEL_DIR, "the default model folder"
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} ({origin}) is not a model folder: train one with `make train`, or pass --model DIR "
            f"(or set {MODEL_ENV_VAR}) holding scopeguard.json, tokenizer.json and the ONNX file"
        )
    return path
