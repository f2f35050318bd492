"""`keel trace` (a run's span tree) and what `keel runs explain` says about a run.

The commands only load records and print. Everything between (building the tree from spans and
the journal, the totals, the explanation) is a pure function of those records, so it can be
tested on hand-built records without a database.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from keel.cli._output import console, error_of, iso, print_json, short_id, status_text
from keel.cli._target import CliState
from keel.errors import RunNotFoundError
from keel.store import RunRecord, SpanRecord, StepRecord, Store

# A run in one of these may still add spans and journal entries; its "end" is now.
_LIVE = frozenset({"pending", "running", "waiting", "compensating"})
_WORK_PREFIXES = ("step ", "compensate ")
_ROOT = "workflow.run"
_RETRY_EVENTS = ("retry", "attempt failed")
# What a wait's journal kind is called as a span.
_WAIT_SPANS = {"sleep": "sleep", "signal": "signal.wait"}

SortKey = Literal["share", "time", "cost"]


# -- the records of one run ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecords:
    """Everything stored about one run that its trace and its explanation are built from."""

    run: RunRecord
    journal: list[StepRecord]
    transitions: list[dict[str, Any]]
    spans: list[SpanRecord]
    # Other runs of the trace whose `workflow.run` span is not stored (still running, parked):
    # their root is synthesised from the record, so their spans nest where they belong.
    related: Mapping[str, RunRecord] = field(default_factory=dict)


def trace_ids(run: RunRecord) -> tuple[str, str]:
    """The run's (trace id, root span id) as stored in keel_spans, also for runs created before tracing."""
    from keel.observe.tracing import run_span_ids

    trace_id, span_id = run_span_ids(run.run_id, run.trace_id, run.span_id)
    return f"{trace_id:032x}", f"{span_id:016x}"


def load_records(store: Store, run_id_prefix: str) -> RunRecords:
    """The run a unique id prefix names, with its journal, transitions and the spans of its trace."""
    run = store.find_run(run_id_prefix)
    journal = store.load_journal(run.run_id)
    transitions = store.transitions(run.run_id)
    trace_id, _ = trace_ids(run)
    spans = store.spans_for_trace(trace_id)
    present = {s.span_id for s in spans}
    related: dict[str, RunRecord] = {}
    for run_id in sorted({s.run_id for s in spans if s.run_id and s.run_id != run.run_id}):
        if any(s.run_id == run_id and s.name == _ROOT for s in spans):
            continue
        try:
            other = store.get_run(run_id)
        except RunNotFoundError:
            continue  # deleted since: its spans stay orphans outside this run's tree
        if trace_ids(other)[1] not in present:
            related[run_id] = other
    return RunRecords(run=run, journal=journal, transitions=transitions, spans=spans, related=related)


def run_end(run: RunRecord, transitions: list[dict[str, Any]]) -> float | None:
    """When the run reached its current state if it can no longer move by itself, else None."""
    if run.status in _LIVE:
        return None
    for row in reversed(transitions):
        if row["to_status"] == run.status:
            return float(row["at"])
    return run.updated_at


# -- the tree ------------------------------------------------------------------------------------


@dataclass
class Event:
    """A failed attempt of a step: `retry` (another attempt follows) or `attempt failed` (the last)."""

    name: str
    at: float | None
    attempt: int | None
    error_type: str | None
    error_message: str | None


