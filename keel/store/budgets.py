"""Budget ledgers: reserve a call's worst case at every level at once, settle it with what it cost.

A ledger is one row per budget and period (`org:ACME:month:2026-11`, `run:<id>`, ...). A
reservation adds the call's worst case to `reserved_*` of every ledger it falls under, each
with `UPDATE ... WHERE spent + reserved + asked <= limit`, in one transaction: either every
level has room and all are held, or none is. Concurrent calls therefore cannot overspend
together, on SQLite (one writer) or PostgreSQL (the row lock makes the second UPDATE re-check
its WHERE against the first one's result). Settling moves the held amount to `spent_*` with the
real usage, and reports the alert thresholds that spending crossed for the first time.

A hold whose caller never settled (its worker died mid-call) expires and is released by the
next reservation, so a crash cannot lock a budget up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from keel.store import schema as t

# Reservations compare floats summed in different orders; a hair of slack keeps a call that
# fits exactly from being refused by rounding.
_EPSILON = 1e-9
# Expired holds released per reservation: bounded, so one reservation never pays for a backlog.
_RELEASE_BATCH = 20


@dataclass(frozen=True)
class Ledger:
    """A budget a call falls under, with its limits now (None: that dimension is not limited)."""

    key: str
    level: str
    limit_usd: float | None
    limit_tokens: int | None


@dataclass(frozen=True)
class LedgerState:
    """One ledger row as `keel budgets` and refusals report it."""

    key: str
    level: str
    limit_usd: float | None
    limit_tokens: int | None
    spent_usd: float
    spent_tokens: int
    reserved_usd: float
    reserved_tokens: int
    alerts: int
    calls: int
    refusals: int
    updated_at: float

    def used_fraction(self) -> float:
        """The larger of spent/limit over the limited dimensions (0 when nothing is limited)."""
        fractions = [0.0]
        if self.limit_usd:
            fractions.append(self.spent_usd / self.limit_usd)
        if self.limit_tokens:
            fractions.append(self.spent_tokens / self.limit_tokens)
        return max(fractions)


@dataclass(frozen=True)
class Refusal:
    """Why a reservation was refused: the first ledger (in key order) without room."""

    ledger: LedgerState
    asked_usd: float
    asked_tokens: int


@dataclass(frozen=True)
class Crossed:
    """An alert threshold a settlement crossed for the first time in its ledger's period."""

    ledger: LedgerState
    threshold: float


def state_of(row: Any) -> LedgerState:
    return LedgerState(
        key=row.key,
        level=row.level,
        limit_usd=row.limit_usd,
        limit_tokens=row.limit_tokens,
        spent_usd=float(row.spent_usd),
        spent_tokens=int(row.spent_tokens),
        reserved_usd=float(row.reserved_usd),
        reserved_tokens=int(row.reserved_tokens),
        alerts=int(row.alerts),
        calls=int(row.calls),
        refusals=int(row.refusals),
        updated_at=float(row.updated_at),
    )


def _unhold(conn: Connection, keys: Sequence[str], usd: float, tokens: int, now: float) -> None:
    b = t.budgets.c
    for key in sorted(keys):
        conn.execute(
            update(t.budgets)
            .where(b.key == key)
            .values(reserved_usd=b.reserved_usd - usd, reserved_tokens=b.reserved_tokens - tokens, updated_at=now)
        )


def release_expired(conn: Connection, now: float) -> int:
    """Release holds whose callers never settled them; returns how many."""
    h = t.budget_holds.c
    expired = conn.execute(
        select(h.hold_id).where(h.expires_at < now).order_by(h.expires_at).limit(_RELEASE_BATCH)
    ).all()
    released = 0
    for (hold_id,) in expired:
        # DELETE ... RETURNING decides who releases: of two workers that both saw the hold
        # expired, only the one whose DELETE took the row gives the amount back.
        row = conn.execute(
            delete(t.budget_holds).where(h.hold_id == hold_id).returning(h.ledgers, h.usd, h.tokens)
        ).first()
        if row is not None:
            _unhold(conn, json.loads(row.ledgers), float(row.usd), int(row.tokens), now)
            released += 1
    return released


