"""Engine benchmark: durable steps per second, against the floor of one raw commit per step.

    python bench/engine.py                      # readable table (progress on stderr)
    python bench/engine.py --json               # one JSON object on stdout
    python bench/engine.py --only sqlite --rounds 5 --workflows 100

Workload: WORKFLOWS workflows of STEPS trivial steps (each returns {"i": i}), run one at a
time ("seq") and eight at a time ("conc8"), each on a fresh database (a new SQLite file, or a
new PostgreSQL schema). Steps/s = total steps / elapsed wall time of the timed section; the
engine's setup (opening the store, migrations, launch) and one warm-up workflow are not timed.

The floor is one raw INSERT + COMMIT of a comparable journal row per step, with one writer
and the raw driver (sqlite3: WAL, synchronous=FULL, BEGIN IMMEDIATE; psycopg:
synchronous_commit on). The disk of a virtual machine is noisy, so measurements are
interleaved: floor, keel seq, floor, keel conc8, floor, dbos seq, ... floor, repeated for
--rounds rounds with the engine order rotating each round (floor samples are half the
workload's steps). Steps/s are medians over rounds; each ratio "x floor" is the median over
rounds of (engine sample / the floor sampled around it, i.e. the harmonic mean of the floor
samples just before and just after), so a slow spell of the disk hits both sides of a ratio.
conc8 is compared with the same one-writer floor.

Peers, measured on the same workload and database when installed (`pip install -e '.[bench]'`):
DBOS Transact (async workflow and steps; SQLite file pre-set to WAL so it runs with Keel's
PRAGMAs, its own default being the rollback journal; PostgreSQL in a fresh
`dbos_system_schema`) and LangGraph (a chain of async nodes, `durability="sync"`, with
AsyncSqliteSaver on an aiosqlite connection set to WAL + synchronous=FULL, or
AsyncPostgresSaver.from_conn_string). A peer that cannot run is skipped with the reason printed.

Keel is measured twice: "keel" with tracing off, "keel+trace" with every span written to
Keel's span store and handed to an in-memory exporter (the last batch's flush is timed).
trace_overhead is the median over rounds of 1 - (keel+trace / floor) / (keel / floor).

PostgreSQL: postgresql://postgres@127.0.0.1:5432/test, or KEEL_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

try:
    import keel
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import keel

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
MODES = {"seq": 1, "conc8": 8}
ENGINES = ("keel", "keel+trace", "dbos", "langgraph")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- databases ---------------------------------------------------------------------------------


def _libpq_url(url: str) -> str:
    """The URL psycopg takes (no SQLAlchemy driver suffix)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_search_path(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@dataclass
class Database:
    """Where measurements run: a directory for SQLite files, or a PostgreSQL server."""

    kind: str  # sqlite | postgres
    directory: Path | None = None
    pg_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def fresh(self, label: str) -> Iterator[Fresh]:
        """A brand-new database for one measurement: a SQLite file path or a PostgreSQL schema."""
        if self.kind == "sqlite":
            assert self.directory is not None
            path = self.directory / f"{label}-{uuid.uuid4().hex[:8]}.db"
            try:
                yield Fresh(kind="sqlite", path=path)
            finally:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(f"{path}{suffix}")
            return
        import psycopg

        assert self.pg_url is not None
        schema = f"keel_bench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield Fresh(kind="postgres", base_url=self.pg_url, schema=schema)
        finally:
            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass
class Fresh:
    kind: str
    path: Path | None = None
    base_url: str | None = None
    schema: str | None = None

    @property
    def url(self) -> str:
        """A URL for Keel / psycopg: the file, or the server with search_path set to the schema."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        assert self.base_url is not None and self.schema is not None
        return _with_search_path(self.base_url, self.schema)


def postgres_problem(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def postgres_settings(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method")
        }


# -- the common driver ----------------------------------------------------------------------------


async def drive(run_one: Callable[[], Awaitable[int]], *, workflows: int, concurrency: int, expected: int) -> float:
    """Warm up with one untimed workflow, then time `workflows` runs, `concurrency` in flight."""
    if await run_one() != expected:
        raise RuntimeError("warm-up workflow returned a wrong result")
    gc.collect()
    results: list[int] = []
    started = time.perf_counter()
    if concurrency == 1:
        for _ in range(workflows):
            results.append(await run_one())
    else:
        left = iter(range(workflows))

        async def worker() -> None:
            for _ in left:
                results.append(await run_one())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    bad = sum(1 for r in results if r != expected)
    if len(results) != workflows or bad:
        raise RuntimeError(f"{bad} of {len(results)} workflows returned a wrong result")
    return elapsed


# -- the floor: one raw INSERT + COMMIT per step, one writer ------------------------------------

_FLOOR_TABLE = """
CREATE TABLE floor_steps (
    run_id VARCHAR(36) NOT NULL,
    seq INTEGER NOT NULL,
    name VARCHAR(300) NOT NULL,
    kind VARCHAR(20) NOT NULL,
    status VARCHAR(20) NOT NULL,
    result TEXT,
    attempts INTEGER NOT NULL,
    started_at {float} ,
    finished_at {float},
    PRIMARY KEY (run_id, seq)
)"""


def measure_floor(db: Fresh, *, workflows: int, steps: int) -> float:
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.path, isolation_level=None)  # we issue BEGIN/COMMIT ourselves
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_FLOOR_TABLE.format(float="REAL"))
            insert = "INSERT INTO floor_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            for i in range(steps):  # warm-up, as the engines get one untimed workflow
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(insert, ("warm-up", i, "bench.step", "step", "succeeded", "{}", 1, 0.0, 0.0))
                conn.execute("COMMIT")
            gc.collect()
            started = time.perf_counter()
            for _ in range(workflows):
                run_id = str(uuid.uuid4())
                for i in range(steps):
                    now = time.time()
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        insert, (run_id, i, "bench.step", "step", "succeeded", json.dumps({"i": i}), 1, now, now)
                    )
                    conn.execute("COMMIT")
            elapsed = time.perf_counter() - started
            (count,) = conn.execute("SELECT count(*) FROM floor_steps").fetchone()
        finally:
            conn.close()
    else:
        import psycopg

        with psycopg.connect(db.url) as conn:
            conn.execute("SET synchronous_commit TO on")
            conn.execute(_FLOOR_TABLE.format(float="DOUBLE PRECISION"))
            conn.commit()
            insert = "INSERT INTO floor_steps VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            for i in range(steps):  # warm-up, as the engines get one untimed workflow
                conn.execute(insert, ("warm-up", i, "bench.step", "step", "succeeded", "{}", 1, 0.0, 0.0))
                conn.commit()
            gc.collect()
            started = time.perf_counter()
            for _ in range(workflows):
                run_id = str(uuid.uuid4())
                for i in range(steps):
                    now = time.time()
                    conn.execute(
                        insert, (run_id, i, "bench.step", "step", "succeeded", json.dumps({"i": i}), 1, now, now)
                    )
                    conn.commit()
            elapsed = time.perf_counter() - started
            (count,) = conn.execute("SELECT count(*) FROM floor_steps").fetchone()  # type: ignore[misc]
    if count != (workflows + 1) * steps:
        raise RuntimeError(f"floor wrote {count} rows, expected {(workflows + 1) * steps}")
    return elapsed


# -- Keel ---------------------------------------------------------------------------------------


def measure_keel(
    db: Fresh, *, workflows: int, steps: int, concurrency: int, step_kind: str, traced: bool = False
) -> float:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from keel.store import open_store

    if db.kind == "postgres":
        open_store(db.url, migrate=True).close()  # PostgreSQL migrations are an operator step
    # "keel" has tracing off; "keel+trace" stores every span in the database and also hands it
    # to an in-memory exporter, standing in for an OTLP exporter without a network in the way.
    app = keel.App("bench", database_url=db.url, trace_settings=keel.TraceSettings(enabled=traced))
    spans = None
    if traced:
        # Batched, as an OTLP exporter would be (keel.testing.capture_spans exports synchronously).
        spans = InMemorySpanExporter()
        assert app.tracing is not None
        app.tracing.add_processor(BatchSpanProcessor(spans, schedule_delay_millis=500))
    if step_kind == "async":

        @app.step(name="bench.step")
        async def step(i: int) -> dict[str, int]:
            return {"i": i}

    else:

        @app.step(name="bench.step")
        def step(i: int) -> dict[str, int]:  # type: ignore[misc]
            return {"i": i}

    @app.workflow(name="bench")
    async def workflow(ctx: keel.Context, n: int) -> int:
        total = 0
        for i in range(n):
            total += (await ctx.run(step, i))["i"]
        return total

    try:
        _ = app.store  # open (and on SQLite migrate) outside the timed section
        elapsed = asyncio.run(
            drive(
                lambda: app.run(workflow, steps),
                workflows=workflows,
                concurrency=concurrency,
                expected=sum(range(steps)),
            )
        )
        if app.tracing is not None:
            # The span store's last batch is part of the cost: wait for it, on the clock.
            t0 = time.perf_counter()
            app.tracing.flush()
            elapsed += time.perf_counter() - t0
        journaled = app.store.read(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM keel_steps WHERE status = 'succeeded'").scalar_one()
        )
        if journaled != (workflows + 1) * steps:
            raise RuntimeError(f"keel journaled {journaled} steps, expected {(workflows + 1) * steps}")
        if spans is not None:
            expected_spans = (workflows + 1) * (steps + 1)  # a span per step and one per run
            # A step's or run's span is its journal entry or run row (keel.store.spans).
            stored = app.store.read(
                lambda c: c.exec_driver_sql(
                    "SELECT (SELECT count(*) FROM keel_steps WHERE span_id IS NOT NULL)"
                    " + (SELECT count(*) FROM keel_runs WHERE trace_id IS NOT NULL AND status = 'succeeded')"
                    " + (SELECT count(*) FROM keel_spans)"
                ).scalar_one()
            )
            exported = len(spans.get_finished_spans())
            if stored != expected_spans or exported != expected_spans:
                raise RuntimeError(f"keel stored {stored} and exported {exported} spans, expected {expected_spans}")
        return elapsed
    finally:
        app.close()


# -- DBOS Transact ------------------------------------------------------------------------------

_DBOS_WORKFLOW: Callable[[int], Awaitable[int]] | None = None


def _dbos_workflow() -> Callable[[int], Awaitable[int]]:
    """Register the benchmark's workflow with DBOS once per process (its registry is global)."""
    global _DBOS_WORKFLOW
    if _DBOS_WORKFLOW is None:
        from dbos import DBOS

        @DBOS.step(name="bench_step")
        async def bench_step(i: int) -> dict[str, int]:
            return {"i": i}

        @DBOS.workflow(name="bench_workflow")
        async def bench_workflow(n: int) -> int:
            total = 0
            for i in range(n):
                total += (await bench_step(i))["i"]
            return total

        _DBOS_WORKFLOW = bench_workflow
    return _DBOS_WORKFLOW


def measure_dbos(db: Fresh, *, workflows: int, steps: int, concurrency: int) -> float:
    from dbos import DBOS

    workflow = _dbos_workflow()
    config: dict[str, Any] = {"name": "keel-bench", "log_level": "WARNING"}
    if db.kind == "sqlite":
        # DBOS sets no journal mode (SQLite's default is the rollback journal); WAL is a
        # property of the file, so pre-setting it gives DBOS Keel's PRAGMAs. Its connections
        # keep SQLite's default synchronous=FULL.
        with contextlib.closing(sqlite3.connect(db.path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        config["system_database_url"] = f"sqlite:///{db.path}"
    else:
        config["system_database_url"] = db.base_url
        config["dbos_system_schema"] = db.schema

    async def main() -> float:
        DBOS(config=config)  # type: ignore[arg-type]
        try:
            DBOS.launch()
            return await drive(
                lambda: workflow(steps), workflows=workflows, concurrency=concurrency, expected=sum(range(steps))
            )
        finally:
            DBOS.destroy()

    return asyncio.run(main())


# -- LangGraph ------------------------------------------------------------------------------------


def measure_langgraph(db: Fresh, *, workflows: int, steps: int, concurrency: int) -> float:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        total: int

    builder = StateGraph(State)
    previous = START
    for i in range(steps):

        async def node(state: State, i: int = i) -> dict[str, int]:
            return {"total": state["total"] + i}

        builder.add_node(f"step_{i}", node)
        builder.add_edge(previous, f"step_{i}")
        previous = f"step_{i}"
    builder.add_edge(previous, END)

    async def main() -> float:
        async with contextlib.AsyncExitStack() as stack:
            if db.kind == "sqlite":
                import aiosqlite
                from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

                conn = await aiosqlite.connect(db.path)
                stack.push_async_callback(conn.close)
                await conn.execute("PRAGMA journal_mode=WAL")
                await conn.execute("PRAGMA synchronous=FULL")
                saver: Any = AsyncSqliteSaver(conn)
            else:
                from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

                saver = await stack.enter_async_context(AsyncPostgresSaver.from_conn_string(db.url))
            await saver.setup()
            graph = builder.compile(checkpointer=saver)

            async def run_one() -> int:
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                out = await graph.ainvoke({"total": 0}, config, durability="sync")
                return int(out["total"])

            return await drive(run_one, workflows=workflows, concurrency=concurrency, expected=sum(range(steps)))

    return asyncio.run(main())


# -- rounds ---------------------------------------------------------------------------------------


@dataclass
class Samples:
    floor: list[float] = field(default_factory=list)
    # (engine, mode) -> [(steps/s, the floor steps/s around it)]
    engine: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)


def peer_problems(engines: list[str]) -> dict[str, str]:
    """Peers that cannot run at all, with the reason."""
    problems = {}
    if "dbos" in engines:
        try:
            import dbos  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            problems["dbos"] = f"not installed ({type(exc).__name__}: {exc}); pip install -e '.[bench]'"
    if "langgraph" in engines:
        try:
            import aiosqlite  # noqa: F401
            import langgraph.checkpoint.postgres.aio  # noqa: F401
            import langgraph.checkpoint.sqlite.aio  # noqa: F401
            import langgraph.graph  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            problems["langgraph"] = f"not installed ({type(exc).__name__}: {exc}); pip install -e '.[bench]'"
    return problems


def run_database(db: Database, args: argparse.Namespace, engines: list[str], skipped: dict[str, str]) -> Samples:
    """One continuous interleaved sequence: floor, measurement, floor, measurement, ..., floor.

    Each measurement is paired with the floor sampled just before and just after it (their
    harmonic mean: the mean time per commit), so slow drifts of the disk hit both sides of its
    ratio. Floor samples are half the workload's steps each, as there is one per measurement.
    """
    samples = Samples()
    total_steps = args.workflows * args.steps
    floor_workflows = max(1, args.workflows // 2)
    width = max(len(f"{e} {m}") for e in engines for m in MODES)

    def report(label: str, what: str, steps: int, elapsed: float) -> float:
        rate = steps / elapsed
        log(f"[{label}] {what:<{width}}  {steps:>6} steps in {elapsed:6.2f}s = {rate:8.0f} steps/s")
        return rate

    def floor_sample(label: str) -> float:
        with db.fresh("floor") as fresh:
            elapsed = measure_floor(fresh, workflows=floor_workflows, steps=args.steps)
        rate = report(label, "floor", floor_workflows * args.steps, elapsed)
        samples.floor.append(rate)
        return rate

    before = floor_sample(f"{db.kind} 1/{args.rounds}")
    for r in range(args.rounds):
        label = f"{db.kind} {r + 1}/{args.rounds}"
        order = engines[r % len(engines) :] + engines[: r % len(engines)]
        for engine in order:
            for mode, concurrency in MODES.items():
                if engine in skipped:
                    break
                try:
                    with db.fresh(f"{engine}-{mode}") as fresh:
                        kw = dict(workflows=args.workflows, steps=args.steps, concurrency=concurrency)
                        if engine in ("keel", "keel+trace"):
                            traced = engine == "keel+trace"
                            elapsed = measure_keel(fresh, step_kind=args.keel_steps, traced=traced, **kw)
                        elif engine == "dbos":
                            elapsed = measure_dbos(fresh, **kw)
                        else:
                            elapsed = measure_langgraph(fresh, **kw)
                except Exception as exc:
                    if engine.startswith("keel"):
                        raise  # the subject of the benchmark failing is an error, not a skip
                    reason = f"failed on {db.kind} {mode}: {type(exc).__name__}: {exc}"
                    skipped[engine] = reason
                    log(f"[{label}] {engine}: SKIPPED, {reason}")
                    break
                rate = report(label, f"{engine} {mode}", total_steps, elapsed)
                after = floor_sample(label)
                samples.engine.setdefault((engine, mode), []).append((rate, 2 / (1 / before + 1 / after)))
                before = after
    return samples


def summarize(samples: Samples, engines: list[str], skipped: dict[str, str]) -> dict[str, dict[str, float]]:
    floor = statistics.median(samples.floor)
    out: dict[str, dict[str, float]] = {}
    for mode in MODES:
        row: dict[str, float] = {}
        for engine in engines:
            pairs = samples.engine.get((engine, mode))
            if engine in skipped or not pairs:
                continue
            row[f"{engine}_steps_per_s"] = round(statistics.median(p[0] for p in pairs), 1)
            if engine == "keel":
                row["floor_steps_per_s"] = round(floor, 1)
        for engine in engines:
            pairs = samples.engine.get((engine, mode))
            if engine in skipped or not pairs:
                continue
            row[f"{engine}_over_floor"] = round(statistics.median(rate / f for rate, f in pairs), 3)
        plain, traced = samples.engine.get(("keel", mode)), samples.engine.get(("keel+trace", mode))
        if plain and traced:
            # Per round, both against their own floors, so the disk's drift cancels out.
            row["trace_overhead"] = round(
                statistics.median(1 - (t / tf) / (k / kf) for (t, tf), (k, kf) in zip(traced, plain, strict=False)),
                3,
            )
        out[mode] = row
    return out


# -- output -------------------------------------------------------------------------------------

_TARGETS = {("sqlite", "seq"): 0.67, ("postgres", "seq"): 0.5, ("sqlite", "conc8"): 1.0, ("postgres", "conc8"): 1.0}


def print_table(
    results: dict[str, Any], dbs: dict[str, Database], skipped: dict[str, str], args: argparse.Namespace
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for kind, res in results.items():
        if res is None:
            console.print(f"[bold]{kind}[/bold]: skipped ({dbs[kind].notes[0] if dbs[kind].notes else 'unavailable'})")
            continue
        table = Table(title=f"{kind}: {args.workflows} workflows x {args.steps} steps, median of {args.rounds} rounds")
        table.add_column("engine")
        for mode in MODES:
            table.add_column(f"{mode} steps/s", justify="right")
            table.add_column(f"{mode} x floor", justify="right")
        names = ["floor"] + [e for e in ENGINES if any(f"{e}_steps_per_s" in res[m] for m in MODES)]
        verdicts = []
        for name in names:
            cells = [name]
            for mode in MODES:
                row = res[mode]
                if name == "floor":
                    cells += [f"{row['floor_steps_per_s']:.0f}", "1.00"]
                    continue
                ratio = row[f"{name}_over_floor"]
                text = f"{ratio:.2f}"
                if name == "keel":
                    target = _TARGETS[(kind, mode)]
                    ok = ratio > target if mode == "conc8" else ratio >= target
                    text = f"[{'green' if ok else 'red'}]{text}[/]"
                    verdicts.append(
                        f"{mode} {ratio:.2f} vs target {'>' if mode == 'conc8' else '>='} {target:g}: "
                        f"{'met' if ok else 'MISSED'}"
                    )
                cells += [f"{row[f'{name}_steps_per_s']:.0f}", text]
            table.add_row(*cells)
        console.print(table)
        console.print(f"  keel ({args.keel_steps} def steps): {'; '.join(verdicts)}")
        overheads = {m: res[m]["trace_overhead"] for m in MODES if "trace_overhead" in res[m]}
        if overheads:
            parts = [
                f"{m} {o:+.1%} ({'[green]within[/]' if o <= 0.15 else '[red]OVER[/]'} 15%)"
                for m, o in overheads.items()
            ]
            console.print(
                "  tracing on (span store + in-memory exporter) costs, against tracing off: " + "; ".join(parts)
            )
        console.print(
            "  floor = one raw INSERT+COMMIT per step, one writer; x floor = median over rounds of "
            "(engine / the floor sampled around it); conc8 is compared with the same one-writer floor"
        )
        for note in dbs[kind].notes:
            console.print(f"  {note}")
        console.print()
    for engine, reason in skipped.items():
        console.print(f"[yellow]{engine} skipped[/]: {reason}")


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--workflows", type=int, default=200, help="workflows per measurement (default 200)")
    p.add_argument("--steps", type=int, default=10, help="steps per workflow (default 10)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)")
    p.add_argument("--only", choices=["sqlite", "postgres"], help="measure one database only")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-peers", action="store_true", help="measure Keel and the floor only")
    p.add_argument(
        "--keel-steps",
        choices=["async", "sync"],
        default="async",
        help="Keel steps as `async def` (default: no thread hop) or plain `def` (run in a thread)",
    )
    p.add_argument(
        "--dir",
        help="directory for the SQLite files (default: a new temporary directory); "
        "put it on the disk you care about, not on tmpfs",
    )
    args = p.parse_args(argv)
    for name in ("workflows", "steps", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    engines = ["keel", "keel+trace"] if args.no_peers else list(ENGINES)
    skipped = peer_problems(engines)
    for engine, reason in skipped.items():
        log(f"{engine}: SKIPPED, {reason}")

    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-", dir=args.dir))
    dbs: dict[str, Database] = {}
    if args.only in (None, "sqlite"):
        dbs["sqlite"] = Database(
            "sqlite",
            directory=workdir,
            notes=[
                f"SQLite {sqlite3.sqlite_version}; files in {workdir}; keel, floor, langgraph and dbos "
                "(file pre-set to WAL) all use WAL with synchronous=FULL"
            ],
        )
    if args.only in (None, "postgres"):
        pg_url = _libpq_url(os.environ.get("KEEL_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL)
        problem = postgres_problem(pg_url)
        if problem:
            log(f"postgres: SKIPPED, not reachable at {pg_url} ({problem})")
            dbs["postgres"] = Database("postgres", notes=[f"not reachable at {pg_url} ({problem})"])
        else:
            s = postgres_settings(pg_url)
            note = (
                f"PostgreSQL {s['server_version']}; server synchronous_commit={s['synchronous_commit']}, "
                f"fsync={s['fsync']}, wal_sync_method={s['wal_sync_method']}; the floor sets "
                "synchronous_commit=on, the engines use the server's setting"
            )
            if s["synchronous_commit"] != "on" or s["fsync"] != "on":
                note += " [WARNING: the engines' commits are not durable on this server]"
            dbs["postgres"] = Database("postgres", pg_url=pg_url, notes=[note])

    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    try:
        for kind, db in dbs.items():
            if kind == "postgres" and db.pg_url is None:
                results[kind] = None
                continue
            db_skipped = dict(skipped)  # a peer failing on one database may still run on the other
            samples = run_database(db, args, engines, db_skipped)
            results[kind] = summarize(samples, engines, db_skipped)
            for engine, reason in db_skipped.items():
                if engine not in skipped:
                    failures[f"{engine} on {kind}"] = reason
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results, dbs, {**skipped, **failures}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