@dataclass
class Node:
    """One line of the tree: a stored span, a journal entry with no span, or a synthesised run root."""

    name: str
    source: Literal["span", "journal", "run"]
    status: str  # ok | error | unset for spans and journal entries; the run's status for a synthesised root
    run_id: str | None
    span_id: str | None = None
    parent_span_id: str | None = None
    start: float | None = None
    duration_s: float | None = None
    detail: str | None = None  # the model, tool, workflow or signal the node is about
    seq: int | None = None
    kind: str | None = None  # the journal kind of a step or wait
    attempts: int | None = None
    retries: int | None = None
    tokens_input: int | None = None
    tokens_output: int | None = None
    cost_usd: float | None = None
    error_type: str | None = None
    interrupted: str | None = None
    orphan: bool = False  # its parent span is not stored; attached under the run's root
    estimated: bool = False  # its start and duration are inferred, not recorded
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    journal: StepRecord | None = None  # the journal entry this execution produced

    @property
    def is_run(self) -> bool:
        return self.name == _ROOT

    @property
    def is_work(self) -> bool:
        """A step or compensation execution: the level at which usage is journaled."""
        return self.name.startswith(_WORK_PREFIXES) and self.seq is not None

    @property
    def is_wait(self) -> bool:
        return self.name in _WAIT_SPANS.values() and self.seq is not None

    @property
    def failed(self) -> bool:
        return self.status in ("error", "failed", "dead_letter", "cancelled")

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class TraceView:
    """A run's span tree with the totals its header shows."""

    run: RunRecord
    trace_id: str
    root: Node
    spans: int  # stored spans in the tree
    missing: int  # journaled steps and waits, and a parked run's failed step, with no span
    duration_s: float | None
    tokens_input: int
    tokens_output: int
    cost_usd: float
    child_runs: list[str]

    @property
    def tracing(self) -> Literal["recorded", "partial", "unavailable"]:
        if not self.missing:
            return "recorded"  # a run not started yet has no spans and misses none
        return "partial" if self.spans else "unavailable"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def _span_node(span: SpanRecord) -> Node:
    attrs = span.attributes
    status = span.status
    if attrs.get("success") is False:
        status = "error"  # a span ended by failure, whatever status its writer set
    elif attrs.get("success") is True and status == "unset":
        status = "ok"  # waits are ended without a status; `success` says how they ended
    node = Node(
        name=span.name,
        source="span",
        status=status,
        run_id=span.run_id or _str(attrs.get("run.id")),
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        start=span.start_ns / 1e9,
        duration_s=max(0, span.end_ns - span.start_ns) / 1e9,
        seq=_int(attrs.get("step.seq")),
        kind=_str(attrs.get("step.kind")),
        attempts=_int(attrs.get("step.attempt")),
        retries=_int(attrs.get("step.retries")),
        tokens_input=_int(attrs.get("tokens.input")),
        tokens_output=_int(attrs.get("tokens.output")),
        cost_usd=_float(attrs.get("cost.usd")),
        error_type=_str(attrs.get("error.type")),
        interrupted=_str(attrs.get("step.interrupted")),
        attributes=attrs,
    )
    if span.name == "llm.call":
        node.detail = _str(attrs.get("gen_ai.response.model")) or _str(attrs.get("model.name"))
    elif span.name == "tool.call":
        node.detail = _str(attrs.get("tool.name"))
    elif span.name == "signal.wait":
        name = _str(attrs.get("signal.name"))
        node.detail = f"{name} (timed out)" if attrs.get("timed_out") and name else name
    elif span.name == "sleep" and _float(attrs.get("sleep.seconds")) is not None:
        node.detail = f"{attrs['sleep.seconds']:g}s"
    elif span.name == _ROOT:
        node.detail = _workflow_label(attrs.get("workflow.name"), attrs.get("workflow.version"))
        node.status = _str(attrs.get("run.status")) or status
    for event in span.events:
        if event.get("name") not in _RETRY_EVENTS:
            continue
        ev_attrs = event.get("attributes") or {}
        time_ns = _int(event.get("time_ns"))
        node.events.append(
            Event(
                name=str(event["name"]),
                at=time_ns / 1e9 if time_ns is not None else None,
                attempt=_int(ev_attrs.get("step.attempt")),
                error_type=_str(ev_attrs.get("error.type")),
                error_message=_str(ev_attrs.get("error.message")),
            )
        )
    return node


def _workflow_label(name: Any, version: Any) -> str | None:
    if not name:
        return None
    return f"{name}@{version}" if version else str(name)


def _root_node(run: RunRecord, end: float | None, now: float) -> Node:
    """The `workflow.run` node of a run whose own span is not stored (yet)."""
    trace_id, span_id = trace_ids(run)
    finished = end if end is not None else now
    return Node(
        name=_ROOT,
        source="run",
        status=run.status,
        run_id=run.run_id,
        span_id=span_id,
        parent_span_id=run.parent_span_id,
        start=run.created_at,
        duration_s=max(0.0, finished - run.created_at),
        detail=_workflow_label(run.workflow_name, run.workflow_version),
    )


def _journal_node(rec: StepRecord, now: float) -> Node:
    """A journaled step or wait that has no span: run by a worker with tracing off."""
    if rec.kind in _WAIT_SPANS:
        name = _WAIT_SPANS[rec.kind]
        detail = rec.name.removeprefix("keel.signal:") if rec.kind == "signal" else None
    else:
        name = f"{'compensate' if rec.kind == 'compensation' else 'step'} {rec.name}"
        detail = None
    end = rec.finished_at if rec.finished_at is not None else (now if rec.status == "pending" else None)
    return Node(
        name=name,
        source="journal",
        status="ok" if rec.status == "succeeded" else rec.status,
        run_id=rec.run_id,
        start=rec.started_at,
        duration_s=max(0.0, end - rec.started_at) if end is not None and rec.started_at is not None else None,
        detail=detail,
        seq=rec.seq,
        kind=rec.kind,
        attempts=rec.attempts,
        retries=max(0, rec.attempts - 1) if rec.kind in ("step", "compensation") else None,
        tokens_input=rec.tokens_input,
        tokens_output=rec.tokens_output,
        cost_usd=rec.cost_usd,
        journal=rec,
    )


