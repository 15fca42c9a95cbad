"""The window-score cache for live re-checks: same predictions, only changed windows scored, bounded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from classifier.inference import Classifier
from classifier.render import TurnSpan, Window
from classifier.schema import Conversation, Turn
from classifier.window_cache import WindowCache, window_key

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.jsonl"


def _turns() -> list[Turn]:
    turns = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            turns += [Turn(role=t["role"], text=t["text"]) for t in json.loads(line)["turns"]]
    # repeated, so flows can grow long enough for several windows
    return [t for t in turns if t.role in ("user", "assistant")] * 20


def _flow(turns: list[Turn], n: int, conv_id: str = "live") -> Conversation:
    return Conversation(id=conv_id, turns=turns[:n])


class CountingClassifier:
    """Wraps a classifier's ``token_logits`` to count the windows sent to onnxruntime."""

    def __init__(self, clf: Classifier) -> None:
        self.windows = 0
        inner = clf.token_logits

        def counted(windows):  # type: ignore[no-untyped-def]
            self.windows += len(windows)
            return inner(windows)

        clf.token_logits = counted  # type: ignore[method-assign]


def test_cached_predictions_equal_uncached(tiny_model_dir: Path) -> None:
    turns = _turns()
    convs = [_flow(turns[i:], 6 + i % 9, f"c{i}") for i in range(12)]
    plain = Classifier.load(tiny_model_dir).classify(convs)
    cached_clf = Classifier.load(tiny_model_dir, cache_windows=1000)
    first = cached_clf.classify(convs)
    again = cached_clf.classify(convs)
    assert [p.to_dict() for p in first] == [p.to_dict() for p in plain]
    assert [p.to_dict() for p in again] == [p.to_dict() for p in plain]
    assert [p.turn_scores for p in again] == [p.turn_scores for p in plain]
    assert cached_clf.window_cache is not None and cached_clf.window_cache.hits > 0


def test_a_growing_flow_rescores_only_its_changed_windows(tiny_model_dir: Path) -> None:
    clf = Classifier.load(tiny_model_dir, cache_windows=1000)
    counter = CountingClassifier(clf)
    turns = _turns()
    n = 4
    while len(clf.encoder.encode(_flow(turns, n))) < 3 and n < len(turns) - 2:
        n += 1
    previous = clf.encoder.encode(_flow(turns, n))
    assert len(previous) >= 3
    clf.classify([_flow(turns, n)])
    assert counter.windows == len(previous)
    grown = clf.encoder.encode(_flow(turns, n + 2))
    counter.windows = 0
    prediction = clf.classify([_flow(turns, n + 2)])[0]
    changed = [w for w in grown if w not in previous]
    assert 0 < counter.windows == len(changed) < len(grown)
    fresh = Classifier.load(tiny_model_dir).classify([_flow(turns, n + 2)])[0]
    assert prediction.to_dict() == fresh.to_dict()


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = WindowCache(2)
    a, b, c = (Window(input_ids=(0, i, 2), spans=(TurnSpan(0, "user", 1, 2),)) for i in (5, 6, 7))
    cache.put(a, "m", (1.0,))
    cache.put(b, "m", (2.0,))
    assert cache.get(a, "m") == (1.0,)  # a is now the most recently used
    cache.put(c, "m", (3.0,))
    assert len(cache) == 2
    assert cache.get(b, "m") is None
    assert cache.get(a, "m") == (1.0,) and cache.get(c, "m") == (3.0,)
    assert (cache.hits, cache.misses) == (3, 1)


def test_the_key_tells_owned_turns_from_context() -> None:
    ids = (0, 11, 12, 13, 2)
    owned = Window(input_ids=ids, spans=(TurnSpan(0, "user", 1, 2), TurnSpan(1, "assistant", 2, 4)))
    context = Window(input_ids=ids, spans=(TurnSpan(1, "assistant", 2, 4),))
    assert window_key(owned, "m") != window_key(context, "m")


def test_the_key_tells_models_apart() -> None:
    window = Window(input_ids=(0, 11, 2), spans=(TurnSpan(0, "user", 1, 2),))
    cache = WindowCache(4)
    cache.put(window, "teacher", (1.0,))
    assert window_key(window, "teacher") != window_key(window, "student")
    assert cache.get(window, "student") is None
    assert cache.get(window, "teacher") == (1.0,)


def test_two_models_sharing_a_cache_never_read_each_others(tmp_path: Path, tiny_model_dir: Path) -> None:
    student_dir = tmp_path / "student"
    shutil.copytree(tiny_model_dir, student_dir)
    config = json.loads((student_dir / "scopeguard.json").read_text())
    (student_dir / "scopeguard.json").write_text(json.dumps({**config, "model_id": "scopeguard-student"}))
    cache = WindowCache(1024)
    teacher = Classifier.load(tiny_model_dir)
    student = Classifier.load(student_dir)
    teacher.window_cache = student.window_cache = cache
    flow = _flow(_turns(), 6)
    teacher.classify([flow])
    misses = cache.misses
    assert misses > 0 and cache.hits == 0
    student.classify([flow])
    assert cache.hits == 0 and cache.misses == 2 * misses
    assert len(cache) == 2 * misses


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WindowCache(0)
