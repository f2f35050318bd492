"""Budget ledgers in the store, on SQLite and PostgreSQL: all-or-nothing holds, settlement, alerts, expiry."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest

from keel.store import Store, open_store
from keel.store.budgets import Ledger

THRESHOLDS = (0.5, 0.8, 0.95)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url, migrate=True)
    yield s
    s.close()


def reserve(store: Store, ledgers: list[Ledger], usd: float, tokens: int = 0, *, now: float = 1000.0, ttl: float = 60):
    hold_id = str(uuid.uuid4())
    refusal = asyncio.run(
        store.abudget_reserve(hold_id, ledgers, usd=usd, tokens=tokens, run_id=None, now=now, expires_at=now + ttl)
    )
    return hold_id, refusal


def ledger(store: Store, key: str):
    (state,) = [s for s in store.budget_ledgers() if s.key == key]
    return state


def test_a_hold_is_taken_on_every_ledger_or_on_none(store: Store) -> None:
    org = Ledger("org:acme:month:2026-11", "org_monthly", 1.0, None)
    run = Ledger("run:r1", "run", 0.10, None)
    _, refusal = reserve(store, [org, run], 0.06)
    assert refusal is None
    assert ledger(store, org.key).reserved_usd == pytest.approx(0.06)
    # The run has 0.04 left: this call fits the org but not the run, so neither holds it.
    _, refusal = reserve(store, [org, run], 0.05)
    assert refusal is not None and refusal.ledger.key == run.key and refusal.ledger.level == "run"
    assert refusal.ledger.reserved_usd == pytest.approx(0.06) and refusal.asked_usd == 0.05
    assert ledger(store, org.key).reserved_usd == pytest.approx(0.06)
    assert ledger(store, org.key).calls == 1
    assert ledger(store, run.key).refusals == 1


def test_settling_charges_the_real_usage_and_releases_the_hold(store: Store) -> None:
    org = Ledger("org:acme:month:2026-11", "org_monthly", 1.0, 1000)
    hold_id, _ = reserve(store, [org], 0.30, 300)
    crossed = asyncio.run(store.abudget_settle(hold_id, [org.key], usd=0.12, tokens=120, thresholds=THRESHOLDS, now=1))
    state = ledger(store, org.key)
    assert (state.spent_usd, state.spent_tokens) == (pytest.approx(0.12), 120)
    assert (state.reserved_usd, state.reserved_tokens) == (pytest.approx(0.0), 0)
    assert crossed == []


def test_each_threshold_fires_once_per_ledger(store: Store) -> None:
    org = Ledger("org:acme:month:2026-11", "org_monthly", 1.0, None)
    fired: list[float] = []
    for spend in (0.3, 0.3, 0.1, 0.1, 0.1, 0.1):  # 0.3 0.6 0.7 0.8 0.9 1.0
        hold_id, refusal = reserve(store, [org], 0.0)
        assert refusal is None
        crossed = asyncio.run(
            store.abudget_settle(hold_id, [org.key], usd=spend, tokens=0, thresholds=THRESHOLDS, now=2)
        )
        fired += [c.threshold for c in crossed]
    assert fired == [0.5, 0.8, 0.95]
    # A new period is a new ledger: its alerts start again.
    june = Ledger("org:acme:month:2026-12", "org_monthly", 1.0, None)
    hold_id, _ = reserve(store, [june], 0.0)
    crossed = asyncio.run(store.abudget_settle(hold_id, [june.key], usd=0.9, tokens=0, thresholds=THRESHOLDS, now=3))
    assert [c.threshold for c in crossed] == [0.5, 0.8]


def test_tokens_are_limited_like_dollars(store: Store) -> None:
    run = Ledger("run:r2", "run", None, 100)
    _, refusal = reserve(store, [run], 0.0, 80)
    assert refusal is None
    _, refusal = reserve(store, [run], 0.0, 30)
    assert refusal is not None and refusal.asked_tokens == 30 and refusal.ledger.reserved_tokens == 80


def test_an_abandoned_hold_is_released_once_it_expires(store: Store) -> None:
    run = Ledger("run:r3", "run", 0.10, None)
    abandoned, refusal = reserve(store, [run], 0.08, now=1000, ttl=60)
    assert refusal is None
    _, refusal = reserve(store, [run], 0.05, now=1030)
    assert refusal is not None  # still held
    fresh, refusal = reserve(store, [run], 0.05, now=1061)  # the first hold expired at 1060
    assert refusal is None
    assert ledger(store, run.key).reserved_usd == pytest.approx(0.05)
    # The abandoned call settles late: its usage counts, but its hold is not given back twice.
    asyncio.run(store.abudget_settle(abandoned, [run.key], usd=0.01, tokens=0, thresholds=THRESHOLDS, now=1070))
    state = ledger(store, run.key)
    assert state.reserved_usd == pytest.approx(0.05) and state.spent_usd == pytest.approx(0.01)


def test_concurrent_reservations_from_separate_stores_never_overspend(db_url: str) -> None:
    """Two stores (as two worker processes would) race 40 holds of $0.03 at a $0.50 limit."""
    stores = [open_store(db_url, migrate=True) for _ in range(2)]
    org = Ledger("org:race:month:2026-11", "org_monthly", 0.50, None)
    granted: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(s: Store) -> None:
        barrier.wait()
        for _ in range(5):
            hold_id, refusal = reserve(s, [org], 0.03)
            if refusal is None:
                with lock:
                    granted.append(hold_id)

    try:
        threads = [threading.Thread(target=worker, args=(stores[i % 2],)) for i in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(granted) == 16  # floor(0.50 / 0.03)
        state = ledger(stores[0], org.key)
        assert state.reserved_usd == pytest.approx(0.48) and state.refusals == 40 - 16
    finally:
        for s in stores:
            s.close()