def _match_key(node: Node) -> tuple[str, int] | None:
    if node.is_work and node.seq is not None:
        return ("work", node.seq)
    if node.is_wait and node.seq is not None:
        return (node.name, node.seq)
    return None


def _journal_key(rec: StepRecord) -> tuple[str, int] | None:
    if rec.kind in ("step", "compensation"):
        return ("work", rec.seq)
    if rec.kind in _WAIT_SPANS:
        return (_WAIT_SPANS[rec.kind], rec.seq)
    return None  # ctx.now() entries never have a span


def _unrecorded_failure(records: RunRecords, root: Node) -> Node | None:
    """The step a parked run failed in, from the run record, when no span shows that failure."""
    run = records.run
    if run.status != "dead_letter" or not run.failed_step:
        return None
    for node in root.children:
        if node.run_id == run.run_id and node.is_work and node.status == "error":
            if node.attributes.get("step.name") == run.failed_step:
                return None
    err = error_of(run) or {}
    # No record says when the failing step started: it was the run's work from the later of the
    # last journaled entry's end and the last claim until the run was parked.
    parked = run_end(run, records.transitions)
    claimed = [float(t["at"]) for t in records.transitions if t["to_status"] == "running"]
    done = [r.finished_at for r in records.journal if r.finished_at is not None]
    start = max([run.created_at, *claimed, *done])
    return Node(
        name=f"step {run.failed_step}",
        source="journal",
        status="error",
        run_id=run.run_id,
        start=start,
        duration_s=max(0.0, parked - start) if parked is not None else None,
        estimated=True,
        seq=run.step_count,
        kind="step",
        error_type=_str(err.get("type")),
        events=[Event("parked", None, None, None, _str(err.get("message")) or "no error recorded")],
    )


def _sort(node: Node) -> None:
    node.children.sort(key=lambda n: (n.start is None, n.start or 0.0))
    for child in node.children:
        _sort(child)


def build_trace(records: RunRecords, *, now: float) -> TraceView:
    """The run's span tree: spans nested by parent, missing roots synthesised, the journal's gaps filled."""
    run = records.run
    trace_id, root_id = trace_ids(run)
    nodes: dict[str, Node] = {}
    for span in records.spans:
        nodes.setdefault(span.span_id, _span_node(span))
    if root_id not in nodes:
        nodes[root_id] = _root_node(run, run_end(run, records.transitions), now)
    for other in records.related.values():
        other_root = trace_ids(other)[1]
        if other_root not in nodes:
            nodes[other_root] = _root_node(other, None if other.status in _LIVE else other.updated_at, now)
    root = nodes[root_id]
    for span_id, node in nodes.items():
        if span_id == root_id:
            continue  # its parent (a request, a parent run's step) is outside this run's tree
        parent = nodes.get(node.parent_span_id) if node.parent_span_id else None
        if parent is not None and parent is not node:
            parent.children.append(node)
        elif node.run_id == run.run_id:
            node.orphan = True
            root.children.append(node)
        # Anything else belongs to another run whose place in the trace is unknown: left out.

    # The journal is the truth about what completed: a step it holds without a span (run by a
    # worker with tracing off) still gets its line.
    by_key: dict[tuple[str, int], Node] = {}
    for node in root.children:
        key = _match_key(node)
        if key is not None and node.run_id == run.run_id and node.status != "error" and not node.interrupted:
            by_key[key] = node  # the last execution of a seq is the one that was journaled
    missing = 0
    for rec in records.journal:
        key = _journal_key(rec)
        if key is None or rec.status not in ("succeeded", "pending"):
            continue
        matched = by_key.get(key) if rec.status == "succeeded" else None
        if matched is not None:
            matched.journal = rec
            continue
        root.children.append(_journal_node(rec, now))
        if rec.status == "succeeded":
            missing += 1
    failed = _unrecorded_failure(records, root)
    if failed is not None:
        root.children.append(failed)
        missing += 1
    _sort(root)

    tree_nodes = list(root.walk())
    has_journal_only = any(n.source == "journal" and n.is_work for n in tree_nodes)
    tokens_in, tokens_out, cost = _spent(root, count_orphans=not has_journal_only)
    return TraceView(
        run=run,
        trace_id=trace_id,
        root=root,
        spans=sum(1 for n in tree_nodes if n.source == "span"),
        missing=missing,
        duration_s=root.duration_s,
        tokens_input=tokens_in,
        tokens_output=tokens_out,
        cost_usd=cost,
        child_runs=[n.run_id for n in tree_nodes if n.is_run and n is not root and n.run_id],
    )


