"""GDPR export and deletion over data made by the real path: guarded model calls, a cached route, the vault, audit."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from sqlalchemy import LargeBinary, String, Text, inspect, select, text

import keel
from keel.gateway.config import GatewayConfig
from keel.gateway.gateway import Gateway
from keel.gateway.providers import ScriptedProvider
from keel.governance import Actor, AuditEvent, AuditLog, Signer
from keel.governance.audit import CheckpointPolicy
from keel.governance.gdpr import SubjectBusyError, delete_subject, export_subject
from keel.guard.vault import Vault
from keel.store import schema as t

MODEL = "local-model-2025-01-01"
EMBED = "local-embed-2025-01-01"
AUDIT_SEED = bytes(range(32))

# What each user brings; the note is no PII by any detector, so the cached route stores its answer.
USERS = {
    "jane": {
        "email": "jane.doe@example.com",
        "phone": "+44 20 7946 0958",
        "note": "ultramarine-7731",
        "bulky": "jane-bulky-payload-",
    },
    "bob": {
        "email": "bob.smith@example.org",
        "phone": "+44 20 7946 0123",
        "note": "vermilion-5512",
        "bulky": "bob-bulky-payload-",
    },
}


def _gateway(app: keel.App) -> ScriptedProvider:
    config = GatewayConfig.from_dict(
        {
            "providers": {"local": {"kind": "scripted"}},
            "models": {
                MODEL: {"provider": "local", "input_usd_per_mtok": 0.0, "output_usd_per_mtok": 0.0},
                EMBED: {"provider": "local", "input_usd_per_mtok": 0.0, "output_usd_per_mtok": 0.0},
            },
            "routes": {
                "answer": {"primary": MODEL},
                "cached": {
                    "primary": MODEL,
                    "cache_ttl_s": 600,
                    "semantic_threshold": 0.99,
                    "embedding_model": EMBED,
                },
            },
        }
    )
    provider = ScriptedProvider(
        "local",
        responses=[
            {"contains": USERS["jane"]["note"], "text": f"{USERS['jane']['note']} is a deep blue."},
            {"contains": USERS["bob"]["note"], "text": f"{USERS['bob']['note']} is a bright red."},
            {"text": "I will write to {{PII_EMAIL_1}} today."},
        ],
    )
    gateway = Gateway(config, store=app.store, providers={"local": provider})
    app._gateway_source = gateway
    app._gateway = gateway
    app._gateway_loaded = True
    return provider


def _register(app: keel.App) -> Any:
    @app.step(name="archive")
    def archive(email: str, bulky: str) -> str:
        return f"archived for {email}: " + bulky * 200  # above the blob threshold: stored in keel_blobs

    @app.workflow(name="support")
    async def support(ctx: keel.Context, email: str, phone: str, note: str, bulky: str) -> dict[str, Any]:
        reply = await ctx.llm("answer", f"Write to {email} or call {phone} about the refund.")
        colour = await ctx.llm("cached", f"Describe the colour {note}.")
        archived = await ctx.run(archive, email, bulky)
        return {"reply": reply.text, "colour": colour.text, "archived": len(archived), "email": email}

    return support


@pytest.fixture
def world(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two users' finished runs, with vault values, cache rows, spans, blobs and audit entries."""
    monkeypatch.setenv("KEEL_AUDIT_KEY", base64.b64encode(AUDIT_SEED).decode())
    app = make_app(blob_threshold_bytes=1024)
    _gateway(app)
    support = _register(app)
    runs: dict[str, str] = {}
    for user, values in USERS.items():
        handle = app.start(support, org_id="acme", user_id=user, **values)
        asyncio.run(handle.result(timeout=60))
        runs[user] = handle.run_id
    assert app.tracing is not None and app.tracing.flush()  # the model calls' spans, in keel_spans
    log = AuditLog(app.store, signer=Signer.from_seed(AUDIT_SEED), policy=CheckpointPolicy(every=3, seconds=3600))
    for user, run_id in runs.items():
        log.append_sync(AuditEvent(event_type="run.start", actor=Actor("user", user), action="run:start"))
        log.append_sync(
            AuditEvent(
                event_type="review.decision",
                actor=Actor("system", "reviewer"),
                action="review:approve",
                resource=f"runs/{run_id}",
                data={"note": "approved"},
            )
        )
    return {"app": app, "runs": runs, "log": log, "vault": Vault.from_env(app.store)}


