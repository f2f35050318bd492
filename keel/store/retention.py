"""Retention's SQL: purging finished runs with everything under them, and the audit log below its horizon.

Runs. Everything Keel stores about a run hangs off its id (see keel.store.gdpr): the journal
(`keel_steps`, with `keel_blobs` for large results), signals, transitions, spans, the guard vault's
values, the run's own budget ledger, and the gateway's cached answers, tied to the run through the
request hashes its `llm:` journal entries record. A purge takes finished runs (succeeded, failed,
cancelled) last updated before a cutoff, a batch at a time, each batch one short transaction.
`journal` mode keeps the run row and its status history and removes the rest.

The audit log. Its entries may be deleted only at or below the one-row horizon
(`keel_audit_horizon`), which only moves forward: both rules are triggers (migration 0014), so a
DELETE above it is refused whoever connects. Moving the horizon copies each entry's hash and
signature into `keel_audit_pruned` first, in the same transaction, which is what keeps the chain's
link, the checkpoints' roots and the proofs of the remaining entries checkable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, tuple_, update

from keel.errors import StoreError
from keel.store import schema as t
from keel.store.gdpr import _request_hash
from keel.types import TERMINAL

_CHUNK = 200
RUN_TABLES = (
    "runs",
    "runs_journal",  # runs whose journal alone went (journal retention); the row stays
    "steps",
    "blobs",
    "signals",
    "transitions",
    "spans",
    "guard_vault",
    "budgets",
    "reviews",
    "cache_exact",
    "cache_semantic",
)


@dataclass(frozen=True, slots=True)
class RunScope:
    """Which runs one policy covers: one org, or (org None) every run of no org or of an org in none of `others`."""

    org: str | None
    others: tuple[str, ...] = ()

    def clause(self) -> Any:
        r = t.runs.c
        if self.org is not None:
            return r.org_id == self.org
        if not self.others:
            return True
        return or_(r.org_id.is_(None), r.org_id.not_in(self.others))


@dataclass(slots=True)
class RunCounts:
    """Rows removed (or, in a dry run, that would be) per table."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RUN_TABLES, 0))
    last: tuple[float, str] | None = None  # where a dry run's next batch starts

    def add(self, other: RunCounts) -> None:
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _candidates(
    conn: Connection, scope: RunScope, cutoff: float, limit: int, *, journal: bool, after: tuple[float, str] | None
) -> list[tuple[str, str, float]]:
    r = t.runs.c
    where = [r.status.in_([s.value for s in TERMINAL]), r.updated_at < cutoff, scope.clause()]
    if journal:
        # Runs whose journal is already gone are not picked again.
        where.append(
            or_(
                exists().where(t.steps.c.run_id == r.run_id),
                exists().where(t.signals.c.run_id == r.run_id),
                exists().where(t.spans.c.run_id == r.run_id),
            )
        )
    if after is not None:
        where.append(tuple_(r.updated_at, r.run_id) > tuple_(*after))
    stmt = select(r.run_id, r.org_id, r.updated_at).where(*where).order_by(r.updated_at, r.run_id).limit(limit)
    return [(str(a), str(b or ""), float(c)) for a, b, c in conn.execute(stmt)]


def _count(conn: Connection, table: Any, clause: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(clause)).scalar_one())


def _apply(conn: Connection, table: Any, clause: Any, dry_run: bool) -> int:
    if dry_run:
        return _count(conn, table, clause)
    return int(conn.execute(delete(table).where(clause)).rowcount or 0)


