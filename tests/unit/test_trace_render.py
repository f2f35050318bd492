"""The tree and the explanation behind `keel trace` / `keel runs explain`, on hand-built records."""

from __future__ import annotations

from typing import Any

import pytest

from keel.cli.trace import RunRecords, build_trace, explain, human_duration, trace_ids
from keel.store import RunRecord, SpanRecord, StepRecord

T0 = 1_800_000_000.0
TRACE = "ab" * 16


def run(run_id: str = "11111111-2222-3333-4444-555555555555", **fields: Any) -> RunRecord:
    values: dict[str, Any] = dict(
        run_id=run_id,
        workflow_name="wf",
        workflow_version="1",
        status="succeeded",
        input="{}",
        result=None,
        error=None,
        idempotency_key=None,
        org_id=None,
        user_id=None,
        target=None,
        created_at=T0,
        updated_at=T0 + 100,
        wake_at=None,
        lease_owner=None,
        lease_expires_at=None,
        fencing_token=1,
        step_count=0,
        attempt=0,
        failed_step=None,
        paused=False,
        control=None,
        trace_id=TRACE,
        span_id="0000000000000001",
        parent_span_id=None,
    )
    values.update(fields)
    return RunRecord(**values)


def span(
    span_id: str, parent: str | None, name: str, start: float, end: float, run_id: str, **attrs: Any
) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE,
        span_id=span_id,
        parent_span_id=parent,
        run_id=run_id,
        name=name,
        start_ns=int((T0 + start) * 1e9),
        end_ns=int((T0 + end) * 1e9),
        status="error" if attrs.get("success") is False else "ok",
        attributes={"run.id": run_id, **attrs},
        events=[],
    )


def step(run_id: str, seq: int, name: str, start: float, end: float, **fields: Any) -> StepRecord:
    values: dict[str, Any] = dict(
        run_id=run_id,
        seq=seq,
        name=name,
        kind="step",
        status="succeeded",
        result="null",
        result_ref=None,
        args=None,
        error=None,
        attempts=1,
        wake_at=None,
        started_at=T0 + start,
        finished_at=T0 + end,
    )
    values.update(fields)
    return StepRecord(**values)


def finished(at: float) -> list[dict[str, Any]]:
    return [
        {"at": T0, "from_status": None, "to_status": "running", "cause": "started"},
        {"at": T0 + at, "from_status": "running", "to_status": "succeeded", "cause": "workflow returned"},
    ]


def test_a_span_whose_parent_is_lost_hangs_under_the_root_and_is_counted_once() -> None:
    r = run()
    root_id = r.span_id
    assert root_id is not None
    # `draft`'s step span was lost, its model call was not: the journal entry stands in for the
    # step and already holds the call's usage.
    spans = [
        span(root_id, None, "workflow.run", 0, 10, r.run_id, **{"run.status": "succeeded"}),
        span(
            "00000000000000a1", "00000000000000ff", "llm.call", 1, 4, r.run_id, **{"model.name": "m", "cost.usd": 0.5}
        ),
    ]
    journal = [step(r.run_id, 0, "draft", 0.5, 5, cost_usd=0.5, tokens_input=100, tokens_output=10)]
    view = build_trace(RunRecords(r, journal, finished(10), spans), now=T0 + 50)
    assert [(n.name, n.source, n.orphan) for n in view.root.children] == [
        ("step draft", "journal", False),
        ("llm.call", "span", True),
    ]
    assert (view.cost_usd, view.tokens_input, view.missing, view.tracing) == (0.5, 100, 1, "partial")