def _child_runs(node: Node) -> Iterator[Node]:
    """The roots of runs started under this node (not looking inside them)."""
    for child in node.children:
        if child.is_run:
            yield child
        else:
            yield from _child_runs(child)


def _spent(node: Node, *, count_orphans: bool = True) -> tuple[int, int, float]:
    """Tokens in, out and cost under a node, each model call counted once."""
    if node.is_work or node.name == "llm.call":
        # A step's usage already sums its model calls (over all its attempts).
        if node.orphan and not node.is_work and not count_orphans:
            # Its step's span is lost; the step's journal entry, shown instead, holds this call.
            own: tuple[int, int, float] = (0, 0, 0.0)
        else:
            own = (node.tokens_input or 0, node.tokens_output or 0, node.cost_usd or 0.0)
        subs = [_spent(r) for r in _child_runs(node)]
    else:
        own = (0, 0, 0.0)
        subs = [_spent(c, count_orphans=count_orphans) for c in node.children]
    return (
        own[0] + sum(s[0] for s in subs),
        own[1] + sum(s[1] for s in subs),
        own[2] + sum(s[2] for s in subs),
    )


# -- formatting ----------------------------------------------------------------------------------


def human_duration(seconds: float | None) -> str:
    """A duration in the unit a person reads fastest: ms, s, min or h."""
    if seconds is None:
        return "-"
    if seconds == 0:
        return "0 ms"
    if seconds < 0.001:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def money(cost: float | None) -> str:
    return "-" if cost is None else f"${cost:.4f}"


def tokens(tokens_in: int | None, tokens_out: int | None) -> str:
    if not tokens_in and not tokens_out:
        return "-"
    return f"{tokens_in or 0:,} → {tokens_out or 0:,}"


def _attempts_text(attempts: int | None, retries: int | None) -> str | None:
    if attempts is None:
        return None
    retries = retries if retries is not None else max(0, attempts - 1)
    text = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if retries:
        text += f" ({retries} retr{'ies' if retries != 1 else 'y'})"
    return text


_MARKS = {"ok": ("✓", "green"), "error": ("✗", "red"), "unset": ("•", "dim"), "pending": ("…", "cyan")}


def _mark(node: Node) -> tuple[str, str]:
    if node.is_run:
        if node.status == "succeeded":
            return "✓", "green"
        if node.status in _LIVE:
            return "…", "blue"
        return "✗", "red" if node.status != "cancelled" else "yellow"
    if node.interrupted:
        return "⏸", "yellow"
    return _MARKS.get(node.status, ("•", "dim"))


def _label(node: Node, run_start: float, own_run: str | None = None) -> Text:
    mark, style = _mark(node)
    dim = node.source == "journal"
    text = Text()
    text.append(mark + " ", style="dim" if dim else style)
    text.append(node.name, style="dim" if dim else "bold")
    if node.detail:
        text.append(f" {node.detail}", style="dim" if dim else "")
    if node.seq is not None and (node.is_work or node.is_wait):
        text.append(f" #{node.seq}", style="dim")
    if node.is_run:
        status = node.status + ("…" if node.status in _LIVE else "")
        text.append(" (")
        text.append(status_text(status) if not dim else Text(status, style="dim"))
        text.append(")")
        if node.run_id and node.run_id != own_run:
            text.append(f" run {short_id(node.run_id)}", style="dim")
    approx = "≈" if node.estimated and node.duration_s is not None else ""
    parts: list[tuple[str, str]] = [(approx + human_duration(node.duration_s), "")]
    if node.start is not None and not node.is_run:
        parts.append((f"at {approx}+{human_duration(max(0.0, node.start - run_start))}", "dim"))
    if node.tokens_input or node.tokens_output:
        parts.append((tokens(node.tokens_input, node.tokens_output) + " tok", ""))
    if node.cost_usd:
        parts.append((money(node.cost_usd), ""))
    attempts = _attempts_text(node.attempts, node.retries) if node.is_work else None
    if attempts:
        parts.append((attempts, "yellow" if node.retries else ""))
    if node.interrupted:
        parts.append((f"interrupted ({node.interrupted})", "yellow"))
    if node.source == "journal":
        parts.append(("(in progress)" if node.status == "pending" else "(no span recorded)", ""))
    if node.source == "run":
        # A run's own span is written by the worker that ends it, so a live or parked run has none.
        unfinished = node.status in _LIVE or node.status == "dead_letter"
        parts.append(("(run not ended: no run span yet)" if unfinished else "(no run span recorded)", "dim"))
    if node.orphan:
        parts.append(("(parent span not recorded)", "dim"))
    for part, part_style in parts:
        text.append("  ")
        text.append(part, style="dim" if dim else part_style)
    if node.failed and node.error_type:
        text.append("  ")
        text.append(node.error_type, style="red")
    return text


