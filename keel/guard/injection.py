"""Prompt-injection detection: normalise, match cheap patterns, then a small model where unsure.

    verdict = default_detector().scan(tool_output, source="tool")
    if verdict.decision == "block": ...

Tiers, cheapest first (see docs/guard-injection.md):

0. keel.guard.normalize folds zero-width characters, homoglyphs, fullwidth and mathematical
   letters, leetspeak and token floods, and decodes embedded base64, hex, rot13, URL-encoding.
1. Hand-written patterns over every normalised variant. A STRONG pattern ("ignore all previous
   instructions", "you are now DAN", "call tool delete_database") decides alone: score 0.97, no
   model run.
2. Otherwise two linear models (keel.guard._injection_model): the document model, and for
   source="tool" the segment model, which looks for one instruction hidden in a line, sentence or
   table cell of the data. The score is the higher of the two.
3. Where the model file has them: small fine-tuned transformers (keel.guard._injection_encoder),
   one for requests and one for tool content, whose logit is added to the linear score, run only
   when it could move the score across the flag or block threshold.

Sources: "user" (what the user typed), "tool" (content a tool returned: where indirect injections
live, so imperatives aimed at the assistant count there and not in requests), "model" (the model's
own output, treated like a request: no data-only patterns, and no encoder, which never saw an answer).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from keel.guard._injection_model import CALIBRATED_BLOCK, CALIBRATED_FLAG, MODEL_PATH, InjectionModel
from keel.guard._injection_patterns import STRONG, match_patterns
from keel.guard.normalize import normalize

__all__ = ["InjectionVerdict", "InjectionDetector", "default_detector", "patterns_tier", "SOURCES"]

SOURCES = ("user", "tool", "model")
# The model's scores are calibrated per kind of text so that these mean "about 1% false positives"
# and "about 0.25%" on out-of-fold scores of the training part (never the held-back part).
DEFAULT_FLAG_AT = CALIBRATED_FLAG
DEFAULT_BLOCK_AT = CALIBRATED_BLOCK


@dataclass(frozen=True, slots=True)
class InjectionVerdict:
    score: float  # 0..1
    decision: str  # "allow" | "flag" | "block"
    reasons: tuple[str, ...]  # e.g. ("pattern:ignore_previous", "classifier:0.97", "decoded:base64")


class InjectionDetector:
    """Thread-safe; the model is loaded on the first scan that needs it, once."""

    def __init__(
        self,
        *,
        block_at: float = DEFAULT_BLOCK_AT,
        flag_at: float = DEFAULT_FLAG_AT,
        model_path: Path | None = None,
        encoder: bool = True,
    ) -> None:
        if not 0.0 <= flag_at <= block_at <= 1.0:
            raise ValueError(f"need 0 <= flag_at ({flag_at}) <= block_at ({block_at}) <= 1")
        self.block_at = block_at
        self.flag_at = flag_at
        self._model_path = model_path or MODEL_PATH
        # False skips tier 3: requests are then scored as model output is, by the document model
        # against its own thresholds, and tool content by the linear models against theirs (a little
        # less detection, no transformer run at all).
        self.encoder = encoder
        self._model: InjectionModel | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> InjectionModel:
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    self._model = InjectionModel.load(self._model_path)
                model = self._model
        return model

    def warm_up(self) -> None:
        """Load the model and create the encoders' sessions now, so that no scan pays for it (about 1 s)."""
        model = self.model
        for encoder in (model.encoder, model.tool_encoder):
            if encoder is not None and self.encoder:
                encoder.load()

    def scan(self, text: str, *, source: str = "user") -> InjectionVerdict:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        kind = "tool" if source == "tool" else "user"
        tier1 = patterns_tier(text, kind)
        if tier1.strong:
            score = max(tier1.hits[name] for name in tier1.strong)
            reasons = [f"pattern:{name}" for name in tier1.strong] + list(tier1.decoded_reasons)
            return self._verdict(score, reasons)
        reasons = [f"hint:{name}" for name in tier1.hints] + list(tier1.decoded_reasons)
        body, hints = tier1.body, tier1.hints
        model = self.model
        raw = model.score_doc(body, kind, hints)
        reasons.append(f"classifier:{raw:.2f}")
        if kind == "tool":
            ranked = model.ranked_segments(body)
            seg = ranked[0][0] if ranked else 0.0
            reasons.append(f"segment:{seg:.2f}")
            raw = max(raw, seg)
            if model.tool_encoder is not None:
                if self.encoder:
                    low, high = model.uncalibrate(self.flag_at, kind), model.uncalibrate(self.block_at, kind)
                    raw, value = model.with_tool_encoder(raw, body, ranked, low, high)
                    if value is not None:
                        reasons.append(f"tool_encoder:{value:.2f}")
                else:
                    kind = "tool_linear"
        elif model.encoder is not None:
            if source == "user" and self.encoder:
                low, high = model.uncalibrate(self.flag_at, kind), model.uncalibrate(self.block_at, kind)
                raw, value = model.with_encoder(raw, body, low, high)
                if value is not None:
                    reasons.append(f"encoder:{value:.2f}")
            else:
                # Model output, or the encoder turned off: the document model's own thresholds.
                kind = "document"
        return self._verdict(model.calibrate(raw, kind), reasons)

    def _verdict(self, score: float, reasons: list[str]) -> InjectionVerdict:
        if score >= self.block_at:
            decision = "block"
        elif score >= self.flag_at:
            decision = "flag"
        else:
            decision = "allow"
        return InjectionVerdict(round(score, 4), decision, tuple(reasons))


@dataclass(frozen=True, slots=True)
class Tier1:
    """What the normaliser and the patterns found; the training script builds its inputs with it."""

    hits: dict[str, float]
    strong: tuple[str, ...]
    hints: tuple[str, ...]
    body: str  # the normalised text plus every decoded text: what the models read
    decoded_reasons: tuple[str, ...]


def patterns_tier(text: str, kind: str) -> Tier1:
    norm = normalize(text)
    hits = match_patterns((norm.text, norm.leet), source=kind)
    decoded: set[str] = set()
    for dec in norm.decoded:
        for name, weight in match_patterns((dec.text,), source=kind).items():
            if name not in hits or weight > hits[name]:
                hits[name] = weight
                decoded.add(f"decoded:{dec.kind}")
    strong = tuple(sorted(name for name, weight in hits.items() if weight >= STRONG))
    body = norm.text
    if norm.decoded:
        body += "\n" + "\n".join(d.text for d in norm.decoded)
        if not strong:
            decoded.update(f"decoded:{d.kind}" for d in norm.decoded)
    return Tier1(
        hits=hits,
        strong=strong,
        hints=tuple(sorted(name for name in hits if name not in strong)),
        body=body,
        decoded_reasons=tuple(sorted(decoded)),
    )


_default: InjectionDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> InjectionDetector:
    """The process-wide detector with the default thresholds, created on first use."""
    global _default
    detector = _default
    if detector is None:
        with _default_lock:
            if _default is None:
                _default = InjectionDetector()
            detector = _default
    return detector