def test_a_parked_child_run_gets_a_synthesised_root_under_the_step_that_started_it() -> None:
    parent = run()
    kid = run(
        "99999999-2222-3333-4444-555555555555",
        status="dead_letter",
        span_id="00000000000000c0",
        parent_span_id="00000000000000b0",
    )
    assert parent.span_id is not None
    spans = [
        span(parent.span_id, None, "workflow.run", 0, 10, parent.run_id, **{"run.status": "succeeded"}),
        span("00000000000000b0", parent.span_id, "step spawn", 0, 2, parent.run_id, **{"step.seq": 0}),
        span(
            "00000000000000c1", "00000000000000c0", "step think", 3, 4, kid.run_id, **{"step.seq": 0, "success": False}
        ),
    ]
    records = RunRecords(parent, [step(parent.run_id, 0, "spawn", 0, 2)], finished(10), spans, {kid.run_id: kid})
    view = build_trace(records, now=T0 + 50)
    (spawn,) = view.root.children
    (child_root,) = spawn.children
    assert (child_root.name, child_root.source, child_root.run_id, child_root.status) == (
        "workflow.run",
        "run",
        kid.run_id,
        "dead_letter",
    )
    assert [(n.name, n.status) for n in child_root.children] == [("step think", "error")]
    assert view.child_runs == [kid.run_id]


def test_the_tree_of_a_child_run_leaves_out_the_parent_runs_spans() -> None:
    parent = run()
    assert parent.span_id is not None
    kid = run("99999999-2222-3333-4444-555555555555", span_id="00000000000000c0", parent_span_id="00000000000000b0")
    spans = [
        span(parent.span_id, None, "workflow.run", 0, 10, parent.run_id),
        span("00000000000000b0", parent.span_id, "step spawn", 0, 2, parent.run_id, **{"step.seq": 0}),
        span("00000000000000c0", "00000000000000b0", "workflow.run", 1, 5, kid.run_id),
        span("00000000000000c1", "00000000000000c0", "step think", 2, 4, kid.run_id, **{"step.seq": 0}),
    ]
    view = build_trace(RunRecords(kid, [step(kid.run_id, 0, "think", 2, 4)], finished(4), spans), now=T0 + 50)
    assert [n.name for n in view.root.walk()] == ["workflow.run", "step think"]
    assert view.root.span_id == "00000000000000c0"


def test_an_interrupted_execution_is_its_own_row_and_the_journal_goes_to_the_one_that_finished() -> None:
    r = run()
    assert r.span_id is not None
    spans = [
        span(r.span_id, None, "workflow.run", 0, 20, r.run_id, **{"run.status": "succeeded"}),
        span(
            "00000000000000a1", r.span_id, "step fetch", 0, 5, r.run_id, **{"step.seq": 0, "step.interrupted": "hold"}
        ),
        span("00000000000000a2", r.span_id, "step fetch", 10, 12, r.run_id, **{"step.seq": 0, "step.attempt": 1}),
    ]
    exp = explain(RunRecords(r, [step(r.run_id, 0, "fetch", 10, 12)], finished(20), spans), now=T0 + 50, sort="time")
    # The time outside steps closes the table, even when it is the largest.
    assert [(row.label, row.status, row.duration_s) for row in exp.rows] == [
        ("step `fetch` #0", "interrupted", pytest.approx(5.0)),
        ("step `fetch` #0", "succeeded", pytest.approx(2.0)),
        ("outside steps (queue, replay, workflow code)", "succeeded", pytest.approx(13.0)),
    ]
    assert sum(row.time_share or 0 for row in exp.rows) == pytest.approx(1.0)
    assert exp.top_time is not None and exp.top_time.category == "other"


def test_steps_run_side_by_side_share_their_sum_not_the_wall_time() -> None:
    r = run()
    journal = [step(r.run_id, 0, "a", 0, 8), step(r.run_id, 1, "b", 0, 4)]
    exp = explain(RunRecords(r, journal, finished(8), []), now=T0 + 50)
    assert [(row.label, row.time_share) for row in exp.rows] == [
        ("step `a` #0", pytest.approx(8 / 12)),
        ("step `b` #1", pytest.approx(4 / 12)),
    ]
    assert (exp.wall_s, exp.working_s, exp.other_s, exp.tracing) == (8.0, 12.0, 0.0, "unavailable")


def test_a_run_created_before_tracing_finds_its_spans_by_ids_derived_from_its_id() -> None:
    r = run(trace_id=None, span_id=None)
    assert trace_ids(r) == ("11111111222233334444555555555555", "1111111122223333")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0 ms"),
        (0.00025, "0.25 ms"),
        (0.25, "250 ms"),
        (2.5, "2.50 s"),
        (150, "2.5 min"),
        (7200, "2.0 h"),
    ],
)
def test_durations_read_in_the_unit_that_fits(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text