def reserve_op(
    hold_id: str,
    ledgers: Sequence[Ledger],
    *,
    usd: float,
    tokens: int,
    run_id: str | None,
    now: float,
    expires_at: float,
    insert_ignore: Callable[[Any], Any],
) -> Callable[[Connection], Refusal | None]:
    """A write op holding `usd`/`tokens` on every ledger, or none of them (then the Refusal)."""
    # Always the same order, so two reservations over the same ledgers cannot deadlock.
    ordered = sorted(ledgers, key=lambda ledger: ledger.key)

    def op(conn: Connection) -> Refusal | None:
        release_expired(conn, now)
        b = t.budgets.c
        held: list[str] = []
        for ledger in ordered:
            conn.execute(
                insert_ignore(t.budgets)
                .values(key=ledger.key, level=ledger.level, updated_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            stmt = update(t.budgets).where(b.key == ledger.key)
            if ledger.limit_usd is not None:
                stmt = stmt.where(b.spent_usd + b.reserved_usd + usd <= ledger.limit_usd + _EPSILON)
            if ledger.limit_tokens is not None:
                stmt = stmt.where(b.spent_tokens + b.reserved_tokens + tokens <= ledger.limit_tokens)
            taken = conn.execute(
                stmt.values(
                    reserved_usd=b.reserved_usd + usd,
                    reserved_tokens=b.reserved_tokens + tokens,
                    limit_usd=ledger.limit_usd,
                    limit_tokens=ledger.limit_tokens,
                    calls=b.calls + 1,
                    updated_at=now,
                ).returning(b.key)
            ).first()
            if taken is None:
                # No room here: give back what this reservation already took, and say where.
                _unhold(conn, held, usd, tokens, now)
                for key in held:
                    conn.execute(update(t.budgets).where(b.key == key).values(calls=b.calls - 1))
                row = conn.execute(
                    update(t.budgets)
                    .where(b.key == ledger.key)
                    .values(refusals=b.refusals + 1, limit_usd=ledger.limit_usd, limit_tokens=ledger.limit_tokens)
                    .returning(*t.budgets.c)
                ).one()
                return Refusal(state_of(row), usd, tokens)
            held.append(ledger.key)
        if held:
            conn.execute(
                insert(t.budget_holds).values(
                    hold_id=hold_id,
                    ledgers=json.dumps(held),
                    usd=usd,
                    tokens=tokens,
                    run_id=run_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return None

    return op


def settle_op(
    hold_id: str,
    keys: Sequence[str],
    *,
    usd: float,
    tokens: int,
    thresholds: Sequence[float],
    now: float,
) -> Callable[[Connection], list[Crossed]]:
    """A write op charging a call's real usage and releasing its hold; returns new alert crossings."""

    def op(conn: Connection) -> list[Crossed]:
        h = t.budget_holds.c
        hold = conn.execute(
            delete(t.budget_holds).where(h.hold_id == hold_id).returning(h.ledgers, h.usd, h.tokens)
        ).first()
        # A hold that expired and was released already gives nothing back twice; the usage is
        # still charged to the ledgers the caller reserved on.
        held_usd, held_tokens = (float(hold.usd), int(hold.tokens)) if hold is not None else (0.0, 0)
        crossed: list[Crossed] = []
        b = t.budgets.c
        for key in sorted(json.loads(hold.ledgers) if hold is not None else keys):
            row = conn.execute(
                update(t.budgets)
                .where(b.key == key)
                .values(
                    reserved_usd=b.reserved_usd - held_usd,
                    reserved_tokens=b.reserved_tokens - held_tokens,
                    spent_usd=b.spent_usd + usd,
                    spent_tokens=b.spent_tokens + tokens,
                    updated_at=now,
                )
                .returning(*t.budgets.c)
            ).first()
            if row is None:
                continue
            state = state_of(row)
            used = state.used_fraction()
            # Bit i marks threshold i as fired for this ledger: its period is in its key, so a new
            # period starts a new row with no alert fired. The row is locked by the UPDATE above,
            # so two settlements cannot both fire the same threshold.
            new_bits = [i for i, th in enumerate(thresholds) if used >= th and not state.alerts & (1 << i)]
            if new_bits:
                mask = state.alerts
                for i in new_bits:
                    mask |= 1 << i
                conn.execute(update(t.budgets).where(b.key == key).values(alerts=mask))
                crossed.extend(Crossed(state, thresholds[i]) for i in new_bits)
        return crossed

    return op


def ledgers_query(prefix: str | None = None, limit: int = 200) -> Any:
    """The SELECT behind `keel budgets`: most recently used first."""
    stmt = select(t.budgets).order_by(t.budgets.c.updated_at.desc()).limit(limit)
    if prefix:
        stmt = stmt.where(t.budgets.c.key.startswith(prefix, autoescape=True))
    return stmt


__all__ = [
    "Crossed",
    "Ledger",
    "LedgerState",
    "Refusal",
    "ledgers_query",
    "release_expired",
    "reserve_op",
    "settle_op",
    "state_of",
]
