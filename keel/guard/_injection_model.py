"""Tier 2 of the injection detector: two small linear models over sparse text features.

- The document model scores the whole (normalised) text: word unigrams and bigrams, the tier-1
  hint patterns that fired, the source, and for tool content a second copy of the word features,
  so that one model learns both "what an injection looks like in a request" and "what an
  instruction looks like inside data".
- The segment model scores each line, sentence and table cell of tool content on its own, with
  word and character 4-gram features. A BIPIA-style attack is one imperative sentence inside a
  long email or table: in the document model its words are a few among hundreds, in its own
  segment they are all there is.

Features are binary and scaled by 1/sqrt(number of distinct features of the text), so long texts
do not score higher for being long. The artifact is plain JSON (feature -> weight, a bias and
the thresholds chosen at training time): loading it runs no code, unlike a pickle, and inference
needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.guard._injection_encoder import EncoderSpec, OnnxEncoder, segment_pairs

__all__ = [
    "LinearModel",
    "InjectionModel",
    "doc_features",
    "segment_features",
    "segment_context",
    "SegmentContext",
    "segments",
    "MODEL_PATH",
]

MODEL_PATH = Path(__file__).resolve().parent / "data" / "injection_model.json"
FORMAT = "keel.guard.injection/1"

# The document model reads at most this much: past it a text is long data, where the segment
# model does the work; reading further would make the cost of a scan grow without bound.
MAX_DOC_CHARS = 8_192
CALIBRATED_FLAG = 0.5
CALIBRATED_BLOCK = 0.9
MAX_SEGMENTS = 512
MAX_SEGMENT_CHARS = 1_024
# Optional feature sets a model may declare in its artifact ("features": [...]); the scorer computes
# exactly what the model was trained with.
FEATURE_SETS = frozenset({"concepts"})
# The concepts (keel.guard._concepts) a model with "concepts" sees: what an injection is made of, in any
# language. The lexicon's broader ones (mail, meeting, document, payment...) cost 4.5 points of
# out-of-fold detection on dev's training part when they were features too.
MODEL_CONCEPTS = frozenset(
    "IGNORE PREVIOUS INSTRUCTIONS SYSTEM AI REVEAL SECRET ROLEPLAY RESTRICTIONS UNRESTRICTED DEVMODE HIDE".split()
)

# Python's \w leaves out combining marks, so it cut Hindi, Bengali, Tamil, Thai... words at every
# vowel sign ("मुझे" became "म", "झ"): single consonants that every text of the script shares, which
# the model learnt as "this script", i.e. as the machine-translated attacks of the training data.
# The marks of the scripts that need them (not the danda, which ends a sentence) join their word.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u0900-\u0963\u0966-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"
)
_WORD_RE = re.compile(rf"[\w{_MARKS}]+")
# Scripts written without spaces between words: Thai, Lao, Khmer, Myanmar, kana, CJK ideographs.
_UNSPACED_RE = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)
_SEGMENT_SPLIT_RE = re.compile(r"\n+|(?<=[.!?])\s+|\s*\|\s*")
_SEGMENT_WORD_RE = re.compile(rf"(?:[^\W\d_]|[{_MARKS}]){{2,}}")
_TABLE_ROW_RE = re.compile(r"^[^\n]*\|[^\n]*\|", re.MULTILINE)
_CODE_LINE_RE = re.compile(
    r"^(?: {4}|\t|>>> |\$ |def |class |import |from \S+ import |#include|function |public |const |var |let )",
    re.MULTILINE,
)
_EMAIL_RE = re.compile(
    r"^(?:subject|from|to|cc|date|email_from|received date)\s*:|^(?:dear|hi|hello)\b[^\n]{0,40},?$",
    re.IGNORECASE | re.MULTILINE,
)
# A question the data itself marks as asked by a person ("Q: ...", "### How do I ...?", "**Can I
# ...?**", "3. Why does ...?", or after "Question by mark54 (13 votes):" / "nora wrote:") and then
# answers on the next line: FAQ pages, forum threads and issue trackers are made of these.
_QUESTION_MARK_RE = re.compile(r"^(?:q\d*\s*[:.)]|question\s*\d*\s*[:.)]|#{1,6}\s|\*\*|\d{1,2}[.)]\s)", re.IGNORECASE)
# A line said by someone: "Comment: ...", "mark54: ...", "[12:03] Anna: ...", "A (score 412): ...".
# Not the roles a forged turn or a planted note would claim ("System:", "Assistant:", "Note:").
_SPEAKER_RE = re.compile(
    r"^(?:\[[^\]\n]{1,24}\]\s*)?(?!(?:system|assistant|ai|user|human|bot|model|instructions?|task|request|prompt|"
    r"note|important|attention|todo|p\.?s\.?)\b)[\w.@-]{1,30}(?:\s+[\w.@-]{1,30})?(?:\s*\([^)\n]{0,40}\))?\s*:\s",
    re.IGNORECASE,
)
_QUESTION_LABEL_RE = re.compile(
    r"\b(?:question|asked|posted|wrote|commented|opened)\b[^\n]{0,60}:$|^(?:question|q)\s*\d*\s*[:.)]?$", re.IGNORECASE
)
_EMAIL_ADDR_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_YOU_RE = re.compile(r"\b(?:you|your|yours|yourself)\b")
# Verbs that open a task given to someone: a segment of data that starts with one is an order to
# whoever reads it. The model also sees the first word itself, but only words it was trained on;
# this list carries the shape over to verbs the training data never opened a segment with.
_TASK_VERBS = frozenset(
    """add adapt advise analyse analyze answer append apply argue ask assess augment break brainstorm
    build calculate change check choose cite clarify classify compare compile compose compute
    condense continue convert correct count create critique decode define delete demonstrate derive
    describe design detail determine develop devise discuss display draft draw edit elaborate
    emphasise emphasize encode end enhance enumerate estimate evaluate examine explain express
    extract fill find finish fix format formulate generate give guess help highlight identify
    illustrate imagine improve include incorporate infer inform insert integrate interpret introduce
    invent justify label list locate make mention modify name note offer outline paraphrase pick
    plan predict prepare present produce propose provide quote rank rate recommend reformat
    rephrase replace reply represent respond restate rewrite say scramble select share shift show
    simplify solve sort specify spell start state suggest summarise summarize supply swap tell
    transform translate turn use verify write""".split()
)
_OPENERS_SKIPPED = frozenset({"please", "now", "also", "then", "kindly", "just", "first", "finally"})
_QUESTION_OPENERS = frozenset(
    "what how why who whom whose when where which can could would will do does did is are should shall".split()
)
# The reader's own output named as the object: "translate your answer", "scramble your reply's
# words". Data addresses its human reader ("reply to this email"), rarely what the reader writes.
_ANSWER_REF_RE = re.compile(
    r"\byour\s+(?:answers?|repl(?:y|ies)|responses?|output|summary|message|translation|explanation|text)\b"
    r"|\b(?:answers?|repl(?:y|ies)|responses?)\s+(?:must|should|shall)\b"
)


def _concept_features(words: list[str], low: str) -> list[str]:
    # Imported here: building the lexicon's tables costs some 25 ms, which a model without
    # concept features should not pay at import.
    from keel.guard._concepts import concepts

    return ["x:" + c for c in concepts(words, low) & MODEL_CONCEPTS]


def doc_features(text: str, source: str, hints: Iterable[str], *, concepts: bool = False) -> set[str]:
    text = text[:MAX_DOC_CHARS]
    if source != "tool":
        # In a request an e-mail address is no evidence either way, but its pieces ("example",
        # "com", "doe") become words the model latches on to: one placeholder word instead. Tool
        # content keeps them (masking them there cost 7 points of out-of-fold detection: an
        # address inside data is often where an injection wants something sent).
        text = _EMAIL_ADDR_RE.sub(" emailaddress ", text)
    low = text.lower()
    words = _WORD_RE.findall(low)
    feats = {"w:" + w for w in words}
    if concepts:
        feats.update(_concept_features(words, low))
    for w in words:
        if _UNSPACED_RE.search(w):
            # Chinese, Japanese, Thai... write no spaces: a "word" here is a whole clause, so the
            # model gets its character bigrams instead.
            feats.update("k:" + w[i : i + 2] for i in range(len(w) - 1))
    feats.update("b:" + a + " " + b for a, b in zip(words, words[1:], strict=False))
    feats.update("p:" + h for h in hints)
    feats.add("src:" + source)
    if source == "tool":
        # The same words mean something else inside data than in a request: a separate weight each.
        feats.update(["t" + f for f in feats if f[0] in "wbpx"])
    return feats


def segments(text: str) -> list[str]:
    """Lines, sentences and table cells of `text` with at least three words."""
    out: list[str] = []
    for part in _SEGMENT_SPLIT_RE.split(text):
        part = part.strip()
        if len(_SEGMENT_WORD_RE.findall(part)) >= 3:
            out.append(part[:MAX_SEGMENT_CHARS])
            if len(out) >= MAX_SEGMENTS:
                break
    return out


@dataclass(frozen=True, slots=True)
class SegmentContext:
    """What a segment is compared with: the document's other segments and its kind of data."""

    counts: dict[str, int]  # in how many segments each content word occurs
    n_segments: int
    genre: str  # "table" | "code" | "email" | "prose"


