"""onnxruntime session options: services let idle intra-op threads sleep; batch scoring keeps spinning."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from classifier.backend import session_options
from classifier.inference import Classifier

SPINNING = "session.intra_op.allow_spinning"


def spinning_entry(options: ort.SessionOptions) -> str | None:
    try:
        return options.get_session_config_entry(SPINNING)
    except Exception:  # onnxruntime raises for an entry that was never set
        return None


def test_spinning_is_switched_off_only_on_request() -> None:
    assert spinning_entry(session_options(2, allow_spinning=False)) == "0"
    assert spinning_entry(session_options(2)) is None  # onnxruntime's default: spin


def test_a_service_classifier_does_not_spin(tiny_model_dir: Path) -> None:
    from serve.service import load_model

    served = load_model(tiny_model_dir, threads=1).classifier.backend
    assert spinning_entry(served.session.get_session_options()) == "0"
    plain = Classifier.load(tiny_model_dir, threads=1).backend
    assert spinning_entry(plain.session.get_session_options()) is None
