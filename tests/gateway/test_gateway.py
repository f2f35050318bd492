"""ctx.llm end to end: routes, fallbacks, breakers, schemas and replay, against local wire-format servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_servers import FakeAnthropicServer, FakeOpenAIServer, http_date
from pydantic import BaseModel

import keel
from keel.engine.ports import LlmResult
from keel.errors import UsageError
from keel.gateway.gateway import BREAKER_THRESHOLD
from keel.testing import SkippingClock, capture_spans

PRIMARY = "gpt-4o-2024-08-06"
FALLBACK = "claude-3-5-sonnet-20241022"


def write_config(tmp_path: Path, openai: FakeOpenAIServer, anthropic: FakeAnthropicServer) -> Path:
    path = tmp_path / "keel.toml"
    path.write_text(
        f"""
[providers.main]
kind = "openai"
base_url = "{openai.base_url}"
api_key_env = "TEST_MAIN_KEY"
timeout_s = 2

[providers.backup]
kind = "anthropic"
base_url = "{anthropic.base_url}"
api_key_env = "TEST_BACKUP_KEY"
timeout_s = 2

[models."{PRIMARY}"]
provider = "main"
input_usd_per_mtok = 2.5
output_usd_per_mtok = 10.0

[models."{FALLBACK}"]
provider = "backup"
input_usd_per_mtok = 3.0
output_usd_per_mtok = 15.0

[routes.triage]
primary = "{PRIMARY}"
fallbacks = ["{FALLBACK}"]
"""
    )
    return path


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The providers' keys, from the environment as in production."""
    monkeypatch.setenv("TEST_MAIN_KEY", "sk-main-test-key-000000000000")
    monkeypatch.setenv("TEST_BACKUP_KEY", "sk-backup-test-key-00000000000")


