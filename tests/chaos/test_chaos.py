"""Chaos: many runs over several worker processes, workers SIGKILLed at random and restarted.

Every run must end succeeded; no completed step may run again; every side effect keyed by
the idempotency key must happen exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import keel
from keel.store import Store, open_store, schema

HERE = Path(__file__).parent
RUNS = 100
WORKERS = 3
HANG_GUARD_S = 240

pytestmark = pytest.mark.chaos


def _spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "chaos_worker.py"), "4"],
        cwd=HERE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _lease_holders(store: Store) -> set[int]:
    """Pids of the workers holding a running run's lease now (a worker id is host:pid:suffix)."""
    r = schema.runs.c
    stmt = select(r.lease_owner).where(r.status == "running", r.lease_owner.is_not(None)).distinct()
    owners = store.read(lambda conn: conn.execute(stmt).scalars().all())
    return {int(owner.split(":")[1]) for owner in owners}


def _chaos(database_url: str, tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.db"
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": database_url,
        "CHAOS_LEDGER": str(ledger_path),
        "KEEL_LEASE_TTL_S": "1.0",
        "KEEL_POLL_INTERVAL_S": "0.05",
        "PYTHONPATH": str(HERE),
        "CHAOS_READY_DIR": str(tmp_path),
    }
    sys.path.insert(0, str(HERE))
    try:
        os.environ["CHAOS_LEDGER"] = str(ledger_path)
        import chaos_app

        chaos_app.LEDGER = str(ledger_path)
        chaos_app.ledger().close()
        app = keel.App("chaos-driver", database_url)
        # Register the same workflow so the driver can start it; the driver never executes runs.
        app.registry.add_workflow(chaos_app.chain.__keel_workflow__)
        run_ids = [app.start("chain", n).run_id for n in range(RUNS)]
    finally:
        sys.path.remove(str(HERE))

    rng = random.Random(1234)
    workers = [_spawn(env) for _ in range(WORKERS)]
    killed: set[int] = set()
    deadline = time.monotonic() + HANG_GUARD_S
    store = open_store(database_url)
    try:
        while True:
            done = sum(1 for rid in run_ids if store.get_run(rid).status == "succeeded")
            if done == RUNS:
                break
            assert time.monotonic() < deadline, f"hang guard: only {done}/{RUNS} runs finished"
            time.sleep(rng.uniform(0.1, 0.5))
            # Kill a worker that holds a lease right now: one still starting up (importing takes
            # about a second) would die without ever having had a run to lose.
            holders = _lease_holders(store)
            leased = [w for w in workers if w.pid in holders]
            if len(killed) < 25 and leased:
                victim = leased[rng.randrange(len(leased))]
                workers.remove(victim)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed.add(victim.pid)
                workers.append(_spawn(env))
        for w in workers:
            # A worker still starting up would die of SIGTERM before it could drain.
            while not (tmp_path / str(w.pid)).exists():
                assert time.monotonic() < deadline, f"worker {w.pid} never became ready"
                time.sleep(0.05)
            w.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(timeout=60) == 0, "a worker did not drain cleanly on SIGTERM"

        # Every run succeeded with the right result and a complete journal.
        expected_total = sum(range(10))
        takeovers = 0
        for rid in run_ids:
            run = store.get_run(rid)
            assert run.status == "succeeded", (rid, run.status, run.error)
            assert run.result == str(expected_total)
            journal = store.load_journal(rid)
            assert [s.seq for s in journal] == list(range(10))
            takeovers += sum("taken over" in t["cause"] for t in store.transitions(rid))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        store.close()
        app.close()

    conn = sqlite3.connect(ledger_path)
    effects = {k for (k,) in conn.execute("SELECT key FROM effects")}
    executions = conn.execute("SELECT key, pid FROM executions ORDER BY rowid").fetchall()
    conn.close()

    # Side effects keyed by the idempotency key happened exactly once per step.
    assert effects == {f"{rid}:{i}" for rid in run_ids for i in range(10)}
    # No completed step ran again: a step executed twice only when the worker that ran it
    # first was killed before its checkpoint could commit.
    by_key: dict[str, list[int]] = {}
    for key, pid in executions:
        by_key.setdefault(key, []).append(pid)
    for key, pids in by_key.items():
        for earlier in pids[:-1]:
            assert earlier in killed, f"step {key} ran again after pid {earlier}, which was never killed, ran it"
    # The chaos really happened: workers died mid-run and others took their runs over.
    assert len(killed) >= 3
    assert takeovers >= 1
    print(
        f"chaos: {RUNS} runs, {len(killed)} workers killed, {takeovers} lease takeovers, "
        f"{len(executions) - len(effects)} step re-executions after kills"
    )


def test_chaos_sqlite(tmp_path: Path) -> None:
    _chaos(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)


@pytest.mark.postgres
def test_chaos_postgres(tmp_path: Path, postgres_url: str) -> None:
    _chaos(postgres_url, tmp_path)