def segment_context(text: str, segs: list[str]) -> SegmentContext:
    counts: dict[str, int] = {}
    for seg in segs:
        for w in _content_words(seg):
            counts[w] = counts.get(w, 0) + 1
    return SegmentContext(counts, len(segs), _genre(text[:MAX_DOC_CHARS]))


def _genre(text: str) -> str:
    """The kind of data, from its layout alone: a question is ordinary in a forum answer and out of
    place in a table, so the segment model weighs a request's shape differently per kind."""
    if len(_TABLE_ROW_RE.findall(text)) >= 3:
        return "table"
    # Two inline `code` spans mark a technical answer as surely as a fenced block does.
    if "```" in text or len(_CODE_LINE_RE.findall(text)) >= 2 or text.count("`") >= 4:
        return "code"
    if _EMAIL_RE.search(text):
        return "email"
    return "prose"


def _content_words(segment: str) -> set[str]:
    return {w for w in _SEGMENT_WORD_RE.findall(segment.lower()) if len(w) >= 3}


def segment_features(segment: str, context: SegmentContext | None = None, *, concepts: bool = False) -> set[str]:
    low = segment.lower()
    words = _WORD_RE.findall(low)
    feats = {"w:" + w for w in words}
    if concepts:
        feats.update(_concept_features(words, low))
    feats.update("b:" + a + " " + b for a, b in zip(words, words[1:], strict=False))
    for w in low.split():
        w = " " + w + " "
        feats.update("c:" + w[i : i + 4] for i in range(len(w) - 3))
    # The shape of a request rather than its words: how it opens (an imperative verb, "please",
    # "can you"), whether it asks something or addresses "you", and whether it is prose or a
    # number-heavy cell. These carry over to data and wording the training set never had.
    if words:
        feats.add("f:" + words[0])
        if len(words) > 1:
            feats.add("f2:" + words[0] + " " + words[1])
        opener = next((w for w in words if w not in _OPENERS_SKIPPED), "")
        if opener in _TASK_VERBS:
            feats.add("s:task_verb")
        elif opener in _QUESTION_OPENERS:
            feats.add("s:question_opener")
    if low.rstrip().endswith("?"):
        feats.add("s:question")
    if _YOU_RE.search(low):
        feats.add("s:you")
    if _ANSWER_REF_RE.search(low):
        feats.add("s:answer_ref")
    if sum(c.isdigit() for c in low) * 5 > len(low):
        feats.add("s:numeric")
    feats.add(f"s:len{min(len(words) // 5, 6)}")
    if context is not None:
        # A planted instruction shares few words with the data around it: the share of this
        # segment's words that occur in no other segment, in quarters ("solo" when the document is
        # this one segment, so that there is nothing to compare with).
        if context.n_segments <= 1:
            feats.add("s:solo")
        else:
            own = _content_words(segment)
            if own:
                novel = sum(1 for w in own if context.counts.get(w, 0) <= 1) / len(own)
                feats.add(f"s:novel{int(novel * 4)}")
        shape = [f for f in feats if f[0] in "fs"]
        feats.update(f"g{context.genre}:{f}" for f in shape)
    return feats


