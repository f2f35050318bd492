"""Audit log benchmark: signed, chained appends against plain INSERTs of the same rows, and verify time.

    python bench/audit.py                         # readable table (progress on stderr)
    python bench/audit.py --json                  # one JSON object on stdout
    python bench/audit.py --only sqlite --events 500 --rounds 3 --verify-entries 1000000

Appends. Each event is ~1 KB once stored (a 600-character `data` object plus the other fields).
Three Keel workloads, each on a fresh database (a SQLite file, or a PostgreSQL schema):

- `single`: one `append_sync` per event, one after another: one transaction (and fsync) each;
- `batch100`: `append_many_sync` of 100 events: one transaction per 100;
- `conc8`: eight asyncio tasks each awaiting `append` in a loop, so concurrent appends share the
  committer's transactions.

The floor is a plain INSERT + COMMIT of a row of the same columns and sizes into a table without
triggers, with the raw driver and one writer (sqlite3: WAL, synchronous=FULL, BEGIN IMMEDIATE;
psycopg: synchronous_commit on): per event for `single` and `conc8`, 100 rows per commit for
`batch100`. Samples are interleaved (floor, keel, floor) for --rounds rounds; a ratio is keel over
the harmonic mean of the floor samples around it, and the reported figures are medians over rounds.

Verify. `--verify-entries` entries (default 100,000) are appended in batches of 1,000 (checkpoint
every 1,000), then `verify()` (hashes, links, checkpoints; signatures of uncheckpointed entries)
and `verify(full=True)` (every signature) are timed; the per-100k time and its extrapolation to
1,000,000 entries are reported. PostgreSQL: postgresql://postgres@127.0.0.1:5432/test, or
KEEL_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

try:
    import keel  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keel.governance import Actor, AuditEvent, AuditLog, CheckpointPolicy, Signer
from keel.store import Store, open_store

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SEED = bytes(range(32))
COLUMNS = (
    "seq", "event_id", "timestamp", "trace_id", "event_type", "actor_kind", "actor_id", "action", "resource",
    "decision", "policy_version", "risk_score", "data", "prev_hash", "hash", "key_id", "signature",
)  # fmt: skip


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# Prose, not one long word: the scrubbing floor's patterns backtrack on long runs of word characters.
SUMMARY = ("Customer asked where the parcel is; the tool looked the order up and found it in transit. " * 6)[:540]


def make_event(i: int) -> AuditEvent:
    return AuditEvent(
        event_type="tool.call",
        actor=Actor("agent", "support-bot"),
        action="tool:lookup_order",
        resource=f"orders/{i}",
        decision="allow",
        policy_version="sha256:3f1c9a0d",
        risk_score=35,
        trace_id=f"{i:032x}",
        data={"args": {"order": i, "fields": ["status", "eta"]}, "summary": SUMMARY, "cost_usd": 0.00042},
    )


# -- databases ----------------------------------------------------------------------------------------


class Databases:
    def __init__(self, kind: str, directory: Path | None, pg_url: str | None) -> None:
        self.kind, self.directory, self.pg_url = kind, directory, pg_url

    @contextlib.contextmanager
    def fresh(self) -> Iterator[str]:
        """A URL for a brand-new database: a SQLite file, or a PostgreSQL schema (migrated by Keel)."""
        if self.kind == "sqlite":
            assert self.directory is not None
            path = self.directory / f"audit-{uuid.uuid4().hex[:8]}.db"
            try:
                yield f"sqlite:///{path}"
            finally:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(f"{path}{suffix}")
            return
        import psycopg

        assert self.pg_url is not None
        schema = f"keel_bench_audit_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in self.pg_url else "?"
        try:
            yield f"{self.pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
        finally:
            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def open_log(url: str, *, every: int = 1000) -> tuple[Store, AuditLog]:
    store = open_store(url, migrate=True)
    return store, AuditLog(store, signer=Signer.from_seed(SEED), policy=CheckpointPolicy(every=every, seconds=3600))


# -- the floor ----------------------------------------------------------------------------------------


def sample_row(url: str) -> dict[str, Any]:
    """A real stored entry's values, so the floor writes rows of the same sizes."""
    store, audit = open_log(url)
    try:
        entry = audit.append_sync(make_event(0))
        return {c: v for c, v in zip(COLUMNS, _values(store, entry.seq), strict=True)}
    finally:
        store.close()