@pytest.fixture
def app(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    config = write_config(tmp_path, openai_server, anthropic_server)
    application = keel.App("gw", f"sqlite:///{tmp_path / 'keel.db'}", clock=SkippingClock(), gateway=config)
    yield application
    application.close()


def register(app: keel.App) -> Any:
    @app.workflow()
    async def triage(ctx: keel.Context, ticket: str) -> dict[str, Any]:
        result = await ctx.llm("triage", f"Classify: {ticket}", system="You triage tickets.", max_tokens=50)
        return {"text": result.text, "model": result.model, "cost": result.cost_usd, "decisions": result.decisions}

    return triage


def test_the_primary_answers(app: keel.App, openai_server: FakeOpenAIServer, anthropic_server: Any) -> None:
    wf = register(app)
    openai_server.script(openai_server.answer("billing", input_tokens=1000, output_tokens=200))
    out = app.run_sync(wf, "refund please")
    assert out["text"] == "billing" and out["model"] == PRIMARY
    assert out["cost"] == pytest.approx((1000 * 2.5 + 200 * 10.0) / 1e6)
    assert [d["outcome"] for d in out["decisions"]] == ["ok"]
    sent = openai_server.last_request
    assert sent.headers["authorization"] == "Bearer sk-main-test-key-000000000000"
    body = sent.json()
    assert body["model"] == PRIMARY and body["max_tokens"] == 50
    assert body["messages"][0] == {"role": "system", "content": "You triage tickets."}
    assert anthropic_server.request_count == 0
    # The step's journal entry carries the usage; the run's cost is the sum.
    run = app.store.list_runs(limit=1)[0]
    (entry,) = [e for e in app.store.load_journal(run.run_id) if e.name == "llm:triage"]
    assert (entry.tokens_input, entry.tokens_output) == (1000, 200)


def test_a_failing_primary_falls_back_and_the_trace_shows_it(
    app: keel.App, openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer
) -> None:
    wf = register(app)
    spans = capture_spans(app)
    openai_server.script(openai_server.error(503, "overloaded"))
    anthropic_server.script(anthropic_server.answer("billing", input_tokens=100, output_tokens=10))
    out = app.run_sync(wf, "refund please")
    assert out["model"] == FALLBACK
    assert out["cost"] == pytest.approx((100 * 3.0 + 10 * 15.0) / 1e6)
    assert [(d["model"], d["outcome"]) for d in out["decisions"]] == [(PRIMARY, "failed"), (FALLBACK, "ok")]
    assert "503" in out["decisions"][0]["reason"]
    calls = [s for s in spans.get_finished_spans() if s.name == "llm.call"]
    assert [(c.attributes["model.name"], c.attributes["success"]) for c in calls] == [
        (PRIMARY, False),
        (FALLBACK, True),
    ]
    step = next(s for s in spans.get_finished_spans() if s.name == "step llm:triage")
    assert all(c.parent.span_id == step.context.span_id for c in calls)
    assert calls[1].attributes["gen_ai.system"] == "anthropic"


def test_a_request_error_does_not_fall_back_and_parks_the_run(
    app: keel.App, openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer
) -> None:
    wf = register(app)
    openai_server.respond_with(lambda request: openai_server.error(400, "max_tokens is too large"))
    handle = app.start(wf, "refund")
    with pytest.raises(keel.StepFailedError):
        import asyncio

        asyncio.run(handle.result())
    run = handle.get()
    assert run.status == "dead_letter"
    error = json.loads(run.error or "{}")
    assert "ProviderRequestError" in error["message"] and "max_tokens is too large" in error["message"]
    assert openai_server.request_count == 1  # not retried: retrying cannot fix our request
    assert anthropic_server.request_count == 0
    # The API key never reaches the journal.
    assert "sk-main-test-key" not in (run.error or "")


def test_retry_after_is_honoured_by_skipping_the_model(
    app: keel.App, openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer
) -> None:
    wf = register(app)
    openai_server.script(openai_server.error(429, "slow down", headers={"Retry-After": http_date(120)}))
    first = app.run_sync(wf, "a")
    assert [d["outcome"] for d in first["decisions"]] == ["failed", "ok"]
    second = app.run_sync(wf, "b")
    assert (second["decisions"][0]["outcome"], second["decisions"][0]["reason"]) == (
        "skipped",
        "rate limited (Retry-After)",
    )
    assert openai_server.request_count == 1


def test_the_circuit_opens_after_repeated_failures(
    app: keel.App, openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer
) -> None:
    wf = register(app)
    openai_server.respond_with(lambda request: openai_server.error(500, "boom"))
    for i in range(BREAKER_THRESHOLD):
        assert app.run_sync(wf, f"t{i}")["model"] == FALLBACK
    assert openai_server.request_count == BREAKER_THRESHOLD
    out = app.run_sync(wf, "next")
    assert (out["decisions"][0]["outcome"], out["decisions"][0]["reason"]) == ("skipped", "circuit open")
    assert openai_server.request_count == BREAKER_THRESHOLD  # the open circuit sent nothing


def test_a_replayed_run_makes_no_network_call(
    app: keel.App, openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer
) -> None:
    import asyncio

    @app.workflow()
    async def slow(ctx: keel.Context) -> str:
        answer = await ctx.llm("triage", "hello")
        await ctx.sleep(3600)  # the run is released here and replayed when the timer fires
        return answer.text

    openai_server.script(openai_server.answer("first answer"))
    handle = app.start(slow)

    async def drive() -> str:
        return str(await handle.result())

    assert asyncio.run(drive()) == "first answer"
    assert openai_server.request_count == 1
    transitions = [t["to_status"] for t in app.store.transitions(handle.run_id)]
    assert "waiting" in transitions  # it was suspended and replayed from the journal


class Ticket(BaseModel):
    category: str
    urgent: bool


def test_a_schema_answer_is_validated_and_corrected(app: keel.App, openai_server: FakeOpenAIServer) -> None:
    @app.workflow()
    async def classify(ctx: keel.Context) -> dict[str, Any]:
        result = await ctx.llm("triage", "classify this", schema=Ticket)
        assert isinstance(result.data, Ticket)
        return {"data": result.data.model_dump(), "in": result.input_tokens}

    openai_server.script(
        openai_server.answer("sure! category billing", input_tokens=7),
        openai_server.answer('{"category": "billing", "urgent": true}', input_tokens=9),
    )
    out = app.run_sync(classify)
    assert out == {"data": {"category": "billing", "urgent": True}, "in": 16}  # both attempts are paid for
    first, second = (r.json() for r in openai_server.requests)
    assert first["response_format"]["type"] == "json_schema"
    assert second["messages"][-2] == {"role": "assistant", "content": "sure! category billing"}
    assert "not valid JSON for the required schema" in second["messages"][-1]["content"]


def test_an_answer_that_never_fits_the_schema_parks_the_run(app: keel.App, openai_server: FakeOpenAIServer) -> None:
    import asyncio

    @app.workflow()
    async def classify(ctx: keel.Context) -> str:
        return (await ctx.llm("triage", "classify this", schema=Ticket)).text

    openai_server.respond_with(lambda request: openai_server.answer("no json here"))
    handle = app.start(classify)
    with pytest.raises(keel.StepFailedError):
        asyncio.run(handle.result())
    assert "SchemaValidationError" in json.loads(handle.get().error or "{}")["message"]
    assert openai_server.request_count == 3  # the answer and two corrections, not retried again


def test_llm_result_survives_the_journal_typed(app: keel.App, openai_server: FakeOpenAIServer) -> None:
    @app.workflow()
    async def wf(ctx: keel.Context) -> bool:
        result = await ctx.llm("triage", "x")
        return isinstance(result, LlmResult) and result.usage["input_tokens"] > 0

    assert app.run_sync(wf) is True


def test_an_unknown_route_and_a_missing_gateway_are_clear_errors(tmp_path: Path, app: keel.App) -> None:
    @app.workflow()
    async def wrong(ctx: keel.Context) -> str:
        return (await ctx.llm("no-such-task", "x")).text

    # Parked, not failed: fixing keel.toml and `keel runs resume` carries the run on.
    with pytest.raises(keel.StepFailedError, match="no route 'no-such-task' in keel.toml"):
        app.run_sync(wrong)

    bare = keel.App("bare", f"sqlite:///{tmp_path / 'bare.db'}", gateway=tmp_path / "missing.toml")
    try:
        with pytest.raises(keel.ConfigError):
            _ = bare.gateway
    finally:
        bare.close()


def test_ctx_llm_rejects_bad_arguments(app: keel.App) -> None:
    @app.workflow()
    async def bad(ctx: keel.Context) -> str:
        return (await ctx.llm("triage")).text

    with pytest.raises(keel.RunFailedError, match="exactly one of prompt=, messages= or template=") as caught:
        app.run_sync(bad)
    assert caught.value.details["error_type"] == UsageError.__name__


def test_a_pinned_prompt_template_is_rendered_and_recorded(
    tmp_path: Path, app: keel.App, openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "classify@1.j2").write_text('{# vars = { ticket = "str" } #}\nOld wording: {{ ticket }}')
    (prompts / "classify@2.j2").write_text('{# vars = { ticket = "str" } #}\nClassify the ticket: {{ ticket }}')
    monkeypatch.setenv("KEEL_PROMPTS_DIR", str(prompts))
    # A fresh app, so its gateway picks the prompts directory up.
    pinned = keel.App(
        "gw2",
        f"sqlite:///{tmp_path / 'pinned.db'}",
        clock=SkippingClock(),
        gateway=tmp_path / "keel.toml",
    )
    try:

        @pinned.workflow(version="7", prompts={"classify": "2"})
        async def classify(ctx: keel.Context, ticket: str) -> dict[str, Any]:
            result = await ctx.llm("triage", template="classify", vars={"ticket": ticket}, system="Be brief.")
            assert result.prompt is not None
            return result.prompt

        record = pinned.run_sync(classify, "{{ 7*7 }} refund")
        sent = openai_server.last_request.json()["messages"]
        assert sent == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Classify the ticket: {{ 7*7 }} refund"},  # a value is never a template
        ]
        import hashlib

        expected = hashlib.sha256((prompts / "classify@2.j2").read_bytes()).hexdigest()
        assert record == {"name": "classify", "version": "2", "sha256": expected}

        @pinned.workflow(name="unpinned")
        async def unpinned(ctx: keel.Context) -> str:
            return (await ctx.llm("triage", template="classify", vars={"ticket": "x"})).text

        with pytest.raises(keel.RunFailedError, match="not pinned by workflow 'unpinned'"):
            pinned.run_sync(unpinned)
    finally:
        pinned.close()