def _event_label(event: Event, start: float | None) -> Text:
    if event.name == "parked":
        return Text(f"✗ parked: {event.error_message}", style="red")
    retrying = event.name == "retry"
    text = Text("↻ " if retrying else "✗ ", style="yellow" if retrying else "red")
    what = f"attempt {event.attempt}" if event.attempt is not None else "an attempt"
    text.append(f"{what} failed" + (", retrying" if retrying else ""), style="yellow" if retrying else "red")
    if event.at is not None and start is not None:
        text.append(f" after {human_duration(max(0.0, event.at - start))}", style="dim")
    if event.error_type:
        text.append(": ")
        text.append(event.error_type, style="red")
    if event.error_message:
        text.append(f": {event.error_message}", style="dim")
    return text


def _grow(tree: Tree, node: Node, run_start: float, own_run: str) -> None:
    for event in node.events:
        tree.add(_event_label(event, node.start))
    for child in node.children:
        _grow(tree.add(_label(child, run_start, own_run)), child, run_start, own_run)


def _print_run_header(run: RunRecord) -> None:
    header = Text()
    header.append("run ", style="bold")
    header.append(run.run_id)
    header.append(f"  {run.workflow_name}@{run.workflow_version}  ")
    header.append(status_text(run.status))
    console.print(header, soft_wrap=True)


def render_trace(view: TraceView) -> None:
    """`keel trace`: a header with the run's totals, then its span tree."""
    run = view.run
    _print_run_header(run)
    totals = Text(f"trace {view.trace_id}", style="dim")
    totals.append(f"  ·  {human_duration(view.duration_s)}", style="")
    totals.append(f"  ·  {view.tokens_input:,} in / {view.tokens_output:,} out tokens")
    totals.append(f"  ·  {money(view.cost_usd)}")
    if view.child_runs:
        n = len(view.child_runs)
        totals.append(f"  (incl. {n} child run{'s' if n != 1 else ''})", style="dim")
    console.print(totals, soft_wrap=True)
    console.print()
    start = view.root.start or run.created_at
    tree = Tree(_label(view.root, start, run.run_id), guide_style="dim")
    _grow(tree, view.root, start, run.run_id)
    console.print(tree)
    if view.tracing == "unavailable":
        console.print()
        console.print(
            "no spans stored for this run (tracing was off or unavailable, e.g. KEEL_TRACING=false): "
            "the tree above is built from the journal",
            style="yellow",
            markup=False,
        )
    elif view.missing:
        s = "s" if view.missing != 1 else ""
        console.print()
        console.print(
            f"{view.missing} step{s} or wait{s} without a span (run by a worker with tracing off): "
            "their durations and usage come from the journal",
            style="yellow",
            markup=False,
        )


def _node_json(node: Node) -> dict[str, Any]:
    return {
        "name": node.name,
        "detail": node.detail,
        "source": node.source,
        "status": node.status,
        "run_id": node.run_id,
        "span_id": node.span_id,
        "parent_span_id": node.parent_span_id,
        "seq": node.seq,
        "kind": node.kind,
        "start": iso(node.start),
        "duration_s": round(node.duration_s, 6) if node.duration_s is not None else None,
        "attempts": node.attempts,
        "retries": node.retries,
        "tokens_input": node.tokens_input,
        "tokens_output": node.tokens_output,
        "cost_usd": node.cost_usd,
        "error_type": node.error_type,
        "interrupted": node.interrupted,
        "orphan": node.orphan,
        "estimated": node.estimated,
        "events": [
            {
                "name": e.name,
                "at": iso(e.at),
                "attempt": e.attempt,
                "error_type": e.error_type,
                "error_message": e.error_message,
            }
            for e in node.events
        ],
        "attributes": node.attributes,
        "children": [_node_json(c) for c in node.children],
    }


def trace_json(view: TraceView) -> dict[str, Any]:
    run = view.run
    return {
        "run_id": run.run_id,
        "workflow_name": run.workflow_name,
        "workflow_version": run.workflow_version,
        "status": run.status,
        "trace_id": view.trace_id,
        "tracing": view.tracing,
        "duration_s": round(view.duration_s, 6) if view.duration_s is not None else None,
        "tokens_input": view.tokens_input,
        "tokens_output": view.tokens_output,
        "cost_usd": round(view.cost_usd, 6),
        "spans": view.spans,
        "missing_spans": view.missing,
        "child_runs": view.child_runs,
        "root": _node_json(view.root),
    }