def _values(store: Store, seq: int) -> tuple[Any, ...]:
    return tuple(store.audit_entries(seq - 1, 1, COLUMNS)[0])


def floor(url: str, kind: str, row: dict[str, Any], events: int, per_commit: int) -> float:
    """Seconds to INSERT `events` copies of `row` (fresh seq and event_id), `per_commit` per COMMIT."""
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    ddl = (
        "CREATE TABLE floor_audit (seq BIGINT PRIMARY KEY, event_id VARCHAR(64) NOT NULL UNIQUE, "
        '"timestamp" VARCHAR(32), trace_id VARCHAR(32), event_type VARCHAR(100), actor_kind VARCHAR(20), '
        "actor_id VARCHAR(200), action VARCHAR(200), resource VARCHAR(500), decision VARCHAR(50), "
        "policy_version VARCHAR(100), risk_score INTEGER, data TEXT, prev_hash VARCHAR(64), hash VARCHAR(64), "
        "key_id VARCHAR(64), signature VARCHAR(128))"
    )
    if kind == "sqlite":
        ddl = ddl.replace("seq BIGINT PRIMARY KEY", "seq INTEGER PRIMARY KEY")

    def rows(start: int, n: int) -> list[tuple[Any, ...]]:
        return [
            tuple({**row, "seq": s, "event_id": str(uuid.uuid4())}[c] for c in COLUMNS) for s in range(start, start + n)
        ]

    if kind == "sqlite":
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(ddl)
            insert = f"INSERT INTO floor_audit ({cols}) VALUES ({', '.join('?' * len(COLUMNS))})"
            gc.collect()
            started = time.perf_counter()
            for start in range(1, events + 1, per_commit):
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(insert, rows(start, min(per_commit, events + 1 - start)))
                conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        pg.execute("SET synchronous_commit TO on")
        pg.execute(ddl)
        pg.commit()
        insert = f"INSERT INTO floor_audit ({cols}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
        gc.collect()
        started = time.perf_counter()
        for start in range(1, events + 1, per_commit):
            with pg.cursor() as cur:
                cur.executemany(insert, rows(start, min(per_commit, events + 1 - start)))
            pg.commit()
        return time.perf_counter() - started


# -- Keel ---------------------------------------------------------------------------------------------


def keel_single(audit: AuditLog, events: int) -> float:
    started = time.perf_counter()
    for i in range(events):
        audit.append_sync(make_event(i))
    return time.perf_counter() - started


def keel_batch(audit: AuditLog, events: int, per_commit: int = 100) -> float:
    started = time.perf_counter()
    for start in range(0, events, per_commit):
        audit.append_many_sync([make_event(i) for i in range(start, min(events, start + per_commit))])
    return time.perf_counter() - started


def keel_concurrent(audit: AuditLog, events: int, tasks: int = 8) -> float:
    async def run() -> float:
        left = iter(range(events))

        async def worker() -> None:
            for i in left:
                await audit.append(make_event(i))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return time.perf_counter() - started

    return asyncio.run(run())


WORKLOADS: dict[str, tuple[Callable[[AuditLog, int], float], int]] = {
    "single": (keel_single, 1),
    "batch100": (keel_batch, 100),
    "conc8": (keel_concurrent, 1),
}