def _raw_values(vault_values: list[dict[str, str]], user: str) -> list[str]:
    return [*(v["value"] for v in vault_values), *USERS[user].values()]


def _every_value(app: keel.App) -> list[tuple[str, str, str]]:
    """(table, column, value as text) of every text or binary cell of every table in the database."""
    engine = app.store._read_engine
    found: list[tuple[str, str, str]] = []
    with engine.connect() as conn:
        inspector = inspect(conn)
        for table in inspector.get_table_names():
            columns = [
                c["name"] for c in inspector.get_columns(table) if isinstance(c["type"], (String, Text, LargeBinary))
            ]
            if not columns:
                continue
            for row in conn.execute(text(f'SELECT {", ".join(columns)} FROM "{table}"')):  # noqa: S608 - test
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    shown = bytes(value).decode("utf-8", "replace") if isinstance(value, (bytes, memoryview)) else value
                    found.append((table, column, str(shown)))
    return found


def _holding(app: keel.App, needles: list[str]) -> list[tuple[str, str, str]]:
    return [(tb, col, needle) for tb, col, value in _every_value(app) for needle in needles if needle in value]


async def test_export_holds_everything_of_the_subject_and_nothing_of_others(world: dict[str, Any]) -> None:
    app, runs, log, vault = world["app"], world["runs"], world["log"], world["vault"]
    bundle = await export_subject(app.store, "jane", vault=vault, audit=log, operator="dpo")
    manifest = bundle["manifest"]
    assert manifest["subject"] == "jane" and manifest["schema_revision"] and manifest["keel_version"]
    assert [r["run_id"] for r in bundle["runs"]] == [runs["jane"]]
    (run,) = bundle["runs"]
    assert run["input"] == {"args": [], "kwargs": USERS["jane"]} or USERS["jane"]["email"] in json.dumps(run["input"])
    assert run["result"]["email"] == USERS["jane"]["email"]
    journal = app.store.load_journal(runs["jane"])
    assert [e["seq"] for e in run["journal"]] == [e.seq for e in journal]
    # The blob-stored step result is resolved, not left as a reference.
    archived = next(e for e in run["journal"] if e["name"] == "archive")
    assert isinstance(archived["result"], str) and archived["result"].startswith("archived for")
    assert any(e["name"].startswith("llm:") for e in run["journal"])
    values = {v["value"] for v in bundle["vault"]}
    assert USERS["jane"]["email"] in values and USERS["jane"]["phone"] in values
    assert {v["value"] for v in await vault.export_subject("jane")} == values
    # Audit entries: hers as actor, and the one naming her run.
    kinds = {(a["event_type"], a["actor"]["id"]) for a in bundle["audit"]}
    assert ("run.start", "jane") in kinds and ("review.decision", "reviewer") in kinds
    assert manifest["counts"]["runs"] == 1 and manifest["counts"]["vault_values"] == len(bundle["vault"])
    dumped = json.dumps(bundle)
    assert runs["bob"] not in dumped
    assert not any(v in dumped for v in USERS["bob"].values())
    # The export is audited, with counts only.
    # Found by id: the run's state changes are sealed into the chain in the background, after it or not.
    last = next(e for e in log.entries(after_seq=0, limit=1000) if e.event_id == manifest["audit_event_id"])
    assert (last.event_type, last.actor.id, last.resource) == ("gdpr.export", "dpo", "subject:jane")
    assert USERS["jane"]["email"] not in json.dumps(last.data)


