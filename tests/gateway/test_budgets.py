"""Budgets end to end: reservations under concurrency, alerts once, the hard stop and its partial result."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fake_servers import FakeOpenAIServer, ReceivedRequest, Reply

import keel
from keel.errors import BudgetExceeded, ConfigError
from keel.gateway.config import load_config
from keel.gateway.gateway import Gateway
from keel.observe import METRICS

MODEL = "gpt-4o-2024-08-06"
PRICE_IN, PRICE_OUT = 2.5, 10.0  # USD per million tokens


def write_config(tmp_path: Path, server: FakeOpenAIServer, budgets: str) -> Path:
    path = tmp_path / "keel.toml"
    path.write_text(
        f"""
[providers.main]
kind = "openai"
base_url = "{server.base_url}"
api_key_env = "TEST_MAIN_KEY"
timeout_s = 5

[models."{MODEL}"]
provider = "main"
input_usd_per_mtok = {PRICE_IN}
output_usd_per_mtok = {PRICE_OUT}

[routes.summarise]
primary = "{MODEL}"

[budgets]
{budgets}
"""
    )
    return path


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MAIN_KEY", "sk-main-test-key-000000000000")


def worst_case(server: FakeOpenAIServer, max_tokens: int, delay_s: float = 0.0) -> Any:
    """A handler answering every call with its whole max_tokens: each call costs its full estimate."""

    def handle(request: ReceivedRequest) -> Reply:
        body = request.json()
        prompt = " ".join(m["content"] for m in body["messages"])
        reply = server.answer("x", input_tokens=len(prompt) // 4, output_tokens=body["max_tokens"])
        reply.delay_s = delay_s
        return reply

    return handle


def register(app: keel.App, max_tokens: int = 100) -> Any:
    @app.workflow()
    async def summarise(ctx: keel.Context, doc: str, parts: int = 1) -> dict[str, Any]:
        done: list[str] = []
        try:
            for i in range(parts):
                answer = await ctx.llm("summarise", f"Summarise part {i}: {doc}", max_tokens=max_tokens)
                done.append(answer.text)
        except BudgetExceeded as exc:
            return {"parts": done, "budget_exceeded": exc.level}
        return {"parts": done, "budget_exceeded": None}

    return summarise


def spent(app: keel.App) -> float:
    return sum(e.cost_usd or 0.0 for r in app.store.list_runs(limit=100) for e in app.store.load_journal(r.run_id))


def test_twenty_concurrent_runs_never_overspend_one_org_budget(
    tmp_path: Path, db_url: str, openai_server: FakeOpenAIServer
) -> None:
    limit = 0.012
    config = write_config(tmp_path, openai_server, f"org_monthly_usd = {limit}")
    app = keel.App("budgets", db_url, gateway=config)
    try:
        wf = register(app)
        # Slow answers, so that all 20 calls are in flight at once and race for the budget.
        openai_server.respond_with(worst_case(openai_server, 100, delay_s=0.2))

        async def main() -> list[dict[str, Any]]:
            return await asyncio.gather(*(app.run(wf, f"doc {i}", org_id="acme") for i in range(20)))

        results = asyncio.run(main())
        answered = [r for r in results if r["budget_exceeded"] is None]
        stopped = [r for r in results if r["budget_exceeded"] == "org_monthly"]
        assert len(answered) + len(stopped) == 20
        assert answered and stopped
        one_call = (12 * PRICE_IN + 100 * PRICE_OUT) / 1e6
        assert spent(app) <= limit + one_call
        assert len(answered) == openai_server.request_count  # a refused call is never sent
        (ledger,) = app.store.budget_ledgers(prefix="org:acme:")
        assert ledger.spent_usd == pytest.approx(spent(app))
        assert ledger.reserved_usd == pytest.approx(0.0, abs=1e-12)
        assert ledger.refusals == len(stopped)
        flags = sorted((r.flags or "") for r in app.store.list_runs(limit=100))
        assert flags.count("budget_exceeded") == len(stopped)
    finally:
        app.close()


def test_the_hard_stop_returns_a_partial_result_and_flags_the_run(
    tmp_path: Path, sqlite_url: str, openai_server: FakeOpenAIServer
) -> None:
    # Each call may cost up to ~$0.00103; three fit in $0.0035, the fourth does not.
    config = write_config(tmp_path, openai_server, "run_usd = 0.0035")
    app = keel.App("budgets", sqlite_url, gateway=config)
    try:
        wf = register(app)
        openai_server.respond_with(worst_case(openai_server, 100))
        out = app.run_sync(wf, "the report", parts=5)
        assert out == {"parts": ["x", "x", "x"], "budget_exceeded": "run"}
        (run,) = app.store.list_runs(limit=1)
        assert run.status == "succeeded" and run.flags == "budget_exceeded"
        refusal = [e for e in app.store.load_journal(run.run_id) if e.name == "llm:summarise"][-1]
        recorded = json.loads(refusal.result or "{}")
        assert recorded["budget_exceeded"]["level"] == "run"
        assert recorded["budget_exceeded"]["limit_usd"] == 0.0035
        assert [d["outcome"] for d in recorded["decisions"]] == ["skipped"]
        assert openai_server.request_count == 3
    finally:
        app.close()


def test_an_uncaught_hard_stop_fails_the_run(tmp_path: Path, sqlite_url: str, openai_server: FakeOpenAIServer) -> None:
    config = write_config(tmp_path, openai_server, "run_tokens = 50")
    app = keel.App("budgets", sqlite_url, gateway=config)
    try:

        @app.workflow()
        async def greedy(ctx: keel.Context) -> str:
            return (await ctx.llm("summarise", "hello", max_tokens=100)).text

        with pytest.raises(keel.RunFailedError) as caught:
            app.run_sync(greedy)
        assert caught.value.details["error_type"] == "BudgetExceeded"
        assert openai_server.request_count == 0
    finally:
        app.close()


def test_a_replay_raises_the_same_refusal_without_asking_the_budget(
    tmp_path: Path, sqlite_url: str, openai_server: FakeOpenAIServer
) -> None:
    config = write_config(tmp_path, openai_server, "run_tokens = 150")
    app = keel.App("budgets", sqlite_url, gateway=config)
    try:
        seen: list[str] = []

        @app.workflow()
        async def two(ctx: keel.Context) -> list[str]:
            first = await ctx.llm("summarise", "one", max_tokens=100)
            try:
                await ctx.llm("summarise", "two", max_tokens=100)
            except BudgetExceeded as exc:
                seen.append(exc.level)
            await ctx.sleep(5)  # suspends the run: the rest runs as a replay
            return [first.text, *seen]

        openai_server.respond_with(worst_case(openai_server, 100))
        handle = app.start(two)
        asyncio.run(handle.result(timeout=30))
        assert seen == ["run", "run"]  # raised live, then again by the replay
        assert openai_server.request_count == 1
        (ledger,) = app.store.budget_ledgers(prefix="run:")
        assert ledger.refusals == 1  # the replay did not ask again
    finally:
        app.close()


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()
    server.server_close()


def test_alerts_fire_once_per_threshold_as_event_metric_and_signed_webhook(
    tmp_path: Path,
    sqlite_url: str,
    openai_server: FakeOpenAIServer,
    webhook: tuple[str, list[tuple[dict[str, str], bytes]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, received = webhook
    monkeypatch.setenv("TEST_HOOK_SECRET", "whsec-test")
    config = write_config(
        tmp_path,
        openai_server,
        f'org_monthly_usd = 0.0105\nalert_webhook_url = "{url}"\nalert_webhook_secret_env = "TEST_HOOK_SECRET"',
    )
    app = keel.App("budgets", sqlite_url, gateway=config)
    try:
        wf = register(app)
        # Each call costs $0.001 (400 input tokens): the tenth passes 95% of $0.0105, the eleventh finds no room.
        openai_server.respond_with(lambda r: openai_server.answer("x", input_tokens=400, output_tokens=0))
        before = {
            p: METRICS.budget_alerts.labels("org_monthly", p)._value.get()  # type: ignore[attr-defined]
            for p in ("50", "80", "95")
        }
        with caplog.at_level(logging.WARNING, logger="keel.gateway.budgets"):
            out = app.run_sync(wf, "d", parts=12, org_id="acme")
        assert out["budget_exceeded"] == "org_monthly" and len(out["parts"]) == 10
        alerts = [r for r in caplog.records if getattr(r, "event_type", None) == "budget.alert"]
        assert [r.threshold for r in alerts] == [0.5, 0.8, 0.95]  # type: ignore[attr-defined]
        for p in ("50", "80", "95"):
            after = METRICS.budget_alerts.labels("org_monthly", p)._value.get()  # type: ignore[attr-defined]
            assert after - before[p] == 1
        app.close()  # waits for the webhook to have everything
        assert [json.loads(body)["threshold"] for _, body in received] == [0.5, 0.8, 0.95]
        headers, body = received[0]
        expected = hmac.new(b"whsec-test", body, hashlib.sha256).hexdigest()
        assert headers["x-keel-signature"] == f"sha256={expected}"
        assert json.loads(body)["budget"].startswith("org:acme:month:")
    finally:
        app.close()


def test_budgets_by_user_and_by_tag(tmp_path: Path, sqlite_url: str, openai_server: FakeOpenAIServer) -> None:
    config = write_config(
        tmp_path,
        openai_server,
        'user_daily_tokens = 10000\n[budgets.tags."workflow:summarise@1"]\ntokens = 250\nperiod = "run"\n'
        '[budgets.tags."tool:search"]\nusd = 1.0\nperiod = "day"',
    )
    app = keel.App("budgets", sqlite_url, gateway=config)
    try:

        @app.workflow()
        async def summarise(ctx: keel.Context) -> str:
            await ctx.llm("summarise", "a", max_tokens=100, tags=["tool:search"])
            await ctx.llm("summarise", "b", max_tokens=100)
            try:
                await ctx.llm("summarise", "c", max_tokens=100)
            except BudgetExceeded as exc:
                return exc.level
            return "no stop"

        openai_server.respond_with(worst_case(openai_server, 100))
        assert app.run_sync(summarise, user_id="ann") == "tag:workflow:summarise@1"
        keys = {ledger.key.split(":")[0] + ":" + ledger.level for ledger in app.store.budget_ledgers()}
        assert keys == {"user:user_daily", "tag:tag:workflow:summarise@1", "tag:tag:tool:search"}
        (tool,) = app.store.budget_ledgers(prefix="tag:tool:search:day:")
        assert tool.calls == 1  # only the call that carried the tag
    finally:
        app.close()


def test_budgets_need_the_database(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    config = load_config(write_config(tmp_path, openai_server, "run_usd = 1.0"))
    assert config is not None
    with pytest.raises(ConfigError, match="Keel's database"):
        Gateway(config, store=None)
