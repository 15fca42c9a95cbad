"""What runs the network: the ``Backend`` protocol of ``Classifier`` and its onnxruntime implementation.

A backend turns windows (``classifier.render.Window``) into per-token logits; everything around it —
rendering, length batching, span means, aggregation, calibration, evidence — is ``Classifier``'s and the
same for every backend. The core ships ``OnnxBackend``; training adds ``training.torch_backend.TorchBackend``
(torch is never imported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import onnxruntime as ort

from classifier.compute import Compute, fixed_compute
from classifier.render import Window

DEFAULT_BATCH_SIZE = 16
# One window per onnxruntime call for int8: dynamic quantisation scales activations over the whole batch,
# so batching would make a score depend on its batch-mates (measured as fast on CPU: nothing is padded).
EXACT_INT8_BATCH_SIZE = 1
INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS = "input_ids", "attention_mask", "token_type_ids"
TOKEN_LOGITS = "token_logits"

# Off, onnxruntime does not fuse DequantizeLinear + MatMul into MatMulNBits: constant folding turns the
# int8 blocks into fp32 weights at load and the graph is exactly the fp32 reference.
QDQ_FUSION_OFF = "session.disable_quant_qdq"
# The fused MatMulNBits' arithmetic: 4 quantises activations to int8 (per row and block of the products).
QDQ_FUSED_ACCURACY_LEVEL = "session.qdq_matmulnbits_accuracy_level"
INT8_PRODUCTS_LEVEL = "4"


@runtime_checkable
class Backend(Protocol):
    """Runs the turn scorer on windows.

    ``pad_id``: the token that pads a batch; ``exact_batch_size``: the most windows per call that keep
    every window's logits independent of its batch-mates (the default batch size of ``Classifier``).
    """

    @property
    def pad_id(self) -> int: ...

    @property
    def exact_batch_size(self) -> int: ...

    def token_logits(self, windows: Sequence[Window]) -> list[np.ndarray]:
        """[len(window), 2] float logits of every window, in order (padding removed)."""
        ...


def pad_windows(windows: Sequence[Window], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ``input_ids`` and ``attention_mask`` (int64) of one batch of windows."""
    width = max(len(w) for w in windows)
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, window in enumerate(windows):
        ids[row, : len(window)] = window.input_ids
        mask[row, : len(window)] = 1
    return ids, mask


def unpad(logits: np.ndarray, windows: Sequence[Window]) -> list[np.ndarray]:
    """The rows of a padded [batch, width, 2] output cut to their windows' lengths."""
    return [logits[row, : len(w)] for row, w in enumerate(windows)]


def exact_batch_size(precision: str) -> int:
    """Windows per onnxruntime call that keep every score independent of the other inputs.

    Only dynamic int8 scales activations over the whole call; fp32 and weight-only int8 are row-wise.
    """
    return EXACT_INT8_BATCH_SIZE if precision == "int8" else DEFAULT_BATCH_SIZE


def session_options(
    threads: int | None, *, allow_spinning: bool = True, compute: Compute | None = None
) -> ort.SessionOptions:
    """The onnxruntime settings of every scopeguard session (scoring, serving, packaging, export checks).

    ``threads`` None: onnxruntime's default (all cores). ``allow_spinning`` False: idle intra-op threads
    sleep instead of spinning, for processes whose other threads (an HTTP event loop) need the cores
    between model calls. ``compute`` says how DequantizeLinear weights multiply (``choose_compute``); it
    changes nothing on graphs without them (fp32, dynamic int8, MatMulNBits) and None leaves
    onnxruntime's defaults."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    if not allow_spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if compute == "fp32":
        opts.add_session_config_entry(QDQ_FUSION_OFF, "1")
    elif compute == "int8":
        opts.add_session_config_entry(QDQ_FUSED_ACCURACY_LEVEL, INT8_PRODUCTS_LEVEL)
    return opts


def onnx_session(
    path: str | Path,
    *,
    threads: int | None = None,
    allow_spinning: bool = True,
    compute: Compute | None = None,
) -> ort.InferenceSession:
    """A CPU session on an ONNX file with ``session_options``."""
    return ort.InferenceSession(
        str(path),
        sess_options=session_options(threads, allow_spinning=allow_spinning, compute=compute),
        providers=["CPUExecutionProvider"],
    )


class PaddedBatchBackend:
    """A backend that runs one right-padded batch per call: subclasses implement ``padded_logits``."""

    def __init__(self, *, pad_id: int, exact_batch_size: int) -> None:
        self._pad_id = pad_id
        self._exact_batch_size = exact_batch_size

    @property
    def pad_id(self) -> int:
        return self._pad_id

    @property
    def exact_batch_size(self) -> int:
        return self._exact_batch_size

    def padded_logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """[batch, width, 2] logits of a padded batch (``pad_windows``)."""
        raise NotImplementedError

    def token_logits(self, windows: Sequence[Window]) -> list[np.ndarray]:
        if not windows:
            return []
        return unpad(self.padded_logits(*pad_windows(windows, self.pad_id)), windows)


class OnnxBackend(PaddedBatchBackend):
    """An onnxruntime session on an exported graph: ``input_ids``, ``attention_mask`` (and
    ``token_type_ids`` when the graph has it) -> ``token_logits``. Thread-safe (sessions are)."""

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        pad_id: int,
        precision: str = "fp32",
        compute: Compute | None = None,
    ) -> None:
        super().__init__(pad_id=pad_id, exact_batch_size=exact_batch_size(precision))
        self.session = session
        # the product arithmetic the session runs (``choose_compute``); None: the graph's own
        self.compute: Compute = compute or fixed_compute(precision)
        self._input_names = {i.name for i in session.get_inputs()}

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        pad_id: int,
        precision: str = "fp32",
        threads: int | None = None,
        allow_spinning: bool = True,
        compute: Compute | None = None,
    ) -> OnnxBackend:
        """``compute`` as ``choose_compute`` resolved it (None: the graph's own arithmetic)."""
        session = onnx_session(path, threads=threads, allow_spinning=allow_spinning, compute=compute)
        return cls(session, pad_id=pad_id, precision=precision, compute=compute)

    def padded_logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {INPUT_IDS: ids, ATTENTION_MASK: mask}
        if TOKEN_TYPE_IDS in self._input_names:
            feeds[TOKEN_TYPE_IDS] = np.zeros_like(ids)
        (logits,) = self.session.run([TOKEN_LOGITS], feeds)
        return logits