async def test_deletion_leaves_no_raw_value_anywhere_and_keeps_the_rest(world: dict[str, Any]) -> None:
    app, runs, log, vault = world["app"], world["runs"], world["log"], world["vault"]
    jane_raw = _raw_values(await vault.export_subject("jane"), "jane")
    bob_vault = await vault.export_subject("bob")
    bob_raw = _raw_values(bob_vault, "bob")
    # The setup did reach every store: vault, blob, both caches, spans.
    assert _holding(app, jane_raw), "the setup stored none of jane's values"
    with app.store._read_engine.connect() as conn:
        assert conn.execute(select(t.llm_cache.c.request_hash)).all()
        assert conn.execute(select(t.llm_semcache.c.request_hash)).all()
        assert conn.execute(select(t.blobs.c.blob_id)).all()
    cached_before = {tb for tb, _, needle in _holding(app, [USERS["jane"]["note"]])}
    assert {"keel_llm_cache", "keel_llm_semcache"} <= cached_before

    report = await delete_subject(app.store, "jane", operator="dpo", vault=vault, audit=log)

    assert _holding(app, jane_raw) == []
    assert report.runs == 1 and report.steps >= 3 and report.vault_values >= 2 and report.spans >= 1
    assert report.cache_exact == 1 and report.cache_semantic == 1 and report.blobs_deleted == 1
    assert await vault.export_subject("jane") == []
    # The run and its journal positions stay, as tombstones.
    run = app.store.get_run(runs["jane"])
    assert run.status == "succeeded" and run.user_id == "jane" and json.loads(run.input)["erased"] == "gdpr"
    assert len(app.store.load_journal(runs["jane"])) == report.steps
    # Bob is untouched: his values, his vault, his cache row.
    assert await vault.export_subject("bob") == bob_vault
    bob_tables = {tb for tb, _, _ in _holding(app, bob_raw)}
    assert {"keel_runs", "keel_steps", "keel_llm_cache", "keel_blobs"} <= bob_tables
    assert json.loads(app.store.get_run(runs["bob"]).result)["email"] == USERS["bob"]["email"]
    # The audit chain is intact and records the deletion, counts only.
    assert log.verify(full=True).ok
    last = next(e for e in log.entries(after_seq=0, limit=1000) if e.event_id == report.audit_event_id)
    assert (last.event_type, last.actor.id, last.resource, last.decision) == (
        "gdpr.delete",
        "dpo",
        "subject:jane",
        "done",
    )
    assert all(isinstance(v, int) for v in last.data["counts"].values())
    # Again: nothing left to erase, and still audited.
    again = await delete_subject(app.store, "jane", operator="dpo", vault=vault, audit=log)
    assert (again.runs, again.steps, again.vault_values, again.cache_exact) == (0, 0, 0, 0)
    assert log.verify().ok


async def test_deletion_is_refused_while_a_run_of_the_subject_is_in_flight(
    world: dict[str, Any], drive_once: Any
) -> None:
    app, runs, log, vault = world["app"], world["runs"], world["log"], world["vault"]
    live = app.start("support", org_id="acme", user_id="jane", **USERS["jane"])
    with pytest.raises(SubjectBusyError, match=live.run_id):
        await delete_subject(app.store, "jane", operator="dpo", vault=vault, audit=log)
    # Nothing was erased, and the refusal is on record.
    assert USERS["jane"]["email"] in app.store.get_run(runs["jane"]).input
    assert await vault.export_subject("jane")
    last = [e for e in log.entries(after_seq=0, limit=1000) if e.event_type.startswith("gdpr.")][-1]
    assert (last.event_type, last.decision) == ("gdpr.delete", "refused")

    # --cancel-running records the cancel; with no worker to carry it out, the deletion still waits.
    with pytest.raises(SubjectBusyError, match="carries the cancellation out"):
        await delete_subject(app.store, "jane", operator="dpo", vault=vault, audit=log, cancel_running=True, wait_s=0)
    assert app.store.get_run(live.run_id).control == "cancel"
    assert await drive_once(app, live.run_id) == "cancelled"
    report = await delete_subject(app.store, "jane", operator="dpo", vault=vault, audit=log, cancel_running=True)
    assert report.runs == 2 and report.cancelled == []
    assert _holding(app, [USERS["jane"]["email"], USERS["jane"]["note"]]) == []
    assert log.verify().ok
