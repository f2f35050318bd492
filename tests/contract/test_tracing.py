"""Tracing on every backend: one trace per run, the span tree's shape and attributes, the span store."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import keel
from keel.observe.tracing import llm_call, tool_call
from keel.testing import capture_spans


def _digest(spans: list[Any]) -> list[tuple[Any, ...]]:
    rows = [s if isinstance(s, dict) else {**vars(s), "events": [e["name"] for e in s.events]} for s in spans]
    return sorted(
        (
            r["name"],
            r["span_id"],
            r["parent_span_id"],
            r["start_ns"],
            r["end_ns"],
            sorted(r["attributes"].items()),
            r["events"],
        )
        for r in rows
    )


def _by_name(spans: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for s in spans:
        out.setdefault(s.name, []).append(s)
    return out


async def test_span_tree_of_a_run_with_retries_model_calls_and_a_sleep(make_app, clock):
    app = make_app(clock=clock)
    spans = capture_spans(app)
    calls = {"flaky": 0}

    @app.step(name="flaky", retry=keel.RetryPolicy(max_attempts=3, initial_backoff=0.5, jitter=False))
    def flaky(x: int) -> int:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise ConnectionError("upstream reset")
        return x + 1

    @app.step(name="summarize")
    async def summarize(x: int) -> str:
        with llm_call("gpt-test", system="openai") as call:
            call.usage(input_tokens=120, output_tokens=30, cost_usd=0.0125)
        with llm_call("claude-test", system="anthropic") as call:
            call.usage(input_tokens=80, output_tokens=20, cost_usd=0.0075)
        with tool_call("search"):
            pass
        return f"x={x}"

    @app.workflow(version="3")
    async def pipeline(ctx: keel.Context, x: int) -> str:
        y = await ctx.run(flaky, x)
        await ctx.sleep(0.5)
        return await ctx.run(summarize, y)

    assert await app.run(pipeline, 1, org_id="acme", user_id="u-7") == "x=2"
    run = app.store.list_runs(limit=1)[0]
    finished = spans.get_finished_spans()
    names = _by_name(list(finished))
    assert set(names) == {"step flaky", "sleep", "step summarize", "llm.call", "tool.call", "workflow.run"}

    root = names["workflow.run"][0]
    # The root span carries the ids stored with the run when it was created.
    assert f"{root.context.trace_id:032x}" == run.trace_id
    assert f"{root.context.span_id:016x}" == run.span_id
    assert root.parent is None
    assert all(f"{s.context.trace_id:032x}" == run.trace_id for s in finished)

    for name in ("step flaky", "sleep", "step summarize"):
        assert names[name][0].parent.span_id == root.context.span_id, name
    summarize_span = names["step summarize"][0]
    for child in (*names["llm.call"], *names["tool.call"]):
        assert child.parent.span_id == summarize_span.context.span_id

    common = {"workflow.name": "pipeline", "workflow.version": "3", "run.id": run.run_id, "org.id": "acme"}
    for s in finished:
        assert {k: s.attributes.get(k) for k in common} == common, s.name
        assert s.attributes["user.id"] == "u-7"
        assert s.attributes["success"] is True, s.name
        assert "latency.ms" in s.attributes, s.name

    flaky_span = names["step flaky"][0]
    assert flaky_span.attributes["step.seq"] == 0
    assert flaky_span.attributes["step.attempt"] == 3
    assert flaky_span.attributes["step.retries"] == 2
    retries = [e for e in flaky_span.events if e.name == "retry"]
    assert [e.attributes["step.attempt"] for e in retries] == [1, 2]
    assert {e.attributes["error.type"] for e in retries} == {"ConnectionError"}
    # Backoff waits follow the engine's clock, so they are inside the step span: 0.5 s then 1.0 s.
    assert flaky_span.attributes["latency.ms"] == pytest.approx(1500, abs=1)

    gpt = next(s for s in names["llm.call"] if s.attributes["model.name"] == "gpt-test")
    assert gpt.attributes["gen_ai.system"] == "openai"
    assert gpt.attributes["gen_ai.request.model"] == "gpt-test"
    assert gpt.attributes["gen_ai.usage.input_tokens"] == 120
    assert gpt.attributes["gen_ai.usage.output_tokens"] == 30
    assert gpt.attributes["tokens.input"] == 120
    assert gpt.attributes["cost.usd"] == pytest.approx(0.0125)
    assert "gen_ai.prompt" not in gpt.attributes  # content is off unless KEEL_TRACE_CONTENT

    # The step and the run sum their model calls.
    assert summarize_span.attributes["tokens.input"] == 200
    assert summarize_span.attributes["tokens.output"] == 50
    assert summarize_span.attributes["cost.usd"] == pytest.approx(0.02)
    assert root.attributes["cost.usd"] == pytest.approx(0.02)
    assert root.attributes["tokens.input"] == 200
    assert root.attributes["run.status"] == "succeeded"
    assert names["sleep"][0].attributes["latency.ms"] == pytest.approx(500, abs=1)

    # The journal keeps the usage too, so `keel runs explain` works without spans.
    journal = {r.name: r for r in app.store.load_journal(run.run_id)}
    assert journal["summarize"].cost_usd == pytest.approx(0.02)
    assert journal["summarize"].tokens_input == 200
    assert journal["flaky"].cost_usd is None

    # The same spans reach the built-in span store.
    assert app.tracing is not None and app.tracing.flush()
    stored = app.store.spans_for_trace(run.trace_id)
    assert sorted(s.name for s in stored) == sorted(s.name for s in finished)
    # Identical, whether exported or read back (the journal's spans are derived, not copied).
    assert _digest(stored) == _digest(
        [
            {
                "name": s.name,
                "span_id": f"{s.context.span_id:016x}",
                "parent_span_id": f"{s.parent.span_id:016x}" if s.parent else None,
                "start_ns": s.start_time,
                "end_ns": s.end_time,
                "attributes": dict(s.attributes),
                "events": [e.name for e in s.events],
            }
            for s in finished
        ]
    )
    stored_root = next(s for s in stored if s.name == "workflow.run")
    assert stored_root.span_id == run.span_id and stored_root.parent_span_id is None
    assert stored_root.status == "ok" and stored_root.run_id == run.run_id
    stored_flaky = next(s for s in stored if s.name == "step flaky")
    assert [e["name"] for e in stored_flaky.events] == ["retry", "retry"]


async def test_a_failing_run_marks_its_spans_with_the_error(make_app, clock):
    app = make_app(clock=clock)
    spans = capture_spans(app)

    @app.step(name="charge", retry=keel.RetryPolicy(max_attempts=2, initial_backoff=0.1))
    def charge(amount: int) -> None:
        raise ValueError(f"card for jane@example.com declined ({amount})")

    @app.step(name="reserve")
    def reserve() -> str:
        return "r-1"

    @app.workflow()
    async def order(ctx: keel.Context) -> None:
        await ctx.run(reserve)
        await ctx.run(charge, 5)

    handle = app.start(order)
    with pytest.raises(keel.StepFailedError):
        await handle.result()
    names = _by_name(list(spans.get_finished_spans()))
    # Parked in the dead-letter queue: not finished, so no workflow.run span yet.
    assert "workflow.run" not in names
    charge_span = names["step charge"][0]
    assert charge_span.attributes["success"] is False
    assert charge_span.attributes["error.type"] == "ValueError"
    assert charge_span.attributes["step.attempt"] == 2
    assert charge_span.status.status_code.name == "ERROR"
    # Error text on spans is scrubbed: no raw e-mail address.
    assert "jane@example.com" not in (charge_span.status.description or "")
    events = [e.name for e in charge_span.events]
    assert events == ["retry", "attempt failed"]
    assert all("jane@example.com" not in str(e.attributes) for e in charge_span.events)
    assert names["step reserve"][0].attributes["success"] is True

    # Aborting compensates nothing here and ends the run failed: now the run span is emitted.
    app.abort(handle.run_id)
    with pytest.raises(keel.RunFailedError):
        await handle.result()
    root = _by_name(list(spans.get_finished_spans()))["workflow.run"][0]
    assert root.attributes["success"] is False
    assert root.attributes["run.status"] == "failed"
    assert root.attributes["error.type"] == "StepFailedError"
    assert root.status.status_code.name == "ERROR"


async def test_a_run_started_inside_a_traced_request_joins_its_trace(make_app, clock):
    app = make_app(clock=clock)
    spans = capture_spans(app)

    @app.step(name="work")
    def work() -> int:
        return 1

    @app.workflow()
    async def job(ctx: keel.Context) -> int:
        return await ctx.run(work)

    # The caller's own tracing, e.g. a web framework's request span.
    caller = TracerProvider().get_tracer("web")
    with caller.start_as_current_span("POST /jobs") as request:
        handle = app.start(job)
    await handle.result()
    run = handle.get()
    request_ctx = request.get_span_context()
    assert run.trace_id == f"{request_ctx.trace_id:032x}"
    assert run.parent_span_id == f"{request_ctx.span_id:016x}"
    root = _by_name(list(spans.get_finished_spans()))["workflow.run"][0]
    assert root.parent is not None and root.parent.span_id == request_ctx.span_id
    assert root.context.trace_id == request_ctx.trace_id


async def test_replayed_steps_emit_no_second_span(make_app, clock, drive_once):
    app = make_app(clock=clock)
    spans = capture_spans(app)

    @app.step(name="first")
    def first() -> int:
        return 1

    @app.workflow()
    async def two_phase(ctx: keel.Context) -> int:
        a = await ctx.run(first)
        await ctx.sleep(3600)  # releases the run: the second phase replays `first`
        return a

    handle = app.start(two_phase)
    assert await drive_once(app, handle.run_id) == "waiting"
    clock.advance(3601)
    assert await drive_once(app, handle.run_id) == "succeeded"
    names = [s.name for s in spans.get_finished_spans()]
    assert names.count("step first") == 1
    assert names.count("sleep") == 1 and names.count("workflow.run") == 1
    sleep = _by_name(list(spans.get_finished_spans()))["sleep"][0]
    assert sleep.attributes["latency.ms"] == pytest.approx(3_601_000, rel=0.01)


async def test_tracing_off_emits_nothing_and_runs_still_account_usage(db_url, clock):
    app = keel.App("off", db_url, clock=clock, trace_settings=keel.TraceSettings(enabled=False))
    try:

        @app.step()
        def call_model() -> int:
            with llm_call("m", system="openai") as call:
                call.usage(input_tokens=3, output_tokens=4, cost_usd=0.5)
            return 1

        @app.workflow()
        async def wf(ctx: keel.Context) -> int:
            return await ctx.run(call_model)

        assert await app.run(wf) == 1
        assert app.tracing is None
        run = app.store.list_runs(limit=1)[0]
        assert run.trace_id is None
        assert app.store.spans_for_trace(run.run_id.replace("-", "")) == []
        (step,) = app.store.load_journal(run.run_id)
        assert (step.tokens_input, step.tokens_output, step.cost_usd) == (3, 4, 0.5)
        with pytest.raises(keel.UsageError):
            capture_spans(app)
    finally:
        app.close()


def test_content_goes_on_spans_only_when_enabled_and_scrubbed(db_url, clock):
    app = keel.App("content", db_url, clock=clock, trace_settings=keel.TraceSettings(content=True))
    try:
        spans = capture_spans(app)

        @app.step()
        def ask() -> str:
            with llm_call("m", system="openai") as call:
                call.content(prompt="email bob@corp.example please", completion="call +1 415 555 0100")
            return "ok"

        @app.workflow()
        async def wf(ctx: keel.Context) -> str:
            return await ctx.run(ask)

        assert app.run_sync(wf) == "ok"
        llm = next(s for s in spans.get_finished_spans() if s.name == "llm.call")
        assert llm.attributes["gen_ai.prompt"] == "email <EMAIL> please"
        assert "555" not in llm.attributes["gen_ai.completion"]
    finally:
        app.close()


def test_spans_outside_any_run_use_the_global_tracer():
    # No run, no Keel tracer: the API still works (a no-op unless the host configured tracing).
    with llm_call("m", system="openai") as call:
        call.usage(input_tokens=1, output_tokens=1, cost_usd=0.0)
    assert not trace.get_current_span().get_span_context().is_valid


async def test_log_lines_inside_a_step_carry_its_trace_span_and_run(make_app, clock):
    import io
    import json
    import logging

    from keel.observe import configure_logging

    app = make_app(clock=clock)
    spans = capture_spans(app)

    @app.step(name="noisy")
    def noisy() -> int:
        logging.getLogger("myapp").info("charging", extra={"event_type": "myapp.charge", "amount": 5})
        return 1

    @app.workflow()
    async def wf(ctx: keel.Context) -> int:
        return await ctx.run(noisy)

    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    try:
        await app.run(wf)
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    run = app.store.list_runs(limit=1)[0]
    step_span = next(s for s in spans.get_finished_spans() if s.name == "step noisy")
    (charge,) = [line for line in lines if line["event_type"] == "myapp.charge"]
    assert charge["trace_id"] == run.trace_id
    assert charge["span_id"] == f"{step_span.context.span_id:016x}"
    assert charge["run_id"] == run.run_id and charge["amount"] == 5
    (finished,) = [line for line in lines if line["event_type"] == "run.finished"]
    assert finished["run_id"] == run.run_id and finished["status"] == "succeeded"


async def test_engine_spans_are_committed_with_their_checkpoints(make_app, clock, drive_once):
    app = make_app(clock=clock)

    @app.step(name="a")
    def a() -> int:
        return 1

    @app.workflow()
    async def wf(ctx: keel.Context) -> int:
        x = await ctx.run(a)
        await ctx.sleep(3600)
        return x

    handle = app.start(wf)
    assert await drive_once(app, handle.run_id) == "waiting"
    run = handle.get()
    # No flush: step `a`'s span was written in the same transaction as step `a` itself.
    assert [s.name for s in app.store.spans_for_trace(run.trace_id)] == ["step a"]
    clock.advance(3601)
    assert await drive_once(app, handle.run_id) == "succeeded"
    names = sorted(s.name for s in app.store.spans_for_trace(run.trace_id))
    assert names == ["sleep", "step a", "workflow.run"]


async def test_spans_opened_inside_a_step_nest(make_app, clock):
    from keel.observe import span

    app = make_app(clock=clock)
    spans = capture_spans(app)

    @app.step(name="plan")
    async def plan() -> int:
        with span("agent.plan", attempt=1):
            with llm_call("m", system="openai") as call:
                call.usage(input_tokens=1, output_tokens=1, cost_usd=0.001)
        with tool_call("search"):
            pass
        return 1

    @app.workflow()
    async def wf(ctx: keel.Context) -> int:
        with span("workflow.code"):  # the workflow's own code, outside steps
            pass
        return await ctx.run(plan)

    await app.run(wf)
    names = _by_name(list(spans.get_finished_spans()))
    step, outer = names["step plan"][0], names["agent.plan"][0]
    root = names["workflow.run"][0]
    assert outer.parent.span_id == step.context.span_id
    assert names["llm.call"][0].parent.span_id == outer.context.span_id
    assert names["tool.call"][0].parent.span_id == step.context.span_id
    assert names["workflow.code"][0].parent.span_id == root.context.span_id
    assert {s.context.trace_id for s in spans.get_finished_spans()} == {root.context.trace_id}
