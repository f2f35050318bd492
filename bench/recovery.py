"""How long a run waits after its worker dies: SIGKILL a worker mid-run, time the takeover.

    python bench/recovery.py [--lease-ttl 2] [--trials 5] [--only sqlite|postgres] [--json]

The spec: a run whose worker died is resumed within the lease time plus a second. Each trial
starts worker A on a fresh database with one run of slow steps, SIGKILLs A as soon as the run
has completed a step, starts worker B at once, and reads from the run's transitions when B
took it over. Reported: the seconds from the kill to the takeover, next to the lease TTL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import keel
from keel.store import open_store

WORKFLOW = textwrap.dedent(
    """
    import time

    import keel

    app = keel.App("recovery")


    @app.step()
    def slow(i: int) -> int:
        time.sleep(0.2)
        return i


    @app.workflow()
    async def chain(ctx: keel.Context, n: int) -> int:
        total = 0
        for i in range(n):
            total += await ctx.run(slow, i)
        return total
    """
)


def _postgres_url() -> tuple[str, str] | None:
    import psycopg

    base = os.environ.get("KEEL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"keel_recovery_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # noqa: BLE001 - unreachable means "skip PostgreSQL"
        print(f"postgres skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", schema


def _drop_schema(schema: str) -> None:
    import psycopg

    base = os.environ.get("KEEL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def trial(url: str, workdir: Path, lease_ttl: float) -> float:
    """Seconds from SIGKILL of the run's worker to another worker's takeover."""
    (workdir / "recovery_app.py").write_text(WORKFLOW)
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": url,
        "KEEL_LEASE_TTL_S": str(lease_ttl),
        "KEEL_POLL_INTERVAL_S": "0.1",
        "PYTHONPATH": str(workdir),
    }
    store = open_store(url, migrate=True)
    sys.path.insert(0, str(workdir))
    try:
        import recovery_app

        app = keel.App("recovery-driver", url)
        app.registry.add_workflow(recovery_app.chain.__keel_workflow__)
        run_id = app.start("chain", 40).run_id
        app.close()
    finally:
        sys.path.remove(str(workdir))
        sys.modules.pop("recovery_app", None)

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "keel.cli", "worker", "recovery_app.py"],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    a = worker()
    b = None
    try:
        deadline = time.monotonic() + 60
        while not store.load_journal(run_id):
            if time.monotonic() > deadline:
                raise RuntimeError("worker A never completed a step")
            time.sleep(0.02)
        a.send_signal(signal.SIGKILL)
        killed_at = time.time()
        a.wait()
        b = worker()
        while True:
            takeovers = [t for t in store.transitions(run_id) if "taken over" in t["cause"]]
            if takeovers:
                return float(takeovers[0]["at"]) - killed_at
            if time.monotonic() > deadline + 2 * lease_ttl:
                raise RuntimeError("no takeover happened")
            time.sleep(0.02)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lease-ttl", type=float, default=2.0)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, dict[str, float] | None] = {}
    for backend in ("sqlite", "postgres"):
        if args.only and backend != args.only:
            continue
        samples = []
        for n in range(args.trials):
            with tempfile.TemporaryDirectory() as tmp:
                workdir = Path(tmp)
                if backend == "sqlite":
                    samples.append(trial(f"sqlite:///{workdir / 'keel.db'}", workdir, args.lease_ttl))
                else:
                    made = _postgres_url()
                    if made is None:
                        break
                    try:
                        samples.append(trial(made[0], workdir, args.lease_ttl))
                    finally:
                        _drop_schema(made[1])
            print(f"[{backend} {n + 1}/{args.trials}] takeover {samples[-1]:.2f}s after SIGKILL", file=sys.stderr)
        out[backend] = (
            None
            if not samples
            else {
                "lease_ttl_s": args.lease_ttl,
                "takeover_median_s": round(statistics.median(samples), 3),
                "takeover_max_s": round(max(samples), 3),
                "within_ttl_plus_1s": max(samples) <= args.lease_ttl + 1.0,
            }
        )
    if args.json:
        print(json.dumps(out))
        return
    for backend, r in out.items():
        if r is None:
            print(f"{backend}: not measured")
            continue
        print(
            f"{backend}: lease TTL {r['lease_ttl_s']:g}s; takeover after SIGKILL median {r['takeover_median_s']:.2f}s, "
            f"max {r['takeover_max_s']:.2f}s ({'within' if r['within_ttl_plus_1s'] else 'NOT within'} TTL + 1s)"
        )


if __name__ == "__main__":
    main()
