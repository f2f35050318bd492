"""Kill switch benchmark: how fast engaging it kills credentials and drains every worker.

    python bench/killswitch.py                   # readable table (progress on stderr)
    python bench/killswitch.py --json            # one JSON object on stdout
    python bench/killswitch.py --only sqlite --runs 100 --workers 4

Workload: RUNS runs of a workflow of STEPS steps, each step sleeping 0.2-0.5 s (uniformly) and then
minting a tool credential (`CredentialBroker.amint`, as every tool call does), driven by WORKERS
`keel worker` processes of concurrency ceil(RUNS / WORKERS), so every run is in flight at once.
Once every run is leased and the workers have minted for WARMUP seconds, the switch is engaged
(`KillSwitch.engage`, audited, no webhook) from this process, and measured:

- credentials dead: from just before `engage` is called until a credential minted by a worker
  before the engage is first refused by `Verifier.verify`, which a thread of this process (with
  its own store, as a separate service would have) calls in a loop;
- drained: from the same instant until no run holds a lease anywhere, i.e. every run has finished
  its current step and been released (status waiting), so no step is running;
- steps started after the engage: journal entries whose start is after `engage` was called, and
  after it returned (its commit done). A worker with runs in flight reads the switch every 50 ms
  (`keel.engine.worker.KILL_SWITCH_READ_S`), so a step that ends in that window may be followed by
  one more, which mints a credential under the new generation;
- resumed: after two approvers release it, until a held run is leased again.

Targets (issue 7): credentials dead under 5 s (aim under 1 s); drained under 30 s. One round per
database, on a fresh SQLite file and a fresh PostgreSQL schema.

PostgreSQL: postgresql://postgres@127.0.0.1:5432/test, or KEEL_BENCH_POSTGRES_URL; skipped with
the reason when unreachable.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

try:
    import keel
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import keel

from sqlalchemy import text

from keel.errors import CredentialError
from keel.governance.audit import AuditLog
from keel.governance.killswitch import KillSwitch
from keel.store import Store, open_store
from keel.tools.credentials import Verifier

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCOPE = "read:things"

WORKFLOW = textwrap.dedent(
    '''
    """The bench's agents: every step takes 0.2-0.5 s and mints a tool credential."""
    import asyncio
    import os
    import random
    from pathlib import Path

    from keel import App, Context
    from keel.tools.credentials import CredentialBroker

    app = App("killswitch-bench")
    TOKENS = Path(os.environ["BENCH_TOKEN_DIR"])
    _broker = None


    @app.step()
    async def act(i: int) -> int:
        global _broker
        await asyncio.sleep(random.uniform(0.2, 0.5))
        if _broker is None:
            _broker = CredentialBroker(app.store)
        token = await _broker.amint("bench_tool", ["read:things"], org_id="bench", run_id="bench", step=i)
        # The newest credential of this process, for the bench to check after the engage.
        (TOKENS / f"{os.getpid()}.tmp").write_text(token)
        (TOKENS / f"{os.getpid()}.tmp").replace(TOKENS / f"{os.getpid()}.tok")
        return i


    @app.workflow()
    async def agent(ctx: Context, steps: int) -> int:
        for i in range(steps):
            await ctx.run(act, i)
        return steps
    '''
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _libpq_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_problem(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(_libpq_url(url), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, pg_url: str) -> Iterator[str]:
    """A brand-new database URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'keel.db'}"
        return
    import psycopg

    schema = f"keel_bench_ks_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq_url(pg_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(_libpq_url(pg_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _scalar(store: Store, sql: str, **params: Any) -> Any:
    return store.read(lambda conn: conn.execute(text(sql), params).scalar_one())


def leased(store: Store) -> int:
    return int(_scalar(store, "SELECT count(*) FROM keel_runs WHERE lease_owner IS NOT NULL"))


def wait_until(predicate: Any, what: str, timeout: float) -> float:
    """Poll every 10 ms; the monotonic time at which `predicate` first held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.01)
    return time.monotonic()


class RevocationProbe(threading.Thread):
    """Verifies one credential in a loop until it is refused; `refused_at` is when (monotonic)."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.store = open_store(url)
        self.verifier = Verifier(self.store)
        self.token = token
        self.verifier.verify(token, SCOPE)  # valid now, or the measurement means nothing
        self.refused_at: float | None = None
        self.reason = ""
        self.checks = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.verifier.verify(self.token, SCOPE)
            except CredentialError as exc:
                self.refused_at, self.reason = time.monotonic(), exc.reason
                return
            self.checks += 1

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=10)
        self.store.close()


def measure(kind: str, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    tokens = workdir / "tokens"
    tokens.mkdir()
    (workdir / "bench_agents.py").write_text(WORKFLOW)
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": url,
        "BENCH_TOKEN_DIR": str(tokens),
        "KEEL_TOOL_SIGNING_KEY_FILE": str(workdir / "tool-signing-key.pem"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    os.environ["KEEL_AUDIT_KEY"] = env["KEEL_AUDIT_KEY"] = base64.b64encode(os.urandom(32)).decode()
    store = open_store(url, migrate=True)
    workers: list[subprocess.Popen[bytes]] = []
    logs = []
    closers: list[Any] = []
    try:
        sys.path.insert(0, str(workdir))
        os.environ["BENCH_TOKEN_DIR"] = str(tokens)
        os.environ["KEEL_DATABASE_URL"] = url
        import bench_agents  # the same module the workers serve, to enqueue its runs

        app = bench_agents.app
        closers.append(app.close)
        for _ in range(args.runs):
            app.start("agent", args.steps)
        concurrency = math.ceil(args.runs / args.workers)
        for i in range(args.workers):
            out = (workdir / f"worker-{i}.log").open("wb")
            logs.append(out)
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "keel.cli", "--log-level", "warning", "worker", "bench_agents.py"]
                    + ["--concurrency", str(concurrency)],
                    cwd=workdir,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                )
            )
        log(f"  {kind}: {args.runs} runs enqueued, {args.workers} workers x {concurrency} starting")
        wait_until(lambda: leased(store) == args.runs, "every run to be in flight", 120)
        time.sleep(args.warmup)
        in_flight = leased(store)
        minted = sorted(tokens.glob("*.tok"))
        if len(minted) < args.workers:
            raise RuntimeError(f"only {len(minted)} of {args.workers} workers minted a credential during warm-up")
        before_engage = [path.read_text() for path in minted]  # the files change as workers go on minting
        probe = RevocationProbe(url, before_engage[0])
        probe.start()

        switch = KillSwitch(store, audit=AuditLog.from_env(store), webhook=None)
        engage_wall = time.time()
        t0 = time.monotonic()
        outcome = switch.engage("bench: kill switch drill", "bench-operator")
        engage_returned = time.monotonic()
        committed_wall = time.time()  # the commit happened before this (the audit append comes after it)
        if outcome.audit_error:
            raise RuntimeError(f"engage was not audited: {outcome.audit_error}")
        drained_at = wait_until(lambda: leased(store) == 0, "every run to drain", 120)
        wait_until(lambda: probe.refused_at is not None, "the credential to be refused", 30)
        probe.close()
        assert probe.refused_at is not None
        # Every worker's credential from before the engage is refused too.
        all_refused = True
        for token in before_engage:
            try:
                probe.verifier.verify(token, SCOPE)
                all_refused = False
            except CredentialError:
                pass
        counts = store.read(
            lambda conn: conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE started_at > :t), count(*) FILTER (WHERE started_at > :c), "
                    "count(*) FROM keel_steps"
                    if kind == "postgres"
                    else "SELECT sum(started_at > :t), sum(started_at > :c), count(*) FROM keel_steps"
                ),
                {"t": engage_wall, "c": committed_wall},
            ).one()
        )
        statuses = dict(
            store.read(lambda conn: conn.execute(text("SELECT status, count(*) FROM keel_runs GROUP BY status")).all())
        )
        switch.approve_release("bench-approver-1")
        t_release = time.monotonic()
        switch.approve_release("bench-approver-2")
        resumed_at = wait_until(lambda: leased(store) > 0, "a held run to be claimed again", 60)
        verified = switch._audit.verify() if switch._audit is not None else None
        return {
            "database": kind,
            "runs": args.runs,
            "workers": args.workers,
            "concurrency_per_worker": concurrency,
            "runs_in_flight_at_engage": in_flight,
            "engage_call_s": round(engage_returned - t0, 4),
            "credentials_dead_s": round(probe.refused_at - t0, 4),
            "credential_refusal_reason": probe.reason,
            "all_pre_engage_credentials_refused": all_refused,
            "drained_s": round(drained_at - t0, 3),
            "steps_journaled_before_release": int(counts[2]),
            # Each such step minted a credential after the engage, valid under the new generation. The
            # first count includes steps started while the engage's transaction was committing.
            "steps_started_after_engage": int(counts[0] or 0),
            "steps_started_after_engage_returned": int(counts[1] or 0),
            "run_statuses_when_drained": statuses,
            "resumed_after_release_s": round(resumed_at - t_release, 3),
            "audit_chain_ok": bool(verified and verified.ok),
        }
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
        for out in logs:
            out.close()
        with contextlib.suppress(ValueError):
            sys.path.remove(str(workdir))
        sys.modules.pop("bench_agents", None)
        for close in closers:
            close()
        store.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=100, help="runs in flight at the engage (default 100)")
    p.add_argument("--workers", type=int, default=4, help="`keel worker` processes (default 4)")
    p.add_argument("--steps", type=int, default=200, help="steps per run; enough to outlast the bench (default 200)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of work before the engage (default 3)")
    p.add_argument("--only", choices=["sqlite", "postgres"], help="measure one database only")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pg_url = os.environ.get("KEEL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for kind in kinds:
        if kind == "postgres" and (problem := postgres_problem(pg_url)):
            skipped[kind] = problem
            log(f"  postgres skipped: {problem}")
            continue
        workdir = Path(tempfile.mkdtemp(prefix="keel-bench-ks-"))
        try:
            with fresh_database(kind, workdir, pg_url) as url:
                results.append(measure(kind, url, workdir, args))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {"keel_version": keel.__version__, "results": results, "skipped": skipped}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    rows = [
        ("runs in flight at the engage", "runs_in_flight_at_engage", ""),
        ("engage call (commit + audit)", "engage_call_s", "s"),
        ("credentials dead", "credentials_dead_s", "s"),
        ("drained (no step running)", "drained_s", "s"),
        ("steps started after the engage began", "steps_started_after_engage", ""),
        ("steps started after it returned", "steps_started_after_engage_returned", ""),
        ("resumed after the release", "resumed_after_release_s", "s"),
        ("every pre-engage credential refused", "all_pre_engage_credentials_refused", ""),
        ("audit chain verifies", "audit_chain_ok", ""),
    ]
    header = f"{'':40}" + "".join(f"{r['database']:>14}" for r in results)
    print(header)
    for label, key, unit in rows:
        print(f"{label:40}" + "".join(f"{str(r[key]) + (' ' + unit if unit else ''):>14}" for r in results))
    for kind, why in skipped.items():
        print(f"{kind}: skipped ({why})")


if __name__ == "__main__":
    main()
