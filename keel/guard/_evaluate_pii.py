"""Span-overlap evaluation of a PII detector on labelled records (``{"text", "entities": [{type, start, end}]}``).

The rules, which tests, the bench and the quality gates share:

- A labelled entity is found when some detection of the same type overlaps its span by at least one code
  point. Overlap rather than exact boundaries: for redaction what matters is that the value is hit, and the
  labels disagree among themselves on boundaries (one address labelled as one span in a record and as
  house number, street, unit and postcode in the next).
- Scored types are those of ``SCORED``. Other labels (ORGANIZATION, TITLE, NRP, AGE, ...) are ignored for
  recall.
- The dev data has no DATE_OF_BIRTH label: its DATE_TIME covers years, weekdays and timestamps too. A
  DATE_TIME label counts as DATE_OF_BIRTH when a birth keyword ("born", "birth", "DOB", "birthday", ...)
  occurs in the ``_DOB_WINDOW`` characters before it; any other DATE_TIME label is ignored. Records that
  label DATE_OF_BIRTH directly are taken as they are.
- Precision: a detection is a true positive when it overlaps a labelled entity of its own type or of a
  type in ``RELATED`` for it. RELATED covers labels that are the same thing at another granularity, which
  a detector cannot be blamed for merging: our ADDRESS over a labelled LOCATION (the city or country of
  an address) or ZIP_CODE, our DATE_OF_BIRTH over any DATE_TIME label, our LOCATION over an ADDRESS. A
  detection that overlaps only an unscored label of another kind (our PERSON over an ORGANIZATION, our
  PHONE over a DRIVER_LICENSE) or nothing at all is a false positive.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

SCORED = (
    "PERSON",
    "EMAIL",
    "PHONE",
    "CREDIT_CARD",
    "SSN",
    "IBAN",
    "ADDRESS",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "SECRET",
)

# Presidio's and other common names for the scored types, so a set labelled in those names scores as is.
ALIASES: Mapping[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "TELEPHONE": "PHONE",
    "US_SSN": "SSN",
    "IBAN_CODE": "IBAN",
    "STREET_ADDRESS": "ADDRESS",
    "IP": "IP_ADDRESS",
    "IPV4": "IP_ADDRESS",
    "IPV6": "IP_ADDRESS",
    "CREDIT_CARD_NUMBER": "CREDIT_CARD",
    "DOB": "DATE_OF_BIRTH",
    "PER": "PERSON",
    "GPE": "LOCATION",
}

RELATED: Mapping[str, frozenset[str]] = {
    "ADDRESS": frozenset({"LOCATION", "ZIP_CODE"}),
    "LOCATION": frozenset({"ADDRESS", "ZIP_CODE"}),
    "DATE_OF_BIRTH": frozenset({"DATE_TIME"}),
    "DATE_TIME": frozenset({"DATE_OF_BIRTH"}),
}

# Far enough to reach from "Please tell me your date of birth. It's" to the date, not so far that a birth
# keyword two sentences back turns an unrelated date into a birth date.
_DOB_WINDOW = 60
_DOB_CONTEXT = re.compile(
    r"\b(?:born|birth|birthday|birthdate|dob|d\.o\.b|geboren|geburtsdatum|né|née|naissance|nacido|nacida|"
    r"nacimiento|nato|nata|nascita|geboortedatum|nascimento|födelsedatum|fødselsdato)\b",
    re.IGNORECASE,
)


class _Span(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class _Detector(Protocol):
    def detect(self, text: str) -> Sequence[_Span]: ...


def gold_entities(record: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(type, start, end) of a record's labels, DATE_TIME turned into DATE_OF_BIRTH where the text says so."""
    text: str = record["text"]
    out: list[tuple[str, int, int]] = []
    for ent in record.get("entities", []):
        kind, start, end = ent["type"], int(ent["start"]), int(ent["end"])
        kind = ALIASES.get(kind.upper(), kind.upper())
        if kind == "DATE_TIME" and _DOB_CONTEXT.search(text, max(0, start - _DOB_WINDOW), start):
            kind = "DATE_OF_BIRTH"
        out.append((kind, start, end))
    return out


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def evaluate_pii(records: Iterable[Mapping[str, Any]], detector: _Detector) -> dict[str, Any]:
    """Per-type recall and precision of ``detector`` on ``records`` (rules in the module docstring).

    Returns ``{"recall": {T: r}, "precision": {T: p}, "support": {T: n}, "predicted": {T: n},
    "overall": {"recall", "precision", "support"}}``: recall for scored types with labels, precision for
    every type the detector emitted, overall figures micro-averaged over the scored types.
    """
    found: Counter[str] = Counter()
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    for record in records:
        gold = gold_entities(record)
        detections = [(d.type, d.start, d.end) for d in detector.detect(record["text"])]
        for kind, start, end in gold:
            if kind not in SCORED:
                continue
            support[kind] += 1
            if any(t == kind and _overlaps(s, e, start, end) for t, s, e in detections):
                found[kind] += 1
        for kind, start, end in detections:
            predicted[kind] += 1
            accepted = RELATED.get(kind, frozenset()) | {kind}
            if any(t in accepted and _overlaps(s, e, start, end) for t, s, e in gold):
                correct[kind] += 1
    recall = {k: found[k] / support[k] for k in SCORED if support[k]}
    precision = {k: correct[k] / predicted[k] for k in sorted(predicted)}
    scored_predicted = sum(predicted[k] for k in SCORED)
    total_support = sum(support.values())
    return {
        "recall": recall,
        "precision": precision,
        "support": {k: support[k] for k in SCORED if support[k]},
        "predicted": dict(sorted(predicted.items())),
        "overall": {
            "recall": sum(found.values()) / total_support if total_support else 1.0,
            "precision": sum(correct[k] for k in SCORED) / scored_predicted if scored_predicted else 1.0,
            "support": total_support,
        },
    }


def is_heldback(text: str) -> bool:
    """The deterministic 20% of records that tuning never sees: by a stable hash of the text (not Python's
    ``hash``, which is salted per process)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 5 == 0
