"""The engine's audit trail: events committed with the checkpoints they record, sealed into the signed chain."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

import keel
from keel.gateway.config import GatewayConfig
from keel.gateway.gateway import Gateway
from keel.gateway.providers import ScriptedProvider
from keel.governance.audit import AuditLog
from keel.governance.outbox import seal
from keel.store import open_store, outbox
from keel.store import schema as t
from keel.store.base import Claim

MODEL = "local-model-2025-01-01"


def _gateway(app: keel.App) -> None:
    config = GatewayConfig.from_dict(
        {
            "providers": {"local": {"kind": "scripted"}},
            "models": {MODEL: {"provider": "local", "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0}},
            "routes": {"answer": {"primary": MODEL}},
        }
    )
    provider = ScriptedProvider("local", responses=[{"text": "Your refund is on its way."}])
    gateway = Gateway(config, store=app.store, providers={"local": provider})
    app._gateway_source = gateway
    app._gateway = gateway
    app._gateway_loaded = True


def _entries(app: keel.App) -> list[Any]:
    return list(AuditLog(app.store, signer=None).entries())


def _new_run(store: Any, lease_owner: str | None = None) -> str:
    run_id, _ = store.create_run(
        run_id=str(uuid.uuid4()),
        workflow_name="wf",
        workflow_version="1",
        input_json="{}",
        idempotency_key=None,
        org_id=None,
        user_id=None,
        target=None,
        now=1.0,
        lease_owner=lease_owner,
        lease_ttl=30.0,
    )
    return str(run_id)


def _outbox_count(store: Any) -> int:
    return int(store.read(lambda c: c.execute(select(func.count()).select_from(t.audit_outbox)).scalar_one()))


def test_a_run_is_audited_from_start_to_end_with_its_model_call(make_app: Any) -> None:
    app = make_app()
    _gateway(app)

    @app.step(name="note")
    def note(text: str) -> str:
        return text.upper()

    @app.workflow(name="support")
    async def support(ctx: keel.Context, email: str) -> str:
        answer = await ctx.llm("answer", f"Tell {email} about the refund.")
        return str(await ctx.run(note, answer.text))

    handle = app.start(support, org_id="acme", user_id="u-17", email="jane.doe@example.com")
    assert asyncio.run(handle.result(timeout=60)) == "YOUR REFUND IS ON ITS WAY."
    app.close()  # stops the sealer, which seals what is left

    store = open_store(app.database_url)
    try:
        log = AuditLog(store, signer=None)
        entries = [e for e in log.entries() if e.resource == f"run:{handle.run_id}" or e.action.startswith("llm:")]
        states = [e.action for e in entries if e.event_type == "run.state"]
        assert states[0] == "new->pending" and states[-1].endswith("->succeeded"), states
        assert entries[0].actor.as_dict() == {"kind": "user", "id": "u-17"}  # who started the run
        assert all(e.trace_id for e in entries)
        (call,) = [e for e in entries if e.event_type == "llm.call"]
        data = call.data
        assert call.action == "llm:answer" and call.decision == "allow"
        assert call.actor.as_dict() == {"kind": "agent", "id": "support"}
        assert data["model"] == MODEL and data["input_tokens"] > 0 and data["cost_usd"] > 0
        assert len(data["request_sha256"]) == 64
        assert "jane.doe@example.com" not in json.dumps(data)  # a hash and counts, never the prompt
        assert _outbox_count(store) == 0
        assert log.verify().ok
    finally:
        store.close()


def test_a_checkpoint_that_loses_its_fence_writes_no_audit_record(db_url: str) -> None:
    store = open_store(db_url)
    try:
        run_id = _new_run(store, lease_owner="w1")
        row = outbox.row(run_id, 2.0, event_type="tool.call", action="tool:refund")
        stale = Claim(run_id=run_id, fencing_token=999, takeover=False)
        lost = asyncio.run(store.acheckpoint(stale, run_values={"step_count": 1}, now=2.0, audit=[row]))
        assert lost is None
        events = store.read(lambda c: [json.loads(x) for x in c.execute(select(t.audit_outbox.c.event)).scalars()])
        assert [e["action"] for e in events] == ["new->running"]  # the run's start only
    finally:
        store.close()


def test_sealers_in_two_processes_chain_every_event_exactly_once(db_url: str) -> None:
    first, second = open_store(db_url), open_store(db_url)
    try:
        run_id = _new_run(first)
        rows = [outbox.row(run_id, 2.0, event_type="tool.call", action=f"tool:t{i}") for i in range(300)]
        first.write(lambda conn: outbox.insert(conn, rows))
        logs = [AuditLog.from_env(first), AuditLog.from_env(second)]
        counts: list[int] = []

        def work(log: AuditLog) -> None:
            counts.append(seal(log, batch=40))

        threads = [threading.Thread(target=work, args=(log,)) for log in logs]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sum(counts) == 301  # the run's start and the 300 tool calls
        entries = list(logs[0].entries())
        actions = [e.action for e in entries if e.event_type == "tool.call"]
        assert sorted(actions) == sorted(f"tool:t{i}" for i in range(300))
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert logs[0].verify().ok
        assert first.audit_outbox_backlog() == (0, None)
    finally:
        first.close()
        second.close()


def test_a_malformed_record_is_chained_as_such_and_does_not_wedge_the_outbox(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        good = outbox.row(None, 1.0, event_type="tool.call", action="tool:ok")
        bad = {"run_id": None, "created_at": 1.0, "event": json.dumps({"event_type": "x"})}  # no action
        store.write(lambda conn: outbox.insert(conn, [bad, good]))
        log = AuditLog.from_env(store)
        assert seal(log) == 2
        kinds = [(e.event_type, e.action) for e in log.entries()]
        assert kinds == [("audit.malformed", "seal"), ("tool.call", "tool:ok")]
        assert log.verify().ok
    finally:
        store.close()


def test_audit_can_be_turned_off(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_AUDIT", "false")
    app = make_app()

    @app.workflow(name="quiet")
    async def quiet(ctx: keel.Context) -> int:
        return 1

    assert asyncio.run(app.run(quiet)) == 1
    assert _outbox_count(app.store) == 0
    assert _entries(app) == []


def test_configuration_changes_are_audited(make_app: Any, tmp_path: Any) -> None:
    toml = tmp_path / "keel.toml"
    toml.write_text(
        '[providers.local]\nkind = "scripted"\n\n'
        f'[models."{MODEL}"]\nprovider = "local"\ninput_usd_per_mtok = 0.0\noutput_usd_per_mtok = 0.0\n\n'
        f'[routes.answer]\nprimary = "{MODEL}"\n'
    )
    app = make_app()
    app._gateway_source = toml
    assert app.gateway is not None
    app.pause_workflow("support")
    app.unpause_workflow("support")
    assert seal(AuditLog.from_env(app.store)) == 3
    events = [(e.event_type, e.action, e.resource) for e in _entries(app)]
    assert events == [
        ("config.loaded", "config:load", "config:keel.toml"),
        ("config.change", "workflow:pause", "workflow:support"),
        ("config.change", "workflow:unpause", "workflow:support"),
    ]
    import hashlib

    assert _entries(app)[0].data["sha256"] == hashlib.sha256(toml.read_bytes()).hexdigest()
