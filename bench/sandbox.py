"""Sandbox benchmark: latency of a sandboxed Python tool call, cold and warm, against a plain subprocess.

    python bench/sandbox.py                 # readable tables (progress on stderr)
    python bench/sandbox.py --json          # one JSON object on stdout
    python bench/sandbox.py --calls 100 --app-calls 20 --rounds 5

Two tool modules, each called end to end through `Sandbox.call` (request, result, cleanup):

- tiny: a one-line function in a module of its own (what the interpreter and the sandbox cost);
- app: a module that does ``import keel`` and defines the function, as a real app module declaring
  ``@app.tool`` does (about a second of imports: SQLAlchemy, OpenTelemetry, pydantic).

Variants, each a fresh process per call:

- spawn: ``python -I -c pass`` through asyncio, the floor: what any new interpreter costs (tiny only);
- plain: ``sandbox=False`` without a pool: the same runner as a plain subprocess (rlimits, minimal
  environment, a temporary directory created and removed), i.e. the plain subprocess call;
- sandboxed: bubblewrap without a pool (namespaces, read-only binds, tmpfs, setpriv as root): cold;
- sandboxed+egress: the same with a `network` entry (the egress proxy and the in-sandbox relay; tiny only);
- warm: bubblewrap from the warm pool: a fresh sandbox started ahead, whose runner had imported the
  module and waited for this call; warm+egress: the same with a `network` entry, its proxy started ahead;
- namespaces, namespaces+egress (tiny only), namespaces-warm: the same under the other mechanism, Linux
  namespaces set up by keel/tools/_namespaces.py (what a machine without bubblewrap gets; forced here
  with KEEL_SANDBOX_ISOLATION=namespaces);
- plain-warm: ``sandbox=False`` from the warm pool.

A pooled sandbox serves one call; after each warm call the bench waits (untimed) until the pool's
replacement has imported the module, so each warm call finds its sandbox ready and no background import
competes with the next measurement. That is the steady state of a worker whose calls come less often
than one import time apart per tool; the burst figures show calls that come back to back, with no wait:
each then takes a sandbox still importing, and waits for the rest of that import.

Variants are interleaved call by call in each round (order rotating), so machine noise hits them alike;
figures are the median and p95 over all calls of a variant. Targets (tools issue): a sandboxed call's
median at most 1.5x the plain subprocess's (a warm pool may beat 1.0x), and far under 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from keel.tools.sandbox import Sandbox, ToolTarget  # noqa: E402

MODULES = {
    "tiny": "def echo(value):\n    return {'echo': value}\n",
    "app": "import keel\n\n\ndef echo(value):\n    return {'echo': value, 'keel': keel.__name__}\n",
}
TARGET_RATIO = 1.5
CEILING_MS = 500.0
NETWORK = ["127.0.0.1:9"]
ISOLATION_ENV = "KEEL_SANDBOX_ISOLATION"
# The variants measured per mechanism: cold, cold with egress (tiny module only), warm.
MECHANISMS = {
    "bubblewrap": ("sandboxed", "sandboxed+egress", "warm"),
    "namespaces": ("namespaces", "namespaces+egress", "namespaces-warm"),
}


@contextlib.contextmanager
def forced(mechanism: str | None) -> Iterator[None]:
    """Sandboxed calls made (awaited) inside use `mechanism` (None: the environment's choice)."""
    before = os.environ.get(ISOLATION_ENV)
    if mechanism is not None:
        os.environ[ISOLATION_ENV] = mechanism
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ISOLATION_ENV, None)
        else:
            os.environ[ISOLATION_ENV] = before


def available() -> list[str]:
    """The mechanisms that work here."""
    found = []
    for mechanism in MECHANISMS:
        with forced(mechanism):
            if Sandbox.isolation() == mechanism:
                found.append(mechanism)
            else:
                print(f"no {mechanism} here ({Sandbox.unavailable_reason()})", file=sys.stderr)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "calls": len(values),
    }


async def spawn_floor() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", "pass", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await proc.wait()


