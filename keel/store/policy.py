"""The SQL of Cedar policy versions: proposals, the two-person activation, and the one active version.

`keel_policy_versions` holds one row per policy-set version (its hash), with who proposed, approved
or rejected it. `keel_policy_head` is one row (id 1, created by migration 0012) naming the active
version: every worker reads it to learn that the policies changed, and every state change locks it
first (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers),
so two approvals at the same moment take turns and exactly one version is active after both. What
the rules mean (who may approve, what is audited) lives in keel.governance.policy; this module only
keeps the rows consistent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from keel.errors import InvalidStateError, UsageError
from keel.store import schema as t

HEAD_ID = 1
PROPOSED, ACTIVE, SUPERSEDED, REJECTED = "proposed", "active", "superseded", "rejected"
# Read by every worker that asks whether the policies changed: plain SQL on the driver's cursor, the
# same text on both databases.
_ACTIVE_SQL = "SELECT active_version FROM keel_policy_head WHERE id = 1"


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One policy-set version as stored; `files` is the JSON object of file name -> Cedar text."""

    version: str
    files: str
    status: str
    proposed_by: str
    proposed_at: float
    approved_by: str | None
    approved_at: float | None
    rejected_by: str | None
    rejected_at: float | None
    superseded_at: float | None


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a proposal did: the row after it, and whether it changed anything."""

    row: VersionRow
    changed: bool  # False: that version was already awaiting approval


@dataclass(frozen=True, slots=True)
class Activation:
    """What an approval did: the version now active, and the one it superseded (if any)."""

    row: VersionRow
    superseded: str | None


def _row(r: Any) -> VersionRow:
    return VersionRow(
        version=r.version,
        files=r.files,
        status=r.status,
        proposed_by=r.proposed_by,
        proposed_at=float(r.proposed_at),
        approved_by=r.approved_by,
        approved_at=r.approved_at,
        rejected_by=r.rejected_by,
        rejected_at=r.rejected_at,
        superseded_at=r.superseded_at,
    )


def same_person(a: str, b: str) -> bool:
    """Whether two names are one person (`Alice` and `alice ` are)."""
    return a.strip().casefold() == b.strip().casefold()


def active_version_op() -> Callable[[Connection], str | None]:
    """The active version's hash, or None: one primary-key read."""

    def op(conn: Connection) -> str | None:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(_ACTIVE_SQL)
            row = cur.fetchone()
        finally:
            cur.close()
        return None if row is None or row[0] is None else str(row[0])

    return op


def get_op(version: str) -> Callable[[Connection], VersionRow | None]:
    v = t.policy_versions

    def op(conn: Connection) -> VersionRow | None:
        r = conn.execute(select(v).where(v.c.version == version)).first()
        return None if r is None else _row(r)

    return op


def history_op(limit: int) -> Callable[[Connection], list[VersionRow]]:
    v = t.policy_versions

    def op(conn: Connection) -> list[VersionRow]:
        rows = conn.execute(select(v).order_by(v.c.proposed_at.desc(), v.c.version).limit(limit)).all()
        return [_row(r) for r in rows]

    return op


def _lock_head(conn: Connection, insert_ignore: Callable[[Any], Any], now: float) -> str | None:
    h = t.policy_head
    row = conn.execute(select(h.c.active_version).where(h.c.id == HEAD_ID).with_for_update()).first()
    if row is not None:
        return row.active_version  # type: ignore[no-any-return]
    # A database built some other way than by the migration: create the row, then lock it.
    conn.execute(insert_ignore(h).values(id=HEAD_ID, updated_at=now).on_conflict_do_nothing(index_elements=["id"]))
    row = conn.execute(select(h.c.active_version).where(h.c.id == HEAD_ID).with_for_update()).first()
    return None if row is None else row.active_version


def _locked_version(conn: Connection, version: str) -> VersionRow:
    v = t.policy_versions
    r = conn.execute(select(v).where(v.c.version == version).with_for_update()).first()
    if r is None:
        raise UsageError(f"no policy version {version} (see `keel policy history`)", version=version)
    return _row(r)


def propose_op(
    version: str, files: str, operator: str, *, now: float, insert_ignore: Callable[[Any], Any]
) -> Callable[[Connection], Proposal]:
    """Record `version` as awaiting approval. A version rejected or superseded before is proposed
    again (a rollback needs two people too); one already awaiting approval is left as it is."""

    def op(conn: Connection) -> Proposal:
        active = _lock_head(conn, insert_ignore, now)
        v = t.policy_versions
        existing = conn.execute(select(v).where(v.c.version == version)).first()
        if existing is None:
            conn.execute(
                v.insert().values(version=version, files=files, status=PROPOSED, proposed_by=operator, proposed_at=now)
            )
        elif existing.status == PROPOSED:
            return Proposal(_row(existing), changed=False)
        elif existing.status == ACTIVE or version == active:
            raise InvalidStateError(f"policy version {version} is already active", version=version)
        else:
            conn.execute(
                update(v)
                .where(v.c.version == version)
                .values(
                    status=PROPOSED,
                    proposed_by=operator,
                    proposed_at=now,
                    approved_by=None,
                    approved_at=None,
                    rejected_by=None,
                    rejected_at=None,
                    superseded_at=None,
                )
            )
        row = get_op(version)(conn)
        assert row is not None
        return Proposal(row, changed=True)

    return op


def approve_op(
    version: str, operator: str, *, now: float, insert_ignore: Callable[[Any], Any]
) -> Callable[[Connection], Activation]:
    """Activate a proposed version approved by someone other than its proposer; the version active
    before is superseded in the same transaction."""

    def op(conn: Connection) -> Activation:
        before = _lock_head(conn, insert_ignore, now)
        row = _locked_version(conn, version)
        if row.status != PROPOSED:
            raise InvalidStateError(
                f"policy version {version} is {row.status}, not awaiting approval", version=version, status=row.status
            )
        if same_person(row.proposed_by, operator):
            raise UsageError(
                f"{operator} proposed policy version {version}: a second, different person must approve it "
                "(two-person rule)",
                version=version,
                operator=operator,
            )
        v = t.policy_versions
        superseded = None
        if before is not None and before != version:
            conn.execute(update(v).where(v.c.version == before).values(status=SUPERSEDED, superseded_at=now))
            superseded = before
        conn.execute(
            update(v).where(v.c.version == version).values(status=ACTIVE, approved_by=operator, approved_at=now)
        )
        h = t.policy_head
        conn.execute(
            update(h).where(h.c.id == HEAD_ID).values(active_version=version, activated_at=now, updated_at=now)
        )
        after = get_op(version)(conn)
        assert after is not None
        return Activation(after, superseded)

    return op


def reject_op(
    version: str, operator: str, *, now: float, insert_ignore: Callable[[Any], Any]
) -> Callable[[Connection], VersionRow]:
    """Reject a proposed version (its proposer may withdraw it too); it can be proposed again later."""

    def op(conn: Connection) -> VersionRow:
        _lock_head(conn, insert_ignore, now)
        row = _locked_version(conn, version)
        if row.status != PROPOSED:
            raise InvalidStateError(
                f"policy version {version} is {row.status}, not awaiting approval", version=version, status=row.status
            )
        v = t.policy_versions
        conn.execute(
            update(v).where(v.c.version == version).values(status=REJECTED, rejected_by=operator, rejected_at=now)
        )
        after = get_op(version)(conn)
        assert after is not None
        return after

    return op
