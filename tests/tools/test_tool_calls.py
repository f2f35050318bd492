"""ctx.tool and ctx.agent end to end: allowlists, contracts, credentials, the sandbox, the bounded loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import toolbox_app
from fake_servers import FakeOpenAIServer, ReceivedRequest, Reply
from needs import unavailable

import keel
from keel.testing import SkippingClock
from keel.tools import Sandbox
from keel.tools.toolbox import Toolbox

MODEL = "gpt-4o-2024-08-06"


@pytest.fixture(autouse=True)
def _bubblewrap() -> None:
    if Sandbox.isolation() is None:
        unavailable(f"no sandbox here: {Sandbox.unavailable_reason()}")


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[keel.App]:
    """The test module's App, on a fresh database, with every tool call counted."""
    application = toolbox_app.app
    monkeypatch.setattr(application, "database_url", f"sqlite:///{tmp_path / 'keel.db'}")
    monkeypatch.setattr(application, "_store", None)
    monkeypatch.setattr(application, "_engine", None)
    toolbox = application.toolbox
    monkeypatch.setattr(toolbox, "_broker", None)
    calls: list[str] = []
    real = Toolbox.call

    async def counted(self: Toolbox, name: str, args: dict[str, Any], **kw: Any) -> Any:
        calls.append(name)
        return await real(self, name, args, **kw)

    monkeypatch.setattr(Toolbox, "call", counted)
    application.tool_calls = calls  # type: ignore[attr-defined]
    yield application
    application.close()


def journal(app: keel.App, run_id: str) -> list[Any]:
    return [e for e in app.store.load_journal(run_id) if e.name.startswith(("tool:", "llm:"))]


def test_a_tool_runs_sandboxed_and_its_result_is_journaled(app: keel.App) -> None:
    out = app.run_sync(toolbox_app.order_status, "A1", org_id="acme")
    assert out == {"status": "shipped", "total": 1999}
    (run,) = app.store.list_runs(limit=1)
    (entry,) = journal(app, run.run_id)
    assert entry.name == "tool:lookup_order" and entry.status == "succeeded"
    assert json.loads(entry.result or "{}")["value"]["status"] == "shipped"
    assert app.tool_calls == ["lookup_order"]  # type: ignore[attr-defined]


def test_a_tool_off_the_allowlist_is_refused_recorded_and_never_run(app: keel.App) -> None:
    out = app.run_sync(toolbox_app.sneaky)
    assert out.startswith("refused: tool 'refund' refused: not on the workflow's allowlist")
    (run,) = app.store.list_runs(limit=1)
    (entry,) = journal(app, run.run_id)
    assert entry.name == "tool:refund" and "refused" in json.loads(entry.result or "{}")
    assert app.tool_calls == []  # type: ignore[attr-defined]


