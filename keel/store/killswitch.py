"""The kill switch's SQL: one row (`keel_kill_switch`, id 1) that every process reads.

The row is created by migration 0010, so engaging never races to create it (an upsert covers a
database built some other way). Changes lock it (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), so two approvers releasing at the same moment take
turns: the first records a pending release, the second releases, and the same person twice is
refused whichever order the transactions commit in. The policy (who may release, what is audited)
lives in keel.governance.killswitch; this module only keeps the state consistent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from keel.errors import InvalidStateError
from keel.store import schema as t

ROW_ID = 1
# Polled by every worker and read before every run starts: plain SQL on the driver's cursor, which
# is the same text on both databases and skips Core's statement building.
_ENGAGED_SQL = "SELECT engaged, reason FROM keel_kill_switch WHERE id = 1"


@dataclass(frozen=True, slots=True)
class State:
    """The kill switch as stored: engaged or not, why and by whom, and any release in progress."""

    engaged: bool
    incident: int  # how many times it has been engaged from released (0: never)
    reason: str | None
    engaged_by: str | None
    engaged_at: float | None
    pending_by: str | None  # the first approver of a release, while a second is awaited
    pending_at: float | None
    released_by: tuple[str, ...]  # the two approvers of the last release
    released_at: float | None
    updated_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "engaged": self.engaged,
            "incident": self.incident,
            "reason": self.reason,
            "engaged_by": self.engaged_by,
            "engaged_at": self.engaged_at,
            "pending_release_by": self.pending_by,
            "pending_release_at": self.pending_at,
            "released_by": list(self.released_by),
            "released_at": self.released_at,
            "updated_at": self.updated_at,
        }


NEVER = State(False, 0, None, None, None, None, None, (), None, 0.0)


@dataclass(frozen=True, slots=True)
class Change:
    """What one engage or release approval did: the state before and after it."""

    before: State
    after: State


def _state(row: Any) -> State:
    if row is None:
        return NEVER
    return State(
        engaged=bool(row.engaged),
        incident=int(row.incident),
        reason=row.reason,
        engaged_by=row.engaged_by,
        engaged_at=row.engaged_at,
        pending_by=row.pending_by,
        pending_at=row.pending_at,
        released_by=tuple(json.loads(row.released_by)) if row.released_by else (),
        released_at=row.released_at,
        updated_at=float(row.updated_at),
    )


def engaged_op() -> Callable[[Connection], str | None]:
    """Why the switch is engaged; None when it is not."""

    def op(conn: Connection) -> str | None:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(_ENGAGED_SQL)
            row = cur.fetchone()
        finally:
            cur.close()
        if row is None or not row[0]:
            return None
        return str(row[1] or "no reason given")

    return op


def state_op() -> Callable[[Connection], State]:
    k = t.kill_switch
    return lambda conn: _state(conn.execute(select(k).where(k.c.id == ROW_ID)).first())


def _locked(conn: Connection, insert_ignore: Callable[[Any], Any], now: float) -> State:
    k = t.kill_switch
    row = conn.execute(select(k).where(k.c.id == ROW_ID).with_for_update()).first()
    if row is not None:
        return _state(row)
    conn.execute(
        insert_ignore(k)
        .values(id=ROW_ID, engaged=False, incident=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return _state(conn.execute(select(k).where(k.c.id == ROW_ID).with_for_update()).first())


def engage_op(
    reason: str, operator: str, *, now: float, insert_ignore: Callable[[Any], Any]
) -> Callable[[Connection], Change]:
    """Engage the switch. Engaged already: the first reason and time stay, and a release in
    progress is voided (a new alarm needs two new approvals)."""

    def op(conn: Connection) -> Change:
        before = _locked(conn, insert_ignore, now)
        values: dict[str, Any] = {"pending_by": None, "pending_at": None, "updated_at": now}
        if not before.engaged:
            values.update(
                engaged=True, incident=before.incident + 1, reason=reason, engaged_by=operator, engaged_at=now
            )
        conn.execute(update(t.kill_switch).where(t.kill_switch.c.id == ROW_ID).values(**values))
        return Change(before, state_op()(conn))

    return op


def approve_release_op(
    operator: str, *, now: float, insert_ignore: Callable[[Any], Any]
) -> Callable[[Connection], Change]:
    """One approval of a release: the first is recorded; a second, by someone else, releases."""

    def op(conn: Connection) -> Change:
        before = _locked(conn, insert_ignore, now)
        if not before.engaged:
            raise InvalidStateError("the kill switch is not engaged: there is nothing to release")
        k = t.kill_switch
        if before.pending_by is None:
            values: dict[str, Any] = {"pending_by": operator, "pending_at": now, "updated_at": now}
        elif same_person(before.pending_by, operator):
            raise InvalidStateError(
                f"{operator} already approved this release: a second, different approver must release "
                "the kill switch (two-person rule)",
                operator=operator,
            )
        else:
            values = {
                "engaged": False,
                "pending_by": None,
                "pending_at": None,
                "released_by": json.dumps([before.pending_by, operator]),
                "released_at": now,
                "updated_at": now,
            }
        conn.execute(update(k).where(k.c.id == ROW_ID).values(**values))
        return Change(before, state_op()(conn))

    return op


def same_person(a: str, b: str) -> bool:
    """Whether two approver names are one person (`Alice` and `alice ` are)."""
    return a.strip().casefold() == b.strip().casefold()
