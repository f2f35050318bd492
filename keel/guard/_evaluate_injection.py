"""Detection and false-positive rates of an injection detector over labelled records.

Records are `{"text", "label": "injection"|"benign", "vector": "direct"|"indirect", "source"}` (the
format of tests/guard/data/injection_heldback.jsonl). Indirect records are content a tool returned,
so they are scanned with source="tool"; direct ones with source="user". A record counts as detected
when the decision is anything but "allow" (flag or block).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["evaluate_injection"]


class _Verdict(Protocol):
    @property
    def decision(self) -> str: ...


class _Detector(Protocol):
    def scan(self, text: str, *, source: str = "user") -> _Verdict: ...


def _rates(counts: dict[str, int]) -> dict[str, Any]:
    inj, ben = counts["injection"], counts["benign"]
    return {
        "detection_rate": counts["detected"] / inj if inj else None,
        "false_positive_rate": counts["false_positive"] / ben if ben else None,
        "n": inj + ben,
        "n_injection": inj,
        "n_benign": ben,
    }


def evaluate_injection(records: Iterable[dict[str, Any]], detector: _Detector) -> dict[str, Any]:
    """{"detection_rate", "false_positive_rate", "by_vector": {...}, "by_source": {...}, "errors": [...]}.

    Rates are None where a group has no record of that label. `errors` lists the misses and false
    positives (label, vector, source, decision, text prefix) for inspection.
    """

    def empty() -> dict[str, int]:
        return {"injection": 0, "benign": 0, "detected": 0, "false_positive": 0}

    total = empty()
    by_vector: dict[str, dict[str, int]] = {}
    by_source: dict[str, dict[str, int]] = {}
    errors: list[dict[str, Any]] = []
    for record in records:
        label = record["label"]
        if label not in ("injection", "benign"):
            raise ValueError(f"unknown label {label!r}")
        vector = record.get("vector") or "direct"
        source = "tool" if vector == "indirect" else "user"
        origin = record.get("source") or "unknown"
        verdict = detector.scan(record["text"], source=source)
        flagged = verdict.decision != "allow"
        for bucket in (total, by_vector.setdefault(vector, empty()), by_source.setdefault(origin, empty())):
            bucket[label] += 1
            if flagged and label == "injection":
                bucket["detected"] += 1
            elif flagged:
                bucket["false_positive"] += 1
        if flagged != (label == "injection"):
            errors.append(
                {
                    "label": label,
                    "vector": vector,
                    "source": origin,
                    "decision": verdict.decision,
                    "text": record["text"][:200],
                }
            )
    result = _rates(total)
    return {
        "detection_rate": result["detection_rate"],
        "false_positive_rate": result["false_positive_rate"],
        "n": result["n"],
        "by_vector": {k: _rates(v) for k, v in sorted(by_vector.items())},
        "by_source": {k: _rates(v) for k, v in sorted(by_source.items())},
        "errors": errors,
    }
