"""Sandbox benchmark: cold-start latency of a sandboxed Python tool call against a plain subprocess.

    python bench/sandbox.py                 # readable table (progress on stderr)
    python bench/sandbox.py --json          # one JSON object on stdout
    python bench/sandbox.py --calls 100 --rounds 5

Every call starts a fresh process that imports a one-line tool from a temporary module, calls it and
returns its JSON result, end to end through `Sandbox.call` (spawn, request, result, cleanup):

- spawn: `python -I -c pass` through asyncio, the floor: what any new interpreter costs;
- plain: `Sandbox.call(..., sandbox=False)`: the same runner without bubblewrap (rlimits, minimal
  environment, a temporary directory created and removed), i.e. the plain subprocess call;
- sandboxed: `Sandbox.call(...)` under bubblewrap (namespaces, read-only binds, tmpfs, setpriv as root);
- sandboxed+egress: the same with a `network` entry, so the egress proxy starts in the parent and the
  relay (and asyncio) in the child.

Variants are interleaved call by call in each round (order rotating), so machine noise hits them alike;
figures are the median and p95 over all calls of a variant. Targets (tools issue): sandboxed median at
most 1.5x plain, and far under 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from keel.tools.sandbox import Sandbox, ToolTarget  # noqa: E402

TOOL_SOURCE = "def echo(value):\n    return {'echo': value}\n"
TARGET_RATIO = 1.5
CEILING_MS = 500.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def spawn_floor() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", "pass", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await proc.wait()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    isolation = Sandbox.isolation()
    tool_dir = tempfile.mkdtemp(prefix="keel-bench-sandbox-")
    os.chmod(tool_dir, 0o755)  # as root the sandboxed tool runs as a uid of its own
    Path(tool_dir, "bench_tool.py").write_text(TOOL_SOURCE)
    target = ToolTarget("bench_tool", "echo", sys_path=(tool_dir,))
    sandbox = Sandbox()
    kwargs = json.dumps({"value": 42})
    expected = json.dumps({"echo": 42})

    async def call(**options: Any) -> None:
        assert await sandbox.call(target, kwargs, **options) == expected

    variants: dict[str, Callable[[], Awaitable[None]]] = {
        "spawn": spawn_floor,
        "plain": lambda: call(sandbox=False),
    }
    if isolation is not None:
        variants["sandboxed"] = lambda: call()
        variants["sandboxed+egress"] = lambda: call(network=["127.0.0.1:9"])
    else:
        print(f"no sandbox here ({Sandbox.unavailable_reason()}): measuring spawn and plain only", file=sys.stderr)
    # sandbox=False logs a warning at every call, by design; not what is measured here.
    import logging

    logging.getLogger("keel.tools.sandbox").setLevel(logging.ERROR)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for fn in variants.values():
            for _ in range(args.warmup):
                await fn()
        names = list(variants)
        for round_no in range(args.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for _ in range(args.calls):
                for name in order:
                    started = time.perf_counter()
                    await variants[name]()
                    samples[name].append((time.perf_counter() - started) * 1000)
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        shutil.rmtree(tool_dir, ignore_errors=True)
    figures = {
        name: {
            "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
            "calls": len(values),
        }
        for name, values in samples.items()
    }
    result: dict[str, Any] = {
        "params": {"calls": args.calls, "rounds": args.rounds, "warmup": args.warmup, "python": sys.version.split()[0]},
        "isolation": isolation,
        "variants": figures,
    }
    if isolation is not None:
        ratio = figures["sandboxed"]["median_ms"] / figures["plain"]["median_ms"]
        result["sandboxed_over_plain"] = round(ratio, 2)
        result["sandboxed_over_spawn"] = round(figures["sandboxed"]["median_ms"] / figures["spawn"]["median_ms"], 2)
        result["target_ratio_met"] = ratio <= TARGET_RATIO
        result["under_ceiling"] = figures["sandboxed"]["p95_ms"] < CEILING_MS
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=40, help="calls per variant and round (40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per variant first (3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"isolation: {result['isolation']}   python {result['params']['python']}")
    print(f"{'variant':<18}{'median ms':>12}{'p95 ms':>10}{'calls':>8}")
    for name, figures in result["variants"].items():
        print(f"{name:<18}{figures['median_ms']:>12.1f}{figures['p95_ms']:>10.1f}{figures['calls']:>8}")
    if result["isolation"] is not None:
        met = "met" if result["target_ratio_met"] else "MISSED"
        print(f"sandboxed / plain (median): {result['sandboxed_over_plain']:.2f}x  (target <= {TARGET_RATIO}x: {met})")
        print(f"sandboxed / spawn (median): {result['sandboxed_over_spawn']:.2f}x")
        ceiling = "yes" if result["under_ceiling"] else "NO"
        print(f"sandboxed p95 under {CEILING_MS:.0f} ms: {ceiling}")


if __name__ == "__main__":
    main()
