"""The audit append's hot path: DBAPI cursor SQL, PostgreSQL's one-statement append on a guessed head, inline sync commits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from keel.governance import Actor, AuditEvent, AuditLog, CheckpointPolicy, Signer
from keel.governance.audit import _prepare
from keel.store import Store, open_store

SEED = bytes(range(32))


def make_log(store: Store, *, every: int = 7) -> AuditLog:
    return AuditLog(store, signer=Signer.from_seed(SEED), policy=CheckpointPolicy(every=every, seconds=3600))


def event(i: int, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = dict(
        event_type="tool.call",
        actor=Actor("agent", "bot"),
        action="tool:lookup",
        resource=f"orders/{i}",
        risk_score=i % 101,
        data={"i": i, "cost_usd": 0.0125 * (i + 1), "note": "ünïcode ✓ mail a@b.example", "big": 2.0**70},
    )
    fields.update(overrides)
    return AuditEvent(**fields)


@pytest.fixture
def stores(db_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database: two writers, as two processes would be."""
    a = open_store(db_url, migrate=True)
    b = open_store(db_url, migrate=True)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def assert_intact(log: AuditLog, entries: int) -> None:
    report = log.verify(full=True)
    assert report.ok, report.problem
    assert report.entries == entries == log.store.audit_head().seq
    sizes = [cp.size for cp in log.checkpoints()]
    assert sizes == sorted(set(sizes))


def test_two_writers_interleaved_form_one_chain(stores: tuple[Store, Store]) -> None:
    """Each writer's guess of the head goes stale at every turn; appends and forced checkpoints still chain."""
    a, b = (make_log(s) for s in stores)
    written = []
    for i in range(30):
        writer = a if i % 3 else b
        if i % 4 == 0:
            written += writer.append_many_sync([event(i * 10 + k) for k in range(3)])
        else:
            written.append(writer.append_sync(event(i * 10)))
        if i % 5 == 4:
            (b if writer is a else a).checkpoint()
    assert [e.seq for e in written] == list(range(1, len(written) + 1))
    assert_intact(a, len(written))
    # What each append returned is what was stored.
    for entry in written[::7]:
        assert a.entry(entry.event_id) == entry


def test_a_rolled_back_append_leaves_no_trace(stores: tuple[Store, Store]) -> None:
    store = stores[0]
    log = make_log(store)
    log.append_sync(event(1))
    op = store._audit_append_op(log._planner([_prepare(event(2))]), None, 0.0)

    def fails_after(conn: Connection) -> None:
        op(conn)
        raise RuntimeError("the transaction this append shared failed")

    with pytest.raises(RuntimeError):
        store.write(fails_after)
    log.append_sync(event(3))
    assert [e.resource for e in log.entries()] == ["orders/1", "orders/3"]
    assert_intact(log, 2)


def test_a_refused_append_surfaces_as_sqlalchemy_error_and_the_next_one_chains(stores: tuple[Store, Store]) -> None:
    log = make_log(stores[0])
    log.append_sync(event(1, event_id="same"))
    with pytest.raises(IntegrityError):
        log.append_sync(event(2, event_id="same"))
    with pytest.raises(IntegrityError):
        log.append_many_sync([event(3), event(4, event_id="same")])
    log.append_sync(event(5))
    assert_intact(log, 2)


def test_concurrent_async_and_threaded_appends_form_one_chain(stores: tuple[Store, Store]) -> None:
    a, b = (make_log(s, every=25) for s in stores)
    done: list[int] = []

    def threaded(log: AuditLog, base: int) -> None:
        for i in range(15):
            log.append_sync(event(base + i))
            done.append(1)

    async def tasks() -> None:
        async def one(base: int) -> None:
            for i in range(10):
                await a.append(event(base + i))
                done.append(1)

        await asyncio.gather(*(one(1000 * k) for k in range(1, 5)))

    threads = [threading.Thread(target=threaded, args=(log, 100_000 * (n + 1))) for n, log in enumerate((a, b, b))]
    for t in threads:
        t.start()
    asyncio.run(tasks())
    for t in threads:
        t.join()
    assert len(done) == 85
    assert_intact(a, 85)