# -- the explanation -----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of `keel runs explain`: an execution of a step, a wait, or the time outside both."""

    name: str
    seq: int | None
    kind: str  # step | compensation | sleep | signal | other
    category: Literal["work", "wait", "other"]
    status: str  # succeeded | failed | interrupted | superseded | waiting
    duration_s: float
    cost_usd: float = 0.0
    tokens_input: int = 0
    tokens_output: int = 0
    attempts: int | None = None
    retries: int = 0
    retry_s: float = 0.0  # at least this long in failed attempts and backoff
    error_type: str | None = None
    models: dict[str, int] = field(default_factory=dict)
    child_runs: list[str] = field(default_factory=list)
    estimated: bool = False  # the duration is inferred (a failure with no span), not recorded
    time_share: float | None = None
    cost_share: float | None = None

    @property
    def label(self) -> str:
        if self.category == "other":
            return self.name
        if self.kind in ("sleep", "signal"):
            what = "sleep" if self.kind == "sleep" else f"signal {self.name.removeprefix('keel.signal:')!r}"
        else:
            what = f"{'compensation' if self.kind == 'compensation' else 'step'} `{self.name}`"
        return f"{what} #{self.seq}" if self.seq is not None else what

    def why(self) -> str:
        """What explains the row, in a few words: retries, model calls, failure."""
        notes = []
        if self.status not in ("succeeded", "waiting"):
            notes.append(self.status + (f": {self.error_type}" if self.error_type else ""))
        if self.retries:
            notes.append(f"{self.retries} retr{'ies' if self.retries != 1 else 'y'}")
        calls = sum(self.models.values())
        if calls:
            notes.append(f"{calls} model call{'s' if calls != 1 else ''}: " + _models(self.models))
        if self.child_runs:
            notes.append(f"incl. child run{'s' if len(self.child_runs) != 1 else ''}")
        if self.status == "waiting":
            notes.append("still waiting")
        return ", ".join(notes)


@dataclass
class Explanation:
    """Where a run's time and money went."""

    run: RunRecord
    rows: list[Row]
    wall_s: float
    finished: bool
    working_s: float
    waiting_s: float
    sleeping_s: float
    signals_s: float
    retry_s: float
    other_s: float
    queued_s: float | None
    cost_usd: float
    tokens_input: int
    tokens_output: int
    tracing: str
    top_time: Row | None
    top_cost: Row | None


def _models(models: Mapping[str, int]) -> str:
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in models.items())


def _llm_calls(node: Node) -> Iterator[Node]:
    for child in node.children:
        if child.is_run:
            continue  # a child run's model calls are its own
        if child.name == "llm.call":
            yield child
        yield from _llm_calls(child)


def _work_row(node: Node) -> Row:
    rec = node.journal
    if rec is not None and rec.started_at is not None and rec.finished_at is not None:
        # The journal is what every worker agrees on; the span may be from a different process.
        duration = max(0.0, rec.finished_at - rec.started_at)
        usage = (rec.tokens_input or 0, rec.tokens_output or 0, rec.cost_usd or 0.0)
        attempts: int | None = rec.attempts
    else:
        duration = node.duration_s or 0.0
        usage = (node.tokens_input or 0, node.tokens_output or 0, node.cost_usd or 0.0)
        attempts = node.attempts
    for child in _child_runs(node):
        spent = _spent(child)
        usage = (usage[0] + spent[0], usage[1] + spent[1], usage[2] + spent[2])
    if node.status == "error":
        status = "failed"
    elif node.interrupted:
        status = "interrupted"
    elif node.source == "span" and rec is None:
        status = "superseded"  # it ended, but its result was not journaled: the step ran again
    else:
        status = "succeeded"
    failures = [e.at for e in node.events if e.name == "retry" and e.at is not None]
    retry_s = max(0.0, max(failures) - node.start) if failures and node.start is not None else 0.0
    models: Counter[str] = Counter(c.detail or "unknown model" for c in _llm_calls(node))
    return Row(
        name=rec.name if rec is not None else str(node.attributes.get("step.name") or node.name.split(" ", 1)[-1]),
        seq=node.seq,
        kind=node.kind or ("compensation" if node.name.startswith("compensate ") else "step"),
        category="work",
        status=status,
        duration_s=duration,
        cost_usd=usage[2],
        tokens_input=usage[0],
        tokens_output=usage[1],
        attempts=attempts,
        retries=max(0, attempts - 1) if attempts else (node.retries or 0),
        retry_s=min(retry_s, duration),
        error_type=node.error_type if status == "failed" else None,
        models=dict(models.most_common()),
        child_runs=[r.run_id for r in _child_runs(node) if r.run_id],
        estimated=node.estimated,
    )