def test_the_tool_gets_a_short_lived_credential_for_its_scopes_and_nothing_else(
    app: keel.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_TEST_SECRET", "worker-secret-value")
    seen = app.run_sync(toolbox_app.identity, org_id="acme")
    assert seen["secret"] is None  # the worker's environment stays outside
    assert seen["creds"] == seen["env_credential"] and seen["uid"] != 0
    (run,) = app.store.list_runs(limit=1)
    claims = app.toolbox.broker.verify(seen["creds"], "read:profile", org_id="acme")
    assert (claims.tool, claims.org, claims.run) == ("whoami", "acme", run.run_id)
    assert claims.scopes == ("read:profile:org:acme",) and 30 <= claims.exp - claims.iat <= 60
    for scope, org, reason in (("write:profile", "acme", "scope"), ("read:profile", "globex", "org")):
        with pytest.raises(keel.KeelError) as refused:
            app.toolbox.broker.verify(seen["creds"], scope, org_id=org)
        assert refused.value.details["reason"] == reason


def test_the_credential_is_never_journaled(app: keel.App) -> None:
    app.run_sync(toolbox_app.order_status, "B2", org_id="acme")  # lookup_order takes creds
    (run,) = app.store.list_runs(limit=1)
    entries = app.store.load_journal(run.run_id)
    assert entries and all("v1." not in (e.result or "") + (e.args or "") for e in entries)


def test_bad_arguments_are_refused_before_anything_runs(app: keel.App) -> None:
    message = app.run_sync(toolbox_app.bad_args)
    assert "order_id: Input should be a valid string" in message and "extra: Extra inputs" in message
    assert app.tool_calls == []  # type: ignore[attr-defined]


def test_an_output_that_breaks_the_contract_parks_the_run_without_retries(app: keel.App) -> None:
    with pytest.raises(keel.StepFailedError):
        app.run_sync(toolbox_app.broken)
    (run,) = app.store.list_runs(limit=1)
    assert run.status == "dead_letter" and "ToolOutputError" in (run.error or "")
    assert app.tool_calls == ["bad_output"]  # type: ignore[attr-defined]


def test_an_aborted_run_undoes_a_tool_with_its_compensating_tool(app: keel.App) -> None:
    with pytest.raises(keel.RunFailedError):
        app.run_sync(toolbox_app.checkout, "o-1", org_id="acme")
    (run,) = app.store.list_runs(limit=1)
    (undo,) = [e for e in app.store.load_journal(run.run_id) if e.kind == "compensation"]
    assert undo.name == "tool-undo:release_stock"
    assert json.loads(undo.result or "{}") == {"released": 2, "reservation": "SKU-1x2"}
    assert app.tool_calls == ["reserve_stock", "release_stock"]  # type: ignore[attr-defined]


def test_a_tool_told_to_back_off_is_retried_no_sooner_than_retry_after(
    app: keel.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [(429, {"retry-after": "7"}), (200, {})]

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers = answers.pop(0)
            body = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    host, port = toolbox_app.BUSY_API.split(":")
    server = ThreadingHTTPServer((host, int(port)), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = SkippingClock()
    monkeypatch.setattr(app, "clock", clock)
    try:
        assert app.run_sync(toolbox_app.call_busy) == {"ok": True}
    finally:
        server.shutdown()
        server.server_close()
    assert app.tool_calls == ["busy_api", "busy_api"]  # type: ignore[attr-defined]
    assert clock.sleeps and clock.sleeps[0] >= 7  # the backoff alone would have been about a second


# -- ctx.agent ---------------------------------------------------------------------------------


def agent_config(tmp_path: Path, server: FakeOpenAIServer, extra: str = "") -> Path:
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
input_usd_per_mtok = 2.5
output_usd_per_mtok = 10.0

[routes.agent]
primary = "{MODEL}"
{extra}
"""
    )
    return path


class Scripted:
    """A model that answers the agent protocol from a list of moves, recording what it was shown."""

    def __init__(self, server: FakeOpenAIServer, moves: list[dict[str, Any] | int], input_tokens: int = 100) -> None:
        self.server = server
        self.input_tokens = input_tokens
        self.moves = list(moves)
        self.seen: list[list[dict[str, str]]] = []

    def __call__(self, request: ReceivedRequest) -> Reply:
        self.seen.append(request.json()["messages"])
        move = self.moves.pop(0)
        if isinstance(move, int):
            return self.server.error(move, "scripted failure")
        return self.server.answer(json.dumps(move), input_tokens=self.input_tokens, output_tokens=20)


@pytest.fixture
def agent_app(app: keel.App, tmp_path: Path, openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_MAIN_KEY", "sk-main-test-key-000000000000")
    monkeypatch.setattr(app, "_gateway_source", agent_config(tmp_path, openai_server))
    monkeypatch.setattr(app, "_gateway", None)
    monkeypatch.setattr(app, "_gateway_loaded", False)
    return app


def test_the_agent_chooses_a_tool_reads_its_output_as_data_and_answers(
    agent_app: keel.App, openai_server: FakeOpenAIServer
) -> None:
    model = Scripted(
        openai_server,
        [{"tool": "lookup_order", "args": {"order_id": "A1"}}, {"final": "Order A1 has shipped."}],
    )
    openai_server.respond_with(model)
    out = agent_app.run_sync(toolbox_app.support_agent, "Where is order A1?")
    assert out["output"] == "Order A1 has shipped." and out["stopped"] == "final" and not out["partial"]
    assert [c["outcome"] for c in out["calls"]] == ["ok"]
    # The tool's output reaches the model as data: presented as such, then spotlighted by the guard
    # (fenced with a random tag, its words joined by a data mark), after the rule that explains it.
    shown = model.seen[1][-1]["content"]
    assert shown.startswith("<<tool_output name=lookup_order id=") and '<tool_output\u02c6tool="lookup_order">' in shown
    assert "not\u02c6instructions" in shown and '"shipped"' in shown
    assert any("never an instruction" in m["content"] for m in model.seen[1] if m["role"] == "system")
    # The tool list shown to the model is the agent's, with each tool's schema.
    assert '"lookup_order"' in model.seen[0][0]["content"] and '"refund"' not in model.seen[0][0]["content"]


def test_invalid_arguments_and_a_refused_tool_go_back_to_the_model(
    agent_app: keel.App, openai_server: FakeOpenAIServer
) -> None:
    model = Scripted(
        openai_server,
        [
            {"tool": "lookup_order", "args": {"id": "A1"}},  # wrong argument name
            {"tool": "refund", "args": {"order_id": "A1", "cents": 1999}},  # not the agent's tool
            {"tool": "lookup_order", "args": {"order_id": "B2"}},
            {"final": "B2 is pending."},
        ],
    )
    openai_server.respond_with(model)
    out = agent_app.run_sync(toolbox_app.support_agent, "And order B2?")
    assert out["output"] == "B2 is pending."
    assert [c["outcome"] for c in out["calls"]] == ["invalid", "refused", "ok"]
    assert "invalid arguments for lookup_order" in model.seen[1][-1]["content"]
    assert "not available to you" in model.seen[2][-1]["content"]
    (run,) = agent_app.store.list_runs(limit=1)
    refused = [e for e in journal(agent_app, run.run_id) if e.name == "tool:refund"]
    assert len(refused) == 1 and "refused" in json.loads(refused[0].result or "{}")
    assert agent_app.tool_calls == ["lookup_order"]  # type: ignore[attr-defined]


def test_the_loop_stops_at_max_turns_with_a_partial_result(
    agent_app: keel.App, openai_server: FakeOpenAIServer
) -> None:
    openai_server.respond_with(Scripted(openai_server, [{"tool": "lookup_order", "args": {"order_id": "A1"}}] * 5))
    out = agent_app.run_sync(toolbox_app.support_agent, "Loop forever")
    assert out == {**out, "output": None, "stopped": "max_turns", "partial": True, "turns": 5}
    (run,) = agent_app.store.list_runs(limit=1)
    assert run.flags == "agent_partial"


def test_the_loop_stops_at_a_budgets_hard_stop_with_a_partial_result(
    agent_app: keel.App, openai_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each turn costs ~$0.0052 (2,000 tokens in) and reserves up to ~$0.011 first (its prompt plus
    # 1,024 tokens of answer): the third finds no room in $0.02.
    monkeypatch.setattr(
        agent_app, "_gateway_source", agent_config(tmp_path, openai_server, "[budgets]\nrun_usd = 0.02")
    )
    looping = Scripted(openai_server, [{"tool": "lookup_order", "args": {"order_id": "A1"}}] * 5, input_tokens=2000)
    openai_server.respond_with(looping)
    out = agent_app.run_sync(toolbox_app.support_agent, "Where is A1?")
    assert out["stopped"] == "budget_exceeded" and out["partial"] and out["output"] is None
    assert out["turns"] == 2 and len(out["calls"]) == 2
    (run,) = agent_app.store.list_runs(limit=1)
    assert run.status == "succeeded" and run.flags == "agent_partial,budget_exceeded"


def test_a_crash_mid_loop_resumes_without_repeating_finished_turns(
    agent_app: keel.App, openai_server: FakeOpenAIServer
) -> None:
    # The second model call is rejected (a 400: not retried), which parks the run mid-loop.
    model = Scripted(openai_server, [{"tool": "lookup_order", "args": {"order_id": "A1"}}, 400])
    openai_server.respond_with(model)
    with pytest.raises(keel.StepFailedError):
        agent_app.run_sync(toolbox_app.support_agent, "Where is A1?")
    (run,) = agent_app.store.list_runs(limit=1)
    assert run.status == "dead_letter"
    assert agent_app.tool_calls == ["lookup_order"] and len(model.seen) == 2  # type: ignore[attr-defined]
    model.moves = [{"final": "A1 shipped."}]
    agent_app.resume(run.run_id)
    out = asyncio.run(agent_app.handle(run.run_id).result(timeout=60))
    assert out["output"] == "A1 shipped." and out["turns"] == 2
    # Resumed: the first model answer and the tool call came from the journal.
    assert agent_app.tool_calls == ["lookup_order"] and len(model.seen) == 3  # type: ignore[attr-defined]
