"""A bounded cache of window scores, so a live conversation re-checked after every turn re-scores only
the windows that changed.

Windows are packed from the start of a conversation, so when a flow grows only its last window (and any
new one) differs from the previous check; the earlier windows come back token for token. A window's
scores depend only on its tokens and owned spans (every shipped precision scores a window independently
of its batch-mates; dynamic int8 runs one window per call), so a cached score is the score the model
would give again. Keys are digests of the model id, token ids and spans and values are floats: no text
is held. The model id is in the key because a score belongs to the model that gave it: a cache shared by
two models (a service's default and live model) still answers each only with its own scores.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from classifier.render import Window


def window_key(window: Window, model_id: str) -> bytes:
    model = model_id.encode()
    # length-prefixed, so no model id can run into the token bytes
    digest = hashlib.blake2b(len(model).to_bytes(4, "big") + model, digest_size=16)
    digest.update(np.asarray(window.input_ids, dtype=np.int64).tobytes())
    # Spans are part of the key: the same tokens can own different turns (context vs owned).
    digest.update(repr([(s.start, s.end, s.role) for s in window.spans]).encode())
    return digest.digest()


class WindowCache:
    """Least-recently-used map from a window to its per-span logits, holding at most ``max_windows``."""

    def __init__(self, max_windows: int) -> None:
        if max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, got {max_windows}")
        self.max_windows = max_windows
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[bytes, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, window: Window, model_id: str) -> tuple[float, ...] | None:
        """The span logits ``model_id`` gave ``window``, or None (a miss)."""
        key = window_key(window, model_id)
        with self._lock:
            values = self._items.get(key)
            if values is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return values

    def put(self, window: Window, model_id: str, span_logits: tuple[float, ...]) -> None:
        key = window_key(window, model_id)
        with self._lock:
            self._items[key] = span_logits
            self._items.move_to_end(key)
            while len(self._items) > self.max_windows:
                self._items.popitem(last=False)