def _wait_row(node: Node) -> Row:
    rec = node.journal
    if rec is not None and rec.started_at is not None and rec.finished_at is not None:
        duration = max(0.0, rec.finished_at - rec.started_at)
    else:
        duration = node.duration_s or 0.0
    kind = "sleep" if node.name == "sleep" else "signal"
    name = rec.name if rec is not None else ("keel.sleep" if kind == "sleep" else f"keel.signal:{node.detail or ''}")
    return Row(
        name=name,
        seq=node.seq,
        kind=kind,
        category="wait",
        status="waiting" if node.status == "pending" else "succeeded",
        duration_s=duration,
    )


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def explain(records: RunRecords, *, now: float, sort: SortKey = "share") -> Explanation:
    """The run's steps and waits with their share of its time and cost, largest first."""
    view = build_trace(records, now=now)
    run = records.run
    rows: list[Row] = []
    for node in view.root.children:
        if node.run_id != run.run_id:
            continue
        if node.is_work:
            rows.append(_work_row(node))
        elif node.is_wait:
            rows.append(_wait_row(node))
    end = run_end(run, records.transitions)
    wall = max(0.0, (end if end is not None else now) - run.created_at)
    working = sum(r.duration_s for r in rows if r.category == "work")
    sleeping = sum(r.duration_s for r in rows if r.kind == "sleep")
    signals = sum(r.duration_s for r in rows if r.kind == "signal")
    other = max(0.0, wall - working - sleeping - signals)
    if other > 0:
        rows.append(
            Row(
                name="outside steps (queue, replay, workflow code)",
                seq=None,
                kind="other",
                category="other",
                status="succeeded",
                duration_s=other,
            )
        )
    # Steps run concurrently (asyncio.gather over ctx.run) can add up to more than the wall time.
    time_total = max(wall, sum(r.duration_s for r in rows))
    cost_total = sum(r.cost_usd for r in rows)
    for row in rows:
        row.time_share = _share(row.duration_s, time_total)
        row.cost_share = _share(row.cost_usd, cost_total) if cost_total > 0 else None

    def key(row: Row) -> float:
        if sort == "time":
            return row.time_share or 0.0
        if sort == "cost":
            return row.cost_share or 0.0
        return max(row.time_share or 0.0, row.cost_share or 0.0)

    # The time outside steps is not a step: it closes the table whatever its size.
    rows.sort(key=lambda r: (r.category == "other", -key(r), r.seq if r.seq is not None else -1))
    queued = None
    first_claim = next((t for t in records.transitions if t["to_status"] == "running"), None)
    if first_claim is not None:
        queued = max(0.0, float(first_claim["at"]) - run.created_at)
    timed = [r for r in rows if r.duration_s > 0]
    costly = [r for r in rows if r.cost_usd > 0]
    return Explanation(
        run=run,
        rows=rows,
        wall_s=wall,
        finished=end is not None,
        working_s=working,
        waiting_s=sleeping + signals,
        sleeping_s=sleeping,
        signals_s=signals,
        retry_s=sum(r.retry_s for r in rows),
        other_s=other,
        queued_s=queued,
        cost_usd=cost_total,
        tokens_input=sum(r.tokens_input for r in rows),
        tokens_output=sum(r.tokens_output for r in rows),
        tracing=view.tracing,
        top_time=max(timed, key=lambda r: r.duration_s) if timed else None,
        top_cost=max(costly, key=lambda r: r.cost_usd) if costly else None,
    )


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _named(row: Row) -> str:
    why = row.why()
    return f"{row.label}" + (f" ({why})" if why else "") + "."


def summary(exp: Explanation) -> str:
    """The explanation in one paragraph: totals, the split of the time, and the top contributors."""
    span = "created → finished" if exp.finished else "created → now, still " + exp.run.status
    if exp.finished and exp.run.status == "dead_letter":
        span = "created → parked in the dead-letter queue"
    parts = [f"Wall time {human_duration(exp.wall_s)} ({span}): {human_duration(exp.working_s)} working in steps"]
    if exp.retry_s > 0:
        parts[-1] += f" (at least {human_duration(exp.retry_s)} of it in failed attempts and retry backoff)"
    waits = []
    if exp.sleeping_s:
        waits.append(f"sleeps {human_duration(exp.sleeping_s)}")
    if exp.signals_s:
        waits.append(f"signals {human_duration(exp.signals_s)}")
    if waits:
        parts.append(f"{human_duration(exp.waiting_s)} waiting ({', '.join(waits)})")
    if exp.other_s > 0:
        queued = f", of which {human_duration(exp.queued_s)} queued before a worker took it" if exp.queued_s else ""
        parts.append(f"{human_duration(exp.other_s)} outside steps{queued}")
    text = ", ".join(parts) + "."
    text += f" Cost {money(exp.cost_usd)}"
    if exp.tokens_input or exp.tokens_output:
        text += f" ({exp.tokens_input:,} input and {exp.tokens_output:,} output tokens)"
    text += "."
    top_time, top_cost = exp.top_time, exp.top_cost
    if top_time is not None and top_time is top_cost:
        text += f" {_pct(top_time.time_share)} of the time and {_pct(top_time.cost_share)} of the cost: "
        text += _named(top_time)
    else:
        if top_time is not None:
            text += f" {_pct(top_time.time_share)} of the time: {_named(top_time)}"
        if top_cost is not None:
            text += f" {_pct(top_cost.cost_share)} of the cost: {_named(top_cost)}"
    if exp.tracing != "recorded":
        text += (
            " No spans are stored for this run (tracing off or unavailable): figures come from the journal only."
            if exp.tracing == "unavailable"
            else " Some spans are missing: those steps' figures come from the journal."
        )
    return text