async def measure_module(
    name: str,
    target: ToolTarget,
    calls: int,
    args: argparse.Namespace,
    cold: Sandbox,
    warm: Sandbox,
    mechanisms: list[str],
) -> dict[str, Any]:
    kwargs = json.dumps({"value": 42})

    async def call(pool: Sandbox, mechanism: str | None, **options: Any) -> None:
        with forced(mechanism):
            result = json.loads(await pool.call(target, kwargs, **options))
        assert result["echo"] == 42, result

    def timed(pool: Sandbox, mechanism: str | None = None, **options: Any) -> Callable[[], Awaitable[None]]:
        return lambda: call(pool, mechanism, **options)

    def warmed(mechanism: str | None = None, **options: Any) -> Callable[[], Awaitable[None]]:
        return lambda: call(warm, mechanism, **options)

    async def refill(mechanism: str | None = None, **options: Any) -> None:
        # Untimed: the replacement imports the module before the next measurement starts.
        with forced(mechanism):
            ready = await warm.prewarm(target, timeout_s=120, **options)
        assert ready == 1, f"the pool for {name} {mechanism} {options} has no sandbox ready"

    def refiller(mechanism: str | None = None, **options: Any) -> Callable[[], Awaitable[None]]:
        return lambda: refill(mechanism, **options)

    variants: dict[str, Callable[[], Awaitable[None]]] = {}
    after: dict[str, Callable[[], Awaitable[None]]] = {}
    if name == "tiny":
        variants["spawn"] = spawn_floor
    variants["plain"] = timed(cold, sandbox=False)
    variants["plain-warm"] = warmed(sandbox=False)
    after["plain-warm"] = refiller(sandbox=False)
    for mechanism in mechanisms:
        cold_name, egress_name, warm_name = MECHANISMS[mechanism]
        variants[cold_name] = timed(cold, mechanism)
        if name == "tiny":
            variants[egress_name] = timed(cold, mechanism, network=NETWORK)
        variants[warm_name] = warmed(mechanism)
        after[warm_name] = refiller(mechanism)
        if mechanism == "bubblewrap":
            variants["warm+egress"] = warmed(mechanism, network=NETWORK)
            after["warm+egress"] = refiller(mechanism, network=NETWORK)
    for fn in after.values():
        await fn()
    for variant, fn in variants.items():
        for _ in range(args.warmup):
            await fn()
            if variant in after:
                await after[variant]()
    samples: dict[str, list[float]] = {variant: [] for variant in variants}
    names = list(variants)
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for _ in range(calls):
            for variant in order:
                started = time.perf_counter()
                await variants[variant]()
                samples[variant].append((time.perf_counter() - started) * 1000)
                if variant in after:
                    await after[variant]()
        print(f"{name}: round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    figures = {variant: summary(values) for variant, values in samples.items()}
    result: dict[str, Any] = {"variants": figures}
    plain = figures["plain"]["median_ms"]
    result["over_plain"] = {
        variant: round(figures[variant]["median_ms"] / plain, 2) for variant in figures if variant != "plain"
    }
    checked = [v for m in mechanisms for v in (MECHANISMS[m][0], MECHANISMS[m][2])]
    if "bubblewrap" in mechanisms:
        result["warm_over_sandboxed"] = round(figures["warm"]["median_ms"] / figures["sandboxed"]["median_ms"], 3)
    if "namespaces" in mechanisms and "bubblewrap" in mechanisms:
        result["namespaces_over_bubblewrap"] = round(
            figures["namespaces"]["median_ms"] / figures["sandboxed"]["median_ms"], 3
        )
    if checked:
        result["target_ratio_met"] = {variant: result["over_plain"][variant] <= TARGET_RATIO for variant in checked}
        ceiling = [*checked, *(["warm+egress"] if "bubblewrap" in mechanisms else [])]
        result["under_ceiling"] = {variant: figures[variant]["p95_ms"] < CEILING_MS for variant in ceiling}
    return result


async def measure_burst(target: ToolTarget, calls: int, pool_size: int) -> dict[str, Any]:
    """Calls back to back, no wait for the pool to refill: each takes a sandbox maybe still importing (under
    the mechanism KEEL_SANDBOX_ISOLATION picks, auto by default)."""
    kwargs = json.dumps({"value": 42})
    async with Sandbox(pool_size=pool_size, pool_max_idle_s=3600) as sandbox:
        await sandbox.prewarm(target, timeout_s=120)
        values = []
        for _ in range(calls):
            started = time.perf_counter()
            await sandbox.call(target, kwargs)
            values.append((time.perf_counter() - started) * 1000)
        stats = sandbox.pool_stats()
    return {**summary(values), "pool_size": pool_size, "served_warm": stats["warm"]}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    isolation = Sandbox.isolation()
    mechanisms = available()
    if not mechanisms:
        print("no sandbox here: measuring unsandboxed variants only", file=sys.stderr)
    # sandbox=False logs a warning at every call, by design; not what is measured here.
    logging.getLogger("keel.tools.sandbox").setLevel(logging.ERROR)
    tool_dir = tempfile.mkdtemp(prefix="keel-bench-sandbox-")
    os.chmod(tool_dir, 0o755)  # as root the sandboxed tool runs as a uid of its own
    targets = {}
    for name, source in MODULES.items():
        Path(tool_dir, f"bench_{name}.py").write_text(source)
        targets[name] = ToolTarget(f"bench_{name}", "echo", sys_path=(tool_dir,))
    result: dict[str, Any] = {
        "params": {
            "calls": args.calls,
            "app_calls": args.app_calls,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
        "isolation": isolation,
        "mechanisms": mechanisms,
        "modules": {},
    }
    cold = Sandbox(pool_size=0)
    warm = Sandbox(pool_size=1, pool_max_idle_s=3600)
    try:
        for name, calls in (("tiny", args.calls), ("app", args.app_calls)):
            if calls > 0:
                result["modules"][name] = await measure_module(name, targets[name], calls, args, cold, warm, mechanisms)
        await warm.aclose()
        if isolation is not None and args.burst > 0:
            result["burst_app"] = [await measure_burst(targets["app"], args.burst, size) for size in (1, 2)]
            print("burst done", file=sys.stderr)
    finally:
        await warm.aclose()
        shutil.rmtree(tool_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=40, help="tiny module: calls per variant and round (40)")
    parser.add_argument("--app-calls", type=int, default=10, help="app module: calls per variant and round (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per variant first (2)")
    parser.add_argument("--burst", type=int, default=10, help="back-to-back calls of the app module (10; 0: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    params = result["params"]
    print(
        f"isolation: {result['isolation']}   measured: {', '.join(result['mechanisms']) or 'none'}   "
        f"python {params['python']}   cpus {params['cpus']}"
    )
    for name, module in result["modules"].items():
        print(f"\n{name} module")
        print(f"{'variant':<20}{'median ms':>12}{'p95 ms':>10}{'calls':>8}{'x plain':>10}")
        for variant, figures in module["variants"].items():
            ratio = module["over_plain"].get(variant, 1.0)
            print(
                f"{variant:<20}{figures['median_ms']:>12.1f}{figures['p95_ms']:>10.1f}{figures['calls']:>8}"
                f"{ratio:>9.2f}x"
            )
        for variant, met in module.get("target_ratio_met", {}).items():
            print(f"{variant} / plain (median) <= {TARGET_RATIO}x: {'met' if met else 'MISSED'}")
        if "warm_over_sandboxed" in module:
            print(f"warm / sandboxed (median): {module['warm_over_sandboxed']:.3f}x")
        if "namespaces_over_bubblewrap" in module:
            print(f"namespaces / bubblewrap, cold (median): {module['namespaces_over_bubblewrap']:.3f}x")
    for burst in result.get("burst_app", []):
        print(
            f"\napp module, {burst['calls']} calls back to back, pool_size={burst['pool_size']}: "
            f"median {burst['median_ms']:.1f} ms, p95 {burst['p95_ms']:.1f} ms, {burst['served_warm']} served warm"
        )


if __name__ == "__main__":
    main()