def _route_app(tmp_path: Path, openai: FakeOpenAIServer, anthropic: FakeAnthropicServer, extra: str) -> keel.App:
    path = write_config(tmp_path, openai, anthropic)
    path.write_text(path.read_text() + extra)
    return keel.App("limits", f"sqlite:///{tmp_path / 'limits.db'}", clock=SkippingClock(), gateway=path)


def test_a_route_cost_limit_skips_models_that_could_cost_more(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1000 answer tokens cost at most $0.010 on the primary ($10/Mtok) and $0.015 on the fallback.
    app = _route_app(
        tmp_path,
        openai_server,
        anthropic_server,
        '\n[routes.cheap]\nprimary = "' + FALLBACK + '"\nfallbacks = ["' + PRIMARY + '"]\nmax_cost_usd = 0.012\n',
    )
    try:

        @app.workflow()
        async def wf(ctx: keel.Context) -> list[Any]:
            return (await ctx.llm("cheap", "hi", max_tokens=1000)).decisions

        decisions = app.run_sync(wf)
        assert [(d["model"], d["outcome"]) for d in decisions] == [(FALLBACK, "skipped"), (PRIMARY, "ok")]
        assert "max_cost_usd" in decisions[0]["reason"]
        assert anthropic_server.request_count == 0

        @app.workflow()
        async def too_big(ctx: keel.Context) -> str:
            return (await ctx.llm("cheap", "hi", max_tokens=100_000)).text

        with pytest.raises(keel.StepFailedError, match="could cost more than its max_cost_usd"):
            app.run_sync(too_big)
        assert openai_server.request_count == 1
    finally:
        app.close()


def test_a_route_latency_budget_caps_each_attempt(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fake_servers import Reply

    app = _route_app(
        tmp_path,
        openai_server,
        anthropic_server,
        '\n[routes.fast]\nprimary = "' + PRIMARY + '"\nfallbacks = ["' + FALLBACK + '"]\nmax_latency_ms = 300\n',
    )
    try:
        openai_server.script(Reply(delay_s=1.5, json=openai_server.completion("late")))

        @app.workflow()
        async def wf(ctx: keel.Context) -> list[Any]:
            return (await ctx.llm("fast", "hi")).decisions

        decisions = app.run_sync(wf)
        assert [(d["model"], d["outcome"]) for d in decisions] == [(PRIMARY, "failed"), (FALLBACK, "ok")]
        assert "ProviderUnavailable" in decisions[0]["reason"]
    finally:
        app.close()


def test_the_exact_cache_serves_identical_requests_per_org_until_they_expire(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = SkippingClock()
    path = write_config(tmp_path, openai_server, anthropic_server)
    path.write_text(path.read_text() + f'\n[routes.faq]\nprimary = "{PRIMARY}"\ncache_ttl_s = 600\n')
    app = keel.App("cache", f"sqlite:///{tmp_path / 'cache.db'}", clock=clock, gateway=path)
    spans = capture_spans(app)
    try:

        @app.workflow()
        async def ask(ctx: keel.Context, question: str) -> dict[str, Any]:
            r = await ctx.llm("faq", question)
            return {"text": r.text, "cached": r.cached, "cost": r.cost_usd, "in": r.input_tokens}

        openai_server.respond_with(lambda request: openai_server.answer("42", input_tokens=50, output_tokens=2))
        first = app.run_sync(ask, "what is the answer?", org_id="acme")
        assert first["cached"] is False and first["cost"] > 0
        second = app.run_sync(ask, "what is the answer?", org_id="acme")
        assert second == {"text": "42", "cached": True, "cost": 0.0, "in": 0}
        assert openai_server.request_count == 1
        hit = [s for s in spans.get_finished_spans() if s.name == "llm.call"][-1]
        assert hit.attributes["cache.hit"] is True and hit.attributes["cost.usd"] == 0

        # Another org never sees acme's answers; a different question is a miss.
        assert app.run_sync(ask, "what is the answer?", org_id="globex")["cached"] is False
        assert app.run_sync(ask, "another question?", org_id="acme")["cached"] is False
        assert openai_server.request_count == 3

        # Expired after its TTL.
        clock.advance(601)
        assert app.run_sync(ask, "what is the answer?", org_id="acme")["cached"] is False
        assert openai_server.request_count == 4

        # Inputs holding PII are never cached, neither read nor written.
        for _ in range(2):
            assert app.run_sync(ask, "mail jane@example.com the answer", org_id="acme")["cached"] is False
        assert openai_server.request_count == 6
        # The journal marks the hit: the run that was served from the cache has a zero-cost entry.
        run = next(r for r in app.store.list_runs(limit=50) if json.loads(r.result or "{}").get("cached"))
        (entry,) = [e for e in app.store.load_journal(run.run_id) if e.name == "llm:faq"]
        assert json.loads(entry.result or "{}")["cached"] is True and entry.cost_usd is None
    finally:
        app.close()