def render_explanation(exp: Explanation) -> None:
    """`keel runs explain`: the table, largest share first, then the summary paragraph."""
    run = exp.run
    _print_run_header(run)
    console.print()
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("STEP")
    table.add_column("TIME", justify="right", no_wrap=True)
    table.add_column("TIME %", justify="right", no_wrap=True)
    table.add_column("COST", justify="right", no_wrap=True)
    table.add_column("COST %", justify="right", no_wrap=True)
    table.add_column("TOKENS IN → OUT", justify="right", no_wrap=True)
    table.add_column("ATTEMPTS", justify="right", no_wrap=True)
    with_models = any(r.models for r in exp.rows)
    if with_models:
        table.add_column("MODELS")
    for row in exp.rows:
        label = Text(row.label.replace("`", ""), style="dim" if row.category == "other" else "")
        if row.category == "wait":
            label.append(" (waiting)", style="cyan")
        if row.status in ("failed", "interrupted", "superseded"):
            label.append(f" ({row.status}", style="red" if row.status == "failed" else "yellow")
            label.append(f": {row.error_type})" if row.error_type else ")", style="red")
        attempts = Text(str(row.attempts) if row.attempts is not None else "-")
        if row.retries:
            attempts.stylize("yellow")
        cells: list[Text | str] = [
            label,
            ("≈" if row.estimated else "") + human_duration(row.duration_s),
            _pct(row.time_share),
            money(row.cost_usd) if row.cost_usd else "-",
            _pct(row.cost_share) if row.cost_usd else "-",
            tokens(row.tokens_input, row.tokens_output),
            attempts,
        ]
        if with_models:
            cells.append(_models(row.models) or "-")
        table.add_row(*cells)
    console.print(table)
    console.print()
    console.print(summary(exp), markup=False, highlight=False)


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "label": row.label,
        "name": row.name,
        "seq": row.seq,
        "kind": row.kind,
        "category": row.category,
        "status": row.status,
        "duration_s": round(row.duration_s, 6),
        "time_share": round(row.time_share, 6) if row.time_share is not None else None,
        "cost_usd": round(row.cost_usd, 6),
        "cost_share": round(row.cost_share, 6) if row.cost_share is not None else None,
        "tokens_input": row.tokens_input,
        "tokens_output": row.tokens_output,
        "attempts": row.attempts,
        "retries": row.retries,
        "retry_s": round(row.retry_s, 6),
        "error_type": row.error_type,
        "models": row.models,
        "child_runs": row.child_runs,
        "estimated": row.estimated,
    }


def explanation_json(exp: Explanation) -> dict[str, Any]:
    run = exp.run
    return {
        "run_id": run.run_id,
        "workflow_name": run.workflow_name,
        "workflow_version": run.workflow_version,
        "status": run.status,
        "tracing": exp.tracing,
        "finished": exp.finished,
        "wall_s": round(exp.wall_s, 6),
        "working_s": round(exp.working_s, 6),
        "waiting_s": round(exp.waiting_s, 6),
        "sleeping_s": round(exp.sleeping_s, 6),
        "signals_s": round(exp.signals_s, 6),
        "retry_s": round(exp.retry_s, 6),
        "other_s": round(exp.other_s, 6),
        "queued_s": round(exp.queued_s, 6) if exp.queued_s is not None else None,
        "cost_usd": round(exp.cost_usd, 6),
        "tokens_input": exp.tokens_input,
        "tokens_output": exp.tokens_output,
        "rows": [_row_json(r) for r in exp.rows],
        "top_time": _row_json(exp.top_time) if exp.top_time is not None else None,
        "top_cost": _row_json(exp.top_cost) if exp.top_cost is not None else None,
        "summary": summary(exp),
    }


# -- the command ---------------------------------------------------------------------------------


def trace_command(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="ID", help="Run id, or an unambiguous prefix of it.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the tree as JSON.")] = False,
) -> None:
    """Show a run's span tree: duration, tokens, cost, retries and errors of every step and call."""
    state: CliState = ctx.obj
    with state.store() as store:
        records = load_records(store, run_id)
    view = build_trace(records, now=time.time())
    if json_out:
        print_json(trace_json(view))
    else:
        render_trace(view)