def measure_appends(dbs: Databases, events: int, rounds: int) -> dict[str, Any]:
    with dbs.fresh() as url:
        row = sample_row(url)
    out: dict[str, Any] = {}
    for name, (run, per_commit) in WORKLOADS.items():
        n = events * (10 if per_commit > 1 else 1)  # batches need more events to time anything
        keel_rates: list[float] = []
        floor_rates: list[float] = []
        ratios: list[float] = []
        for r in range(rounds):
            with dbs.fresh() as url:
                store, _ = open_log(url)
                store.close()
                before = n / floor(url, dbs.kind, row, n, per_commit)
            with dbs.fresh() as url:
                store, audit = open_log(url)
                try:
                    audit.append_sync(make_event(-1))  # warm-up: key published, statements compiled
                    gc.collect()
                    rate = n / run(audit, n)
                    if not audit.verify().ok:
                        raise RuntimeError(f"{name}: the log does not verify")
                finally:
                    store.close()
            with dbs.fresh() as url:
                store, _ = open_log(url)
                store.close()
                after = n / floor(url, dbs.kind, row, n, per_commit)
            around = statistics.harmonic_mean([before, after])
            keel_rates.append(rate)
            floor_rates += [before, after]
            ratios.append(rate / around)
            log(f"  {dbs.kind} {name} round {r + 1}: keel {rate:,.0f}/s, floor {around:,.0f}/s, x{rate / around:.2f}")
        out[name] = {
            "events": n,
            "per_commit": per_commit,
            "keel_per_s": round(statistics.median(keel_rates)),
            "floor_per_s": round(statistics.median(floor_rates)),
            "x_floor": round(statistics.median(ratios), 3),
        }
    return out


def measure_verify(dbs: Databases, entries: int) -> dict[str, Any]:
    with dbs.fresh() as url:
        store, audit = open_log(url, every=1000)
        try:
            started = time.perf_counter()
            for start in range(0, entries, 1000):
                audit.append_many_sync([make_event(i) for i in range(start, min(entries, start + 1000))])
                if start and start % 100_000 == 0:
                    log(f"  {dbs.kind} filled {start:,}/{entries:,}")
            fill_s = time.perf_counter() - started
            fast = audit.verify()
            full = audit.verify(full=True)
            if not (fast.ok and full.ok):
                raise RuntimeError("the log does not verify")
        finally:
            store.close()
    per_100k = fast.seconds * 100_000 / entries
    per_100k_full = full.seconds * 100_000 / entries
    return {
        "entries": entries,
        "fill_s": round(fill_s, 2),
        "fill_per_s": round(entries / fill_s),
        "verify_s": round(fast.seconds, 2),
        "verify_per_100k_s": round(per_100k, 2),
        "verify_1m_s": round(fast.seconds if entries == 1_000_000 else per_100k * 10, 1),
        "verify_1m_measured": entries == 1_000_000,
        "verify_full_s": round(full.seconds, 2),
        "verify_full_per_100k_s": round(per_100k_full, 2),
        "verify_full_1m_s": round(full.seconds if entries == 1_000_000 else per_100k_full * 10, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--events", type=int, default=300, help="events per single/conc8 sample (x10 for batch100)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify-entries", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="where SQLite files go (default: a temporary directory)")
    args = parser.parse_args()

    results: dict[str, Any] = {}
    pg_url = os.environ.get("KEEL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for kind in ("sqlite", "postgres"):
            if args.only and args.only != kind:
                continue
            if kind == "postgres":
                try:
                    import psycopg

                    psycopg.connect(pg_url, connect_timeout=3).close()
                except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
                    log(f"postgres skipped: {exc}")
                    results[kind] = None
                    continue
            dbs = Databases(kind, Path(tmp), pg_url)
            log(f"{kind}: appends")
            appends = measure_appends(dbs, args.events, args.rounds)
            log(f"{kind}: verify over {args.verify_entries:,} entries")
            results[kind] = {"appends": appends, "verify": measure_verify(dbs, args.verify_entries)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for kind, found in results.items():
        if found is None:
            print(f"{kind}: skipped")
            continue
        print(f"{kind}")
        print(f"  {'workload':<10} {'keel/s':>9} {'floor/s':>9} {'x floor':>8}")
        for name, a in found["appends"].items():
            print(f"  {name:<10} {a['keel_per_s']:>9,} {a['floor_per_s']:>9,} {a['x_floor']:>8.2f}")
        v = found["verify"]
        print(
            f"  verify: {v['verify_per_100k_s']} s per 100k -> {v['verify_1m_s']} s per 1M "
            f"({'measured' if v['verify_1m_measured'] else 'extrapolated'}); every signature: "
            f"{v['verify_full_per_100k_s']} s per 100k -> {v['verify_full_1m_s']} s per 1M"
        )


if __name__ == "__main__":
    main()
