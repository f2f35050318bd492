"""A data subject's rows (GDPR access and erasure): the SQL, with no cryptography and no policy.

A subject is the `user_id` of their runs. Everything Keel stores about a run hangs off its id: the
journal (`keel_steps`, with `keel_blobs` for large results), signals, transitions and spans. The
gateway's caches are keyed by org and request hash only, so a cached answer is tied to a run
through the `request_hash` its `llm:` journal entry records.

Erasure overwrites values with a tombstone instead of deleting rows: the run, its journal positions,
statuses and times stay, so counts, budgets, `keel runs list` and the audit log that names these
runs keep making sense. It is one write transaction, and it refuses (changing nothing) while any of
the subject's runs is not terminal: a live run would replay its journal and find tombstones where
its results were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, or_, select, tuple_, update

from keel.errors import InvalidStateError
from keel.store import schema as t
from keel.types import TERMINAL

ERASED = "gdpr"
ERASED_TEXT = "[erased: gdpr]"
# Span attributes kept through erasure: identifiers and measurements, never content.
_KEPT_SPAN_ATTRIBUTES = frozenset(
    {
        "run.id",
        "workflow.name",
        "workflow.version",
        "org.id",
        "user.id",
        "step.seq",
        "step.kind",
        "step.attempt",
        "step.retries",
        "gen_ai.system",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
    }
)
# IN lists stay well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 200
_TOMBSTONE_PREFIX = '{"erased":"gdpr"'
_HASH_HEX = 64


@dataclass(frozen=True, slots=True)
class SubjectRows:
    """Everything stored under a subject's runs, as rows (mappings of column -> value)."""

    runs: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    blobs: dict[str, bytes]
    signals: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    audit: list[dict[str, Any]]


@dataclass(slots=True)
class ErasureCounts:
    """What one erasure overwrote or deleted (rows already erased before are not counted again)."""

    runs: int = 0
    steps: int = 0
    blobs_deleted: int = 0
    blobs_shared: int = 0
    signals: int = 0
    transitions: int = 0
    spans: int = 0
    cache_exact: int = 0
    cache_semantic: int = 0
    # (org_key, request_hash) of every model call of the subject's runs: for caches outside the database.
    cache_keys: list[tuple[str, str]] = field(default_factory=list)


def tombstone(at: str) -> str:
    """The JSON text that replaces an erased value."""
    return json.dumps({"erased": ERASED, "at": at}, separators=(",", ":"))


def is_tombstone(text: str | None) -> bool:
    if text is None or '"erased"' not in text:
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("erased") == ERASED


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _rows(conn: Connection, stmt: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(stmt)]


def _subject_runs(conn: Connection, subject: str, *, lock: bool = False) -> list[dict[str, Any]]:
    stmt = select(t.runs).where(t.runs.c.user_id == subject).order_by(t.runs.c.created_at, t.runs.c.run_id)
    return _rows(conn, stmt.with_for_update() if lock else stmt)