def answered_questions(text: str, segs: list[str]) -> frozenset[str]:
    """Questions the data marks as asked by someone and answers on its next line: not for the reader.

    A planted question stands in the data unannounced and unanswered: it wants the reader to answer
    it. A FAQ entry or a forum question is followed by its answer. Only line structure counts (a
    question and its answer on lines of their own), so "Q: 2+2? A: 4. Q: your rules?" on one line,
    the few-shot attack, is still scored.
    """
    if "?" not in text:
        return frozenset()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out: set[str] = set()
    for i, line in enumerate(lines[:-1]):
        if not line.rstrip("*_ ").endswith("?") or "\n" in line:
            continue
        before = lines[i - 1] if i else ""
        after = lines[i + 1]
        labelled = bool(_QUESTION_MARK_RE.match(line) or _SPEAKER_RE.match(line) or _QUESTION_LABEL_RE.search(before))
        answer = not after.rstrip("*_ ").endswith("?") and not _QUESTION_MARK_RE.match(after)
        if labelled and answer and len(_SEGMENT_WORD_RE.findall(after)) >= 2:
            out.update(seg for seg in segs if seg in line)
    return frozenset(out)


# A letter between people: greeted by name ("Hi Emma,", also after a field label as mail APIs render the
# body) and signed off on a line of its own ("Cheers,", "Best,").
_GREETING_RE = re.compile(
    r"(?im)(?:^|['\"]|:[ \t]*)[ \t]*(?:hi|hello|hey|dear)[ \t]+[A-Z][\w'’\-]+(?:[ \t]+[A-Z][\w'’\-]+)?[ \t]*[,!]"
)
_SIGN_OFF_RE = re.compile(
    r"(?im)^[ \t]*(?:best|cheers|thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+regards|"
    r"warm\s+regards|all\s+the\s+best|sincerely|talk\s+soon|see\s+you)[ \t]*[,!.]?[ \t]*$"
)


