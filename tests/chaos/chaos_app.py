"""The workflow the chaos tests run: each step records its execution and its side effect.

The ledger is a separate SQLite file: `executions` gets a row per execution (with the pid),
`effects` a row per idempotency key (INSERT OR IGNORE), which is how a real service dedups.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time

import keel

app = keel.App("chaos")
LEDGER = os.environ.get("CHAOS_LEDGER", "ledger.db")
STEPS = 10


def ledger() -> sqlite3.Connection:
    conn = sqlite3.connect(LEDGER, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS executions (key TEXT, pid INTEGER, at REAL)")
    conn.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, pid INTEGER)")
    return conn


@app.step(retry=keel.RetryPolicy(max_attempts=10, initial_backoff=0.05, max_backoff=0.2))
def effect(run_no: int, i: int, *, idempotency_key: str) -> dict:
    # A little work so that kills land mid-step as well as between steps.
    time.sleep(random.uniform(0.0, 0.02))
    conn = ledger()
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO executions VALUES (?, ?, ?)", (idempotency_key, os.getpid(), time.time()))
        conn.execute("INSERT OR IGNORE INTO effects VALUES (?, ?)", (idempotency_key, os.getpid()))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {"run": run_no, "i": i}


@app.workflow()
async def chain(ctx: keel.Context, run_no: int) -> int:
    total = 0
    for i in range(STEPS):
        out = await ctx.run(effect, run_no, i)
        total += out["i"]
    return total