def _by_runs(conn: Connection, table: Any, run_ids: Sequence[str], *order: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in _chunks(run_ids):
        found.extend(_rows(conn, select(table).where(table.c.run_id.in_(chunk)).order_by(*order)))
    return found


def live_runs_op(subject: str) -> Callable[[Connection], list[tuple[str, str]]]:
    """A read op: (run_id, status) of the subject's runs that are not terminal."""
    terminal = [s.value for s in TERMINAL]
    r = t.runs.c
    stmt = (
        select(r.run_id, r.status)
        .where(r.user_id == subject, r.status.not_in(terminal))
        .order_by(r.created_at, r.run_id)
    )
    return lambda conn: [(str(a), str(b)) for a, b in conn.execute(stmt)]


def _audit_rows(conn: Connection, subject: str, runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries whose actor is the subject, whose resource names them, or that name one of their runs."""
    e = t.audit_entries.c
    found: dict[int, dict[str, Any]] = {}
    about_subject = or_(e.actor_id == subject, e.resource.in_([subject, f"subject:{subject}"]))
    for row in _rows(conn, select(t.audit_entries).where(about_subject)):
        found[int(row["seq"])] = row
    run_ids = [str(r["run_id"]) for r in runs]
    trace_ids = sorted({str(r["trace_id"]) for r in runs if r["trace_id"]})
    for chunk in _chunks(trace_ids):
        for row in _rows(conn, select(t.audit_entries).where(e.trace_id.in_(chunk))):
            found[int(row["seq"])] = row
    # A run id is a UUID: as a substring of a resource or of the data's JSON it names that run.
    for chunk in _chunks(run_ids):
        named = or_(*(or_(e.resource.contains(run_id), e.data.contains(run_id)) for run_id in chunk))
        for row in _rows(conn, select(t.audit_entries).where(named)):
            found[int(row["seq"])] = row
    return [found[seq] for seq in sorted(found)]


def collect_op(subject: str) -> Callable[[Connection], SubjectRows]:
    """A read op: the subject's runs and everything stored under them (audit entries included)."""

    def op(conn: Connection) -> SubjectRows:
        runs = _subject_runs(conn, subject)
        run_ids = [str(r["run_id"]) for r in runs]
        steps = _by_runs(conn, t.steps, run_ids, t.steps.c.run_id, t.steps.c.seq)
        refs = sorted({str(s["result_ref"]) for s in steps if s["result_ref"]})
        blobs: dict[str, bytes] = {}
        for chunk in _chunks(refs):
            stmt = select(t.blobs.c.blob_id, t.blobs.c.data).where(t.blobs.c.blob_id.in_(chunk))
            blobs.update((str(b), bytes(d)) for b, d in conn.execute(stmt))
        return SubjectRows(
            runs=runs,
            steps=steps,
            blobs=blobs,
            signals=_by_runs(conn, t.signals, run_ids, t.signals.c.id),
            transitions=_by_runs(conn, t.transitions, run_ids, t.transitions.c.id),
            spans=_by_runs(conn, t.spans, run_ids, t.spans.c.start_ns, t.spans.c.span_id),
            audit=_audit_rows(conn, subject, runs),
        )

    return op


# -- erasure ------------------------------------------------------------------------------------


def _erased_error(text: str | None, at: str) -> str | None:
    """An error's tombstone: its exception type stays (not personal; spans and `explain` show it)."""
    if text is None or is_tombstone(text):
        return text
    try:
        old = json.loads(text)
    except ValueError:
        old = None
    kept = old.get("type") if isinstance(old, dict) and isinstance(old.get("type"), str) else None
    return json.dumps({"type": kept, "message": ERASED_TEXT, "erased": ERASED, "at": at}, separators=(",", ":"))


def _erased_value(text: str | None, at: str) -> str | None:
    return text if text is None or is_tombstone(text) else tombstone(at)


def _erased_events(text: str | None) -> str | None:
    """Span events keep their names and times; their attributes (messages, stack traces) go."""
    if text is None:
        return None
    try:
        events = json.loads(text)
    except ValueError:
        return json.dumps([])
    if not isinstance(events, list):
        return json.dumps([])
    kept = [
        {"name": ev.get("name"), "time_ns": ev.get("time_ns"), "attributes": {"erased": ERASED}}
        for ev in events
        if isinstance(ev, dict)
    ]
    return json.dumps(kept, separators=(",", ":"))


def _erased_attributes(text: str, at: str) -> str:
    try:
        attrs = json.loads(text)
    except ValueError:
        attrs = {}
    if not isinstance(attrs, dict):
        attrs = {}
    if attrs.get("erased") == ERASED:
        return text
    kept: dict[str, Any] = {
        k: v
        for k, v in attrs.items()
        if k in _KEPT_SPAN_ATTRIBUTES or (isinstance(v, (int, float)) and not isinstance(v, bool))
    }
    kept.update({"erased": ERASED, "erased.at": at})
    return json.dumps(kept, separators=(",", ":"))


def _request_hash(step: dict[str, Any], blobs: dict[str, bytes]) -> str | None:
    """The request hash a model call's journal entry records (LlmResult.request_hash), if any."""
    if not str(step["name"]).startswith("llm:"):
        return None
    text: str | bytes | None = step["result"]
    if text is None and step["result_ref"]:
        text = blobs.get(str(step["result_ref"]))
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("value"), dict) and "request_hash" not in value:
        value = value["value"]
    found = value.get("request_hash") if isinstance(value, dict) else None
    return found if isinstance(found, str) and len(found) == _HASH_HEX else None


def erase_op(subject: str, *, at: str) -> Callable[[Connection], ErasureCounts]:
    """A write op: overwrite every value stored under the subject's runs with a tombstone (see the module doc).

    Raises InvalidStateError, changing nothing, when one of the subject's runs is not terminal.
    """

    def op(conn: Connection) -> ErasureCounts:
        runs = _subject_runs(conn, subject, lock=True)
        live = [r for r in runs if r["status"] not in {s.value for s in TERMINAL}]
        if live:
            listed = ", ".join(f"{r['run_id']} ({r['status']})" for r in live)
            raise InvalidStateError(
                f"subject {subject!r} has {len(live)} run(s) in flight: {listed}; "
                "wait for them to end or cancel them first (--cancel-running)",
                run_ids=[r["run_id"] for r in live],
            )
        counts = ErasureCounts()
        if not runs:
            return counts
        run_ids = [str(r["run_id"]) for r in runs]
        org_of = {str(r["run_id"]): str(r["org_id"] or "") for r in runs}

        # Runs: the values a caller or the workflow gave; ids, statuses, times and flags stay.
        r = t.runs.c
        changed = [
            {
                "b_id": run["run_id"],
                "b_input": _erased_value(run["input"], at),
                "b_result": _erased_value(run["result"], at),
                "b_error": _erased_error(run["error"], at),
            }
            for run in runs
            if not is_tombstone(run["input"])
            or (run["result"] is not None and not is_tombstone(run["result"]))
            or (run["error"] is not None and not is_tombstone(run["error"]))
        ]
        if changed:
            conn.execute(
                update(t.runs)
                .where(r.run_id == bindparam("b_id"))
                .values(input=bindparam("b_input"), result=bindparam("b_result"), error=bindparam("b_error")),
                changed,
            )
        counts.runs = len(changed)

        # The journal: results (inline or blob), arguments, errors and failed attempts' details.
        steps = _by_runs(conn, t.steps, run_ids, t.steps.c.run_id, t.steps.c.seq)
        refs = sorted({str(s["result_ref"]) for s in steps if s["result_ref"]})
        blobs: dict[str, bytes] = {}
        for chunk in _chunks(refs):
            stmt = select(t.blobs.c.blob_id, t.blobs.c.data).where(t.blobs.c.blob_id.in_(chunk))
            blobs.update((str(b), bytes(d)) for b, d in conn.execute(stmt))
        cache_keys: set[tuple[str, str]] = set()
        step_updates = []
        for s in steps:
            hashed = _request_hash(s, blobs)
            if hashed is not None:
                cache_keys.add((org_of[str(s["run_id"])], hashed))
            erased_result = _erased_value(s["result"], at) if s["result_ref"] is None else tombstone(at)
            if s["result"] is None and s["result_ref"] is None:
                erased_result = None
            new = {
                "b_run": s["run_id"],
                "b_seq": s["seq"],
                "b_result": erased_result,
                "b_args": _erased_value(s["args"], at),
                "b_error": _erased_error(s["error"], at),
                "b_events": _erased_events(s["events"]),
            }
            if (new["b_result"], None, new["b_args"], new["b_error"], new["b_events"]) != (
                s["result"],
                s["result_ref"],
                s["args"],
                s["error"],
                s["events"],
            ):
                step_updates.append(new)
        if step_updates:
            st = t.steps.c
            conn.execute(
                update(t.steps)
                .where(st.run_id == bindparam("b_run"), st.seq == bindparam("b_seq"))
                .values(
                    result=bindparam("b_result"),
                    result_ref=None,
                    args=bindparam("b_args"),
                    error=bindparam("b_error"),
                    events=bindparam("b_events"),
                ),
                step_updates,
            )
        counts.steps = len(step_updates)

        # Blobs are content-addressed: one another run also references holds that run's data too.
        for chunk in _chunks(refs):
            b, st = t.blobs.c, t.steps.c
            shared = exists().where(st.result_ref == b.blob_id)
            counts.blobs_deleted += int(
                conn.execute(delete(t.blobs).where(b.blob_id.in_(chunk), ~shared)).rowcount or 0
            )
        counts.blobs_shared = len(refs) - counts.blobs_deleted

        for chunk in _chunks(run_ids):
            sg = t.signals.c
            counts.signals += int(
                conn.execute(
                    update(t.signals)
                    .where(sg.run_id.in_(chunk), sg.payload.is_not(None), ~sg.payload.startswith(_TOMBSTONE_PREFIX))
                    .values(payload=tombstone(at))
                ).rowcount
                or 0
            )
            tr = t.transitions.c
            # A cause may quote an error message (a dead-lettered step's).
            counts.transitions += int(
                conn.execute(
                    update(t.transitions).where(tr.run_id.in_(chunk), tr.cause != ERASED_TEXT).values(cause=ERASED_TEXT)
                ).rowcount
                or 0
            )

        span_updates = []
        for s in _by_runs(conn, t.spans, run_ids, t.spans.c.trace_id, t.spans.c.span_id):
            attrs = _erased_attributes(str(s["attributes"]), at)
            events = _erased_events(s["events"])
            if (attrs, events) != (s["attributes"], s["events"]):
                span_updates.append(
                    {"b_trace": s["trace_id"], "b_span": s["span_id"], "b_attrs": attrs, "b_ev": events}
                )
        if span_updates:
            sp = t.spans.c
            conn.execute(
                update(t.spans)
                .where(sp.trace_id == bindparam("b_trace"), sp.span_id == bindparam("b_span"))
                .values(attributes=bindparam("b_attrs"), events=bindparam("b_ev")),
                span_updates,
            )
        counts.spans = len(span_updates)

        # Cached answers of the subject's model calls: whoever else asked the very same request
        # merely loses a cache entry, which the next call refills.
        keys = sorted(cache_keys)
        for chunk in _chunks(keys):
            c, sc = t.llm_cache.c, t.llm_semcache.c
            counts.cache_exact += int(
                conn.execute(delete(t.llm_cache).where(tuple_(c.org_key, c.request_hash).in_(chunk))).rowcount or 0
            )
            counts.cache_semantic += int(
                conn.execute(
                    delete(t.llm_semcache).where(
                        or_(*(and_(sc.org_key == org, sc.request_hash == h) for org, h in chunk))
                    )
                ).rowcount
                or 0
            )
        counts.cache_keys = keys
        return counts

    return op


__all__ = [
    "ERASED",
    "ERASED_TEXT",
    "ErasureCounts",
    "SubjectRows",
    "collect_op",
    "erase_op",
    "is_tombstone",
    "live_runs_op",
    "tombstone",
]