def correspondence_questions(text: str, segs: list[str]) -> frozenset[str]:
    """Short questions in a letter greeted by name and signed: one person asking another, not the reader.

    "Hi Emma, I'd love to! How about Wednesday at 1 PM? ... Cheers, Sarah" asks Emma. A question about the
    reader's own answer ("...in your reply?") is still scored, and so is anything that is not a question.
    """
    if "?" not in text:
        return frozenset()
    greeting = _GREETING_RE.search(text)
    if greeting is None:
        return frozenset()
    sign_off = _SIGN_OFF_RE.search(text, greeting.end())
    if sign_off is None:
        return frozenset()
    body = text[greeting.end() : sign_off.start()]
    return frozenset(
        seg
        for seg in segs
        if seg.rstrip().endswith("?")
        and seg in body
        and len(_SEGMENT_WORD_RE.findall(seg)) <= 20
        and not _ANSWER_REF_RE.search(seg.lower())
    )


@dataclass(frozen=True, slots=True)
class LinearModel:
    weights: dict[str, float]
    bias: float

    def score(self, feats: set[str]) -> float:
        if not feats:
            return _sigmoid(self.bias)
        get = self.weights.get
        total = sum(get(f, 0.0) for f in feats)
        return _sigmoid(self.bias + total / math.sqrt(len(feats)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearModel:
        return cls({str(k): float(v) for k, v in data["weights"].items()}, float(data["bias"]))


@dataclass(frozen=True, slots=True)
class InjectionModel:
    doc: LinearModel
    segment: LinearModel
    # Per kind of text ("user", "tool"): the raw scores at which training found about 1% and 0.25%
    # false positives. `calibrate` maps them to CALIBRATED_FLAG and CALIBRATED_BLOCK, so one pair of
    # detector thresholds means the same false-positive rate for requests and for tool content,
    # whose raw scores are not comparable (data is full of imperatives that requests are not).
    calibration: dict[str, tuple[float, float]]
    meta: dict[str, Any]
    features: frozenset[str] = frozenset()
    # Tier 3 for requests (keel.guard._injection_encoder), when the model file names one; its
    # "user" calibration is then of the combined score, and "document" the document model's alone.
    encoder: OnnxEncoder | None = None
    # Tier 3 for tool content, likewise: "tool" is then of the combined score, "tool_linear" of
    # the linear models' alone.
    tool_encoder: OnnxEncoder | None = None

    def _points(self, kind: str) -> tuple[tuple[float, float], ...]:
        flag, block = self.calibration.get(kind, self.calibration["user"])
        return ((0.0, 0.0), (flag, CALIBRATED_FLAG), (block, CALIBRATED_BLOCK), (1.0, 1.0))

    def calibrate(self, raw: float, kind: str) -> float:
        """Piecewise-linear through (0, 0), (flag, 0.5), (block, 0.9), (1, 1): monotonic in `raw`."""
        return _interpolate(self._points(kind), raw)

    def uncalibrate(self, score: float, kind: str) -> float:
        """The raw score that `calibrate` maps to `score` (the lowest, where several do)."""
        return _interpolate(tuple((y, x) for x, y in self._points(kind)), score)

    def with_encoder(self, raw: float, body: str, low: float, high: float) -> tuple[float, float | None]:
        """`raw` combined with the encoder's logit for `body`, and that logit; the encoder runs only
        where it could move `raw` across `low` or `high` (raw thresholds), so decisions are exact."""
        encoder = self.encoder
        if encoder is None or not _in_reach(encoder.spec, raw, low, high):
            return raw, None
        value = encoder.logit(body)
        return _combined(encoder.spec, raw, value), value

    def with_tool_encoder(
        self, raw: float, body: str, ranked: list[tuple[float, str]], low: float, high: float
    ) -> tuple[float, float | None]:
        """As `with_encoder`, for tool content: the tool encoder reads the top segments of `ranked`
        (from `ranked_segments`) in their context, and the highest of its logits counts."""
        encoder = self.tool_encoder
        if encoder is None or not ranked or not _in_reach(encoder.spec, raw, low, high):
            return raw, None
        spec = encoder.spec
        top = [seg for _, seg in ranked[: spec.segments]]
        value = max(encoder.logits(segment_pairs(body, top, spec.context_chars)))
        return _combined(spec, raw, value), value

    def score_doc(self, text: str, source: str, hints: Iterable[str]) -> float:
        return self.doc.score(doc_features(text, source, hints, concepts="concepts" in self.features))

    def score_segments(self, text: str) -> float:
        ranked = self.ranked_segments(text)
        return ranked[0][0] if ranked else 0.0

    def ranked_segments(self, text: str) -> list[tuple[float, str]]:
        """The segment model's score for each segment that is not an answered question, highest first."""
        segs = segments(text)
        context = segment_context(text, segs)
        answered = answered_questions(text, segs) | correspondence_questions(text, segs)
        with_concepts = "concepts" in self.features
        scored = [
            (self.segment.score(segment_features(seg, context, concepts=with_concepts)), seg)
            for seg in segs
            if seg not in answered
        ]
        # Stable: of equal scores the earlier segment comes first.
        return sorted(scored, key=lambda pair: -pair[0])

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> InjectionModel:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} model (format {data.get('format')!r})")
        if "encoder" in data and "document" not in data["calibration"]:
            raise ValueError(f"{path} names an encoder but no thresholds for the document model alone")
        if "tool_encoder" in data and not {"tool", "tool_linear"} <= set(data["calibration"]):
            raise ValueError(f"{path} names a tool encoder but not both tool calibrations")
        features = frozenset(data.get("features", ()))
        if not features <= FEATURE_SETS:
            raise ValueError(f"{path} needs features this version does not compute: {sorted(features - FEATURE_SETS)}")
        tool_encoder = data.get("tool_encoder")
        return cls(
            doc=LinearModel.from_dict(data["doc"]),
            segment=LinearModel.from_dict(data["segment"]),
            calibration={k: (float(v[0]), float(v[1])) for k, v in data["calibration"].items()},
            meta=dict(data.get("meta", {})),
            features=features,
            encoder=OnnxEncoder(EncoderSpec.from_dict(data["encoder"]), path.parent) if "encoder" in data else None,
            tool_encoder=OnnxEncoder(EncoderSpec.from_dict(tool_encoder), path.parent) if tool_encoder else None,
        )


def _in_reach(spec: EncoderSpec, raw: float, low: float, high: float) -> bool:
    """Whether an encoder could move `raw` across either threshold."""
    z = logit(raw)
    # A margin so that rounding in logit/sigmoid never decides whether a boundary is in reach.
    reach = spec.reach + 1e-6
    return any(z - reach <= logit(t) <= z + reach for t in (low, high))


def _combined(spec: EncoderSpec, raw: float, value: float) -> float:
    return _sigmoid(logit(raw) + spec.weight * max(-spec.clip, min(spec.clip, value)))


def _interpolate(points: tuple[tuple[float, float], ...], x: float) -> float:
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 if x1 <= x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return 1.0


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