def _purge_batch(
    conn: Connection, runs: Sequence[tuple[str, str, float]], *, journal: bool, dry_run: bool
) -> RunCounts:
    out = RunCounts()
    c = out.counts
    run_ids = [run_id for run_id, _, _ in runs]
    org_of = {run_id: org for run_id, org, _ in runs}
    cache_keys: set[tuple[str, str]] = set()
    refs: set[str] = set()
    for chunk in _chunks(run_ids):
        st = t.steps.c
        steps = [dict(row._mapping) for row in conn.execute(select(t.steps).where(st.run_id.in_(chunk)))]
        chunk_refs = sorted({str(s["result_ref"]) for s in steps if s["result_ref"]})
        refs.update(chunk_refs)
        blobs: dict[str, bytes] = {}
        if chunk_refs:
            b = t.blobs.c
            blobs = {
                str(k): bytes(v) for k, v in conn.execute(select(b.blob_id, b.data).where(b.blob_id.in_(chunk_refs)))
            }
        for s in steps:
            hashed = _request_hash(s, blobs)
            if hashed is not None:
                cache_keys.add((org_of[str(s["run_id"])], hashed))
        c["steps"] += _apply(conn, t.steps, st.run_id.in_(chunk), dry_run)
        c["signals"] += _apply(conn, t.signals, t.signals.c.run_id.in_(chunk), dry_run)
        c["spans"] += _apply(conn, t.spans, t.spans.c.run_id.in_(chunk), dry_run)
        c["guard_vault"] += _apply(conn, t.guard_vault, t.guard_vault.c.run_id.in_(chunk), dry_run)
        c["budgets"] += _apply(conn, t.budgets, t.budgets.c.key.in_([f"run:{r}" for r in chunk]), dry_run)
        if not journal:
            c["transitions"] += _apply(conn, t.transitions, t.transitions.c.run_id.in_(chunk), dry_run)
            # A finished run's review requests are decided; the audit log keeps the decisions.
            c["reviews"] += _apply(conn, t.reviews, t.reviews.c.run_id.in_(chunk), dry_run)
            c["runs"] += _apply(conn, t.runs, t.runs.c.run_id.in_(chunk), dry_run)
    # Blobs are content-addressed: one that a step of another run also references stays.
    ordered = sorted(refs)
    for chunk in _chunks(ordered):
        b, st = t.blobs.c, t.steps.c
        if dry_run:
            others = exists().where(st.result_ref == b.blob_id, st.run_id.not_in(run_ids))
        else:
            others = exists().where(st.result_ref == b.blob_id)
        c["blobs"] += _apply(conn, t.blobs, and_(b.blob_id.in_(chunk), ~others), dry_run)
    keys = sorted(cache_keys)
    for chunk in _chunks(keys):
        lc, sc = t.llm_cache.c, t.llm_semcache.c
        c["cache_exact"] += _apply(conn, t.llm_cache, tuple_(lc.org_key, lc.request_hash).in_(chunk), dry_run)
        c["cache_semantic"] += _apply(
            conn, t.llm_semcache, or_(*(and_(sc.org_key == org, sc.request_hash == h) for org, h in chunk)), dry_run
        )
    if journal:
        c["runs_journal"] += len(run_ids)
    return out


def purge_runs_op(
    scope: RunScope, cutoff: float, limit: int, *, journal: bool
) -> Callable[[Connection], tuple[int, RunCounts]]:
    """A write op: purge up to `limit` finished runs of `scope` last updated before `cutoff`; (runs, counts)."""

    def op(conn: Connection) -> tuple[int, RunCounts]:
        runs = _candidates(conn, scope, cutoff, limit, journal=journal, after=None)
        if not runs:
            return 0, RunCounts()
        return len(runs), _purge_batch(conn, runs, journal=journal, dry_run=False)

    return op


def count_runs_op(
    scope: RunScope, cutoff: float, limit: int, *, journal: bool, after: tuple[float, str] | None
) -> Callable[[Connection], tuple[int, RunCounts]]:
    """A read op: what `purge_runs_op` would remove from the next batch after `after` (a dry run)."""

    def op(conn: Connection) -> tuple[int, RunCounts]:
        runs = _candidates(conn, scope, cutoff, limit, journal=journal, after=after)
        if not runs:
            return 0, RunCounts()
        counts = _purge_batch(conn, runs, journal=journal, dry_run=True)
        counts.last = (runs[-1][2], runs[-1][0])
        return len(runs), counts

    return op


# -- the audit log ---------------------------------------------------------------------------------


