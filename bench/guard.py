"""Guard benchmark: redaction and classification throughput, and Presidio's on the same texts, in one run.

    python bench/guard.py                  # readable table (progress on stderr)
    python bench/guard.py --json           # one JSON object on stdout
    python bench/guard.py --rounds 5 --data dev.jsonl

Texts: the PII held-back set that ships with the tests (tests/guard/data/pii_heldback.jsonl), or
``--data`` (records with a "text"). Every variant sees every text one call at a time, the way the
guard sees a model call's messages; variants are interleaved in rounds, the order rotating.

- redact: what the guard does to a text on the way in, without the database: PII detection
  (`PiiDetector()`, patterns + NER) and the replacement of each personal value by a placeholder;
- classify: `InjectionDetector().scan(text, source="user")` (normaliser, patterns, the model);
- guard: `Guard.inbound` on a one-message request, for real: both detectors in the worker thread,
  placeholders from the vault on a fresh SQLite database (one write transaction per text with PII);
- presidio: Presidio's AnalyzerEngine with spaCy NER (en_core_web_sm, its full pipeline), detection
  only (no anonymizer), when presidio-analyzer is installed (the `bench` extra).

Reported per variant: texts/s over the whole set and the median of per-text milliseconds per KB
(median over rounds), and each variant's throughput over Presidio's in the same round. The
detectors' own benches (bench/guard_pii.py: recall per type; bench/guard_injection.py: per tier)
go deeper.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from guard_pii import _presidio_offline, build_presidio, load_records  # noqa: E402  (bench/guard_pii.py)

from keel.engine.ports import CallScope, GuardPolicy, LlmRequest  # noqa: E402
from keel.guard.guard import REDACTED_TYPES, Guard  # noqa: E402
from keel.guard.injection import InjectionDetector  # noqa: E402
from keel.guard.pii import PiiDetector  # noqa: E402
from keel.store import open_store  # noqa: E402

DEFAULT_DATA = HERE.parent / "tests" / "guard" / "data" / "pii_heldback.jsonl"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _redactor(detector: PiiDetector) -> Callable[[str], str]:
    def redact(text: str) -> str:
        counters: dict[str, int] = {}
        pieces: list[str] = []
        at = 0
        for entity in detector.detect(text):
            if entity.type not in REDACTED_TYPES:
                continue
            counters[entity.type] = counters.get(entity.type, 0) + 1
            pieces += [text[at : entity.start], f"{{{{PII_{entity.type}_{counters[entity.type]}}}}}"]
            at = entity.end
        return "".join([*pieces, text[at:]])

    return redact


def _time(call: Callable[[str], Any], texts: list[str]) -> dict[str, float]:
    per_kb: list[float] = []
    started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        call(text)
        per_kb.append((time.perf_counter() - t0) * 1000 / max(len(text), 1) * 1024)
    total = time.perf_counter() - started
    return {"texts_per_s": len(texts) / total, "median_ms_per_kb": statistics.median(per_kb)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = [r["text"] for r in load_records(args.data)]
    log(f"{len(texts)} texts, {sum(map(len, texts)) / 1024:.1f} KB from {args.data.name}")
    pii, injection = PiiDetector(), InjectionDetector()
    calls: dict[str, Callable[[str], Any]] = {
        "redact": _redactor(pii),
        "classify": lambda text: injection.scan(text, source="user"),
    }
    tmp = tempfile.TemporaryDirectory()
    store = open_store(f"sqlite:///{Path(tmp.name) / 'bench.db'}")
    os.environ.setdefault("KEEL_GUARD_KEY", "YmVuY2gtb25seS1ndWFyZC1rZXktMzItYnl0ZXMhISE=")
    guard = Guard(store, pii=pii, injection=injection)
    loop = asyncio.new_event_loop()
    counter = iter(range(1 << 30))

    def inbound(text: str) -> Any:
        # Each text its own run: placeholders are numbered per run, as in production.
        scope = CallScope(run_id=f"bench-{next(counter)}", user_id="bench")
        request = LlmRequest(messages=[{"role": "user", "content": text}])
        policy = GuardPolicy(injection="allow")  # measure the work, whatever the verdict
        return loop.run_until_complete(guard.inbound(request, scope=scope, policy=policy))

    calls["guard"] = inbound
    skipped: dict[str, str] = {}
    try:
        _presidio_offline()
        presidio = build_presidio(ner=True)
        calls["presidio"] = presidio.detect
    except ImportError as exc:
        skipped["presidio"] = f"not installed ({exc.name}): pip install -e '.[bench]'"
    for call in calls.values():  # warm-up: models loaded, caches filled
        for text in texts[:5]:
            call(text)
    names = list(calls)
    rounds: list[dict[str, dict[str, float]]] = []
    for index in range(args.rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        sample = {name: _time(calls[name], texts) for name in order}
        speeds = ", ".join(f"{n} {sample[n]['texts_per_s']:.0f}/s" for n in names)
        log(f"round {index + 1}/{args.rounds}: {speeds}")
        rounds.append(sample)
    loop.close()
    store.close()
    tmp.cleanup()
    figures: dict[str, Any] = {}
    for name in names:
        figures[name] = {
            "texts_per_s": round(statistics.median(r[name]["texts_per_s"] for r in rounds), 1),
            "median_ms_per_kb": round(statistics.median(r[name]["median_ms_per_kb"] for r in rounds), 3),
        }
        if "presidio" in calls:
            ratio = statistics.median(r[name]["texts_per_s"] / r["presidio"]["texts_per_s"] for r in rounds)
            figures[name]["x_presidio"] = round(ratio, 2)
    return {
        "texts": len(texts),
        "kb": round(sum(map(len, texts)) / 1024, 1),
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "variants": figures,
        "skipped": skipped,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"Guard throughput: {report['texts']} texts ({report['kb']} KB), median of {report['rounds']} rounds, "
        f"{report['cpus']} CPUs",
        "",
        f"{'variant':<10} {'texts/s':>9} {'ms per KB':>10} {'x presidio':>11}",
    ]
    for name, row in report["variants"].items():
        ratio = f"{row['x_presidio']:.2f}" if "x_presidio" in row else "-"
        lines.append(f"{name:<10} {row['texts_per_s']:>9,.1f} {row['median_ms_per_kb']:>10.3f} {ratio:>11}")
    for name, why in report["skipped"].items():
        lines.append(f"{name:<10} {why}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()