def horizon_op() -> Callable[[Connection], int]:
    """A read op: the audit log's retention horizon (entries 1..horizon are purged; 0: none)."""
    stmt = select(t.audit_horizon.c.seq).where(t.audit_horizon.c.id == 1)
    return lambda conn: int(conn.execute(stmt).scalar_one_or_none() or 0)


def pruned_leaves_op(first_seq: int, last_seq: int) -> Callable[[Connection], list[tuple[int, str, str]]]:
    """A read op: (seq, hash, signature) of purged entries first_seq..last_seq, in order."""
    p = t.audit_pruned.c
    stmt = select(p.seq, p.hash, p.signature).where(p.seq >= first_seq, p.seq <= last_seq).order_by(p.seq)
    return lambda conn: [(int(s), str(h), str(sig)) for s, h, sig in conn.execute(stmt).all()]


def record_export_op(
    first_seq: int, last_seq: int, sink: str, *, now: float, insert_ignore: Callable[[Any], Any]
) -> Callable[[Connection], None]:
    """A write op: record that the segment first_seq..last_seq is in `sink` (once; later records are no-ops)."""

    def op(conn: Connection) -> None:
        conn.execute(
            insert_ignore(t.audit_exports)
            .values(first_seq=first_seq, last_seq=last_seq, sink=sink[:500], exported_at=now)
            .on_conflict_do_nothing(index_elements=["first_seq", "last_seq", "sink"])
        )

    return op


def exports_op() -> Callable[[Connection], dict[tuple[int, int], list[str]]]:
    """A read op: (first_seq, last_seq) -> the sinks the segment was exported to."""
    x = t.audit_exports.c
    stmt = select(x.first_seq, x.last_seq, x.sink).order_by(x.first_seq, x.sink)

    def op(conn: Connection) -> dict[tuple[int, int], list[str]]:
        out: dict[tuple[int, int], list[str]] = {}
        for first, last, sink in conn.execute(stmt):
            out.setdefault((int(first), int(last)), []).append(str(sink))
        return out

    return op


def prune_audit_op(upto: int, *, now: float) -> Callable[[Connection], int]:
    """A write op: move the horizon to `upto`, keeping each entry's hash and signature; entries removed.

    The caller decides `upto` (a checkpoint size, of exported, old enough segments); this only keeps
    the horizon monotonic and the pruned hashes complete, with the horizon row locked throughout.
    """

    def op(conn: Connection) -> int:
        h = t.audit_horizon.c
        current = conn.execute(select(h.seq).where(h.id == 1).with_for_update()).scalar_one_or_none()
        if current is None:
            raise StoreError("the audit horizon row is missing: the database was not migrated by Keel")
        current = int(current)
        if upto <= current:
            return 0
        e = t.audit_entries.c
        in_range = and_(e.seq > current, e.seq <= upto)
        present = _count(conn, t.audit_entries, in_range)
        if present != upto - current:
            raise StoreError(
                f"audit entries {current + 1}..{upto} are not all present ({present} found): run `keel audit verify`"
            )
        conn.execute(
            insert(t.audit_pruned).from_select(
                ["seq", "hash", "signature"], select(e.seq, e.hash, e.signature).where(in_range).order_by(e.seq)
            )
        )
        conn.execute(update(t.audit_horizon).where(h.id == 1).values(seq=upto, updated_at=now))
        removed = int(conn.execute(delete(t.audit_entries).where(in_range)).rowcount or 0)
        return removed

    return op


def entry_timestamp_op(seq: int) -> Callable[[Connection], str | None]:
    """A read op: the timestamp of entry `seq` (None when it is not there)."""
    e = t.audit_entries.c
    stmt = select(e.timestamp).where(e.seq == seq)
    return lambda conn: conn.execute(stmt).scalar_one_or_none()


__all__ = [
    "RUN_TABLES",
    "RunCounts",
    "RunScope",
    "count_runs_op",
    "entry_timestamp_op",
    "exports_op",
    "horizon_op",
    "prune_audit_op",
    "pruned_leaves_op",
    "purge_runs_op",
    "record_export_op",
]
