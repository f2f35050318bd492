"""Retention on SQLite and PostgreSQL: finished runs purged with their rows, and the audit log's sealed segments."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

import keel
from keel.config import RetentionSettings
from keel.gateway.config import GatewayConfig
from keel.gateway.gateway import Gateway
from keel.gateway.providers import ScriptedProvider
from keel.governance import Actor, AuditError, AuditEvent, AuditLog, CheckpointPolicy, Signer
from keel.governance.retention import DAY, OrgRetention, RetentionPolicy, purge
from keel.governance.sinks import DirectorySink, SinkError
from keel.store import Store, open_store
from keel.store import schema as t

MODEL = "local-model-2025-01-01"
SEED = bytes(range(32))
OLD = 60 * DAY


# -- runs --------------------------------------------------------------------------------------------


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., keel.App]]:
    apps: list[keel.App] = []

    def make(**settings: Any) -> keel.App:
        params = {"lease_ttl_s": 15.0, "poll_interval_s": 0.05, **settings}
        app = keel.App("retention", db_url, settings=keel.EngineSettings(**params))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def _gateway(app: keel.App) -> None:
    config = GatewayConfig.from_dict(
        {
            "providers": {"local": {"kind": "scripted"}},
            "models": {MODEL: {"provider": "local", "input_usd_per_mtok": 0.0, "output_usd_per_mtok": 0.0}},
            "routes": {"cached": {"primary": MODEL, "cache_ttl_s": 600}},
        }
    )
    provider = ScriptedProvider("local", responses=[{"text": "a deep blue"}])
    gateway = Gateway(config, store=app.store, providers={"local": provider})
    app._gateway_source = gateway
    app._gateway = gateway
    app._gateway_loaded = True


def _audit_log(store: Store, every: int = 5, clock: Any = None) -> AuditLog:
    return AuditLog(
        store, signer=Signer.from_seed(SEED), policy=CheckpointPolicy(every=every, seconds=1e12), clock=clock
    )


@pytest.fixture
def world(make_app: Callable[..., keel.App]) -> dict[str, Any]:
    """Finished runs of acme, globex and no org, each with journal, blob, signal, span and cache rows; one waiting."""
    app = make_app(blob_threshold_bytes=1024)
    _gateway(app)

    @app.step(name="archive")
    def archive(tag: str) -> str:
        return tag * 600  # above the blob threshold: kept in keel_blobs

    @app.workflow(name="support")
    async def support(ctx: keel.Context, note: str) -> dict[str, Any]:
        colour = await ctx.llm("cached", f"Describe the colour {note}.")
        archived = await ctx.run(archive, note)
        go = await ctx.wait_for_signal("go", timeout=60)
        return {"colour": colour.text, "archived": len(archived), "go": go}

    @app.workflow(name="waiter")
    async def waiter(ctx: keel.Context) -> Any:
        return await ctx.wait_for_signal("never")

    runs: dict[str, str] = {}
    for name, org in (("acme-old", "acme"), ("acme-young", "acme"), ("globex-old", "globex"), ("none-old", None)):
        handle = app.start(support, org_id=org, note=f"{name}-note")
        app.signal(handle.run_id, "go", {"by": name})
        asyncio.run(handle.result(timeout=60))
        runs[name] = handle.run_id
    waiting = app.start(waiter, org_id="acme")

    async def drive_once() -> None:
        claims = await app.engine.claim(1, run_id=waiting.run_id)
        await asyncio.wait_for(app.engine.drive(claims[0]), 60)

    asyncio.run(drive_once())
    runs["acme-waiting"] = waiting.run_id
    assert app.tracing is not None and app.tracing.flush()
    old = [runs[n] for n in ("acme-old", "globex-old", "none-old", "acme-waiting")]
    app.store.write(
        lambda conn: conn.execute(
            t.runs.update().where(t.runs.c.run_id.in_(old)).values(updated_at=t.runs.c.updated_at - OLD)
        )
    )
    return {"app": app, "runs": runs, "store": app.store}


def _rows(store: Store, run_id: str) -> dict[str, int]:
    """Rows stored under one run, per table (cache rows through the request hashes its journal records)."""

    def op(conn: Any) -> dict[str, int]:
        def count(table: Any, clause: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(clause)).scalar_one())

        steps = conn.execute(select(t.steps).where(t.steps.c.run_id == run_id)).mappings().all()
        refs = [s["result_ref"] for s in steps if s["result_ref"]]
        hashes = []
        for s in steps:
            if str(s["name"]).startswith("llm:") and s["result"]:
                value = json.loads(s["result"])
                value = value.get("value", value) if "request_hash" not in value else value
                hashes.append(value["request_hash"])
        return {
            "runs": count(t.runs, t.runs.c.run_id == run_id),
            "steps": len(steps),
            "blobs": count(t.blobs, t.blobs.c.blob_id.in_(refs)) if refs else 0,
            "signals": count(t.signals, t.signals.c.run_id == run_id),
            "transitions": count(t.transitions, t.transitions.c.run_id == run_id),
            "spans": count(t.spans, t.spans.c.run_id == run_id),
            "reviews": count(t.reviews, t.reviews.c.run_id == run_id),
            "cache": count(t.llm_cache, t.llm_cache.c.request_hash.in_(hashes)) if hashes else 0,
            "refs": len(refs),
            "hashes": len(hashes),
        }

    return store.read(op)


def test_old_finished_runs_go_with_all_their_rows_per_org(world: dict[str, Any]) -> None:
    store, runs = world["store"], world["runs"]
    for name in ("acme-old", "globex-old", "none-old"):
        store.review_request(
            review_id=f"{runs[name]}:9",
            run_id=runs[name],
            step=9,
            action="tool:refund",
            risk_score=75,
            policy_version=None,
            kind="review",
            details={},
            now=1.0,
        )
    before = {name: _rows(store, run_id) for name, run_id in runs.items()}
    # Every finished run really has something in each table the purge must reach.
    for name in ("acme-old", "globex-old", "none-old"):
        rows = before[name]
        assert rows["reviews"] == 1
        assert rows["runs"] == 1 and rows["steps"] >= 3 and rows["signals"] == 1 and rows["transitions"] >= 2
        assert rows["blobs"] == 1 and rows["spans"] >= 1 and rows["hashes"] == 1 and rows["cache"] == 1, (name, rows)
    policy = RetentionPolicy(runs_days=30, orgs={"globex": OrgRetention(runs_days=0)}, batch=1)
    log = _audit_log(store)

    dry = purge(store, policy, time.time(), audit=log, dry_run=True)
    assert {name: _rows(store, run_id) for name, run_id in runs.items()} == before  # nothing changed
    assert dry.orgs["(default)"]["runs"] == 2 and dry.orgs["globex"]["runs"] == 0
    assert dry.audit_event_id is None
    assert not [e for e in log.entries(0, 10_000) if e.event_type == "retention.purge"]

    report = purge(store, policy, time.time(), audit=log)
    assert report.orgs["(default)"] == dry.orgs["(default)"]  # the dry run counted what went
    totals = report.totals()
    assert totals["runs"] == 2 and totals["blobs"] == 2 and totals["signals"] == 2 and totals["cache_exact"] == 2
    for name in ("acme-old", "none-old"):
        after = _rows(store, runs[name])
        gone = {k: v for k, v in after.items() if k not in ("refs", "hashes")}
        assert set(gone.values()) == {0}, (name, after)
        blobs_left = store.read(
            lambda conn, n=name: conn.execute(select(func.count()).select_from(t.blobs)).scalar_one()
        )
        assert blobs_left == 2  # acme-young's and globex-old's
    # Kept: a young run, a run in flight however old, and an org whose runs are kept forever.
    for name in ("acme-young", "acme-waiting", "globex-old"):
        assert _rows(store, runs[name]) == before[name], name
    # The purge is itself audited, with counts only.
    assert report.audit_event_id is not None
    entry = log.entry(report.audit_event_id)
    assert entry.event_type == "retention.purge" and entry.actor.id == "keel-retention"
    assert entry.data["totals"]["runs"] == 2 and entry.data["orgs"]["globex"]["runs"] == 0
    assert log.verify().ok

    # Again: nothing left to purge.
    assert purge(store, policy, time.time(), audit=log).totals()["runs"] == 0


def test_journal_retention_keeps_the_run_and_its_history(world: dict[str, Any]) -> None:
    store, runs = world["store"], world["runs"]
    before = _rows(store, runs["acme-old"])
    policy = RetentionPolicy(journal_days=30, orgs={"globex": OrgRetention(journal_days=90)})
    report = purge(store, policy, time.time(), audit=_audit_log(store), org="acme")
    assert report.orgs["acme"]["runs_journal"] == 1 and report.orgs["acme"]["runs"] == 0
    assert report.audit.stopped is not None and "--org" in report.audit.stopped
    after = _rows(store, runs["acme-old"])
    assert after["runs"] == 1 and after["transitions"] == before["transitions"]
    assert after["steps"] == after["signals"] == after["spans"] == after["blobs"] == after["cache"] == 0
    assert _rows(store, runs["none-old"])["steps"] == before["steps"]  # not in the --org scope
    report = purge(store, policy, time.time(), audit=_audit_log(store))
    assert report.orgs["globex"].get("runs_journal", 0) == 0 and report.orgs["(default)"]["runs_journal"] == 1
    assert _rows(store, runs["globex-old"])["steps"] == before["steps"]


# -- the audit log -----------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    yield opened
    opened.close()


def _fill(log: AuditLog, first: int, n: int) -> list[str]:
    ids = []
    for i in range(first, first + n):
        ids.append(log.append_sync(AuditEvent("tool.call", Actor("agent", "a1"), f"tool:t{i}", data={"i": i})).event_id)
    return ids


def _sql(store: Store, statement: str) -> None:
    store.write(lambda conn: conn.execute(text(statement)))


def test_audit_purge_removes_only_old_exported_sealed_segments(store: Store, tmp_path: Path) -> None:
    now = time.time()
    clock = Clock(now - 3000 * DAY)
    log = _audit_log(store, every=5, clock=clock)
    old_ids = _fill(log, 1, 10)  # segments 1..5 and 6..10, eight years old
    clock.now = now - DAY
    young_ids = _fill(log, 11, 12)  # segments 11..15, 16..20; 21, 22 not sealed
    policy = RetentionPolicy()  # audit: 7 years
    out = tmp_path / "worm"

    # Nothing was exported yet: nothing goes (and the purge is audited all the same: entry 23).
    report = purge(store, policy, now, audit=log)
    assert report.audit.entries == 0 and "not exported" in (report.audit.stopped or "")
    assert log.export(out).written[-1] == "segment-000000000016-000000000020"

    dry = purge(store, policy, now, audit=log, dry_run=True)
    assert (dry.audit.segments, dry.audit.entries, dry.audit.horizon_after) == (2, 10, 10)
    assert store.audit_horizon() == 0 and len(log.entries(0, 100)) == 23

    report = purge(store, policy, now, audit=log)
    assert (report.audit.segments, report.audit.entries) == (2, 10)
    assert report.audit.horizon_before == 0 and report.audit.horizon_after == 10
    assert "younger" in (report.audit.stopped or "")
    assert store.audit_horizon() == 10
    assert log.entries(0, 100)[0].seq == 11

    # What remains verifies: the chain links to the kept hash of entry 10, the checkpoints' roots match.
    verified = log.verify(full=True)
    assert verified.ok, verified.problem
    assert verified.pruned == 10 and verified.entries == store.audit_head().seq
    keys = log.public_keys()
    assert log.inclusion_proof(young_ids[3]).verify(keys) is None
    assert log.inclusion_proof(young_ids[0], checkpoint=15).verify(keys) is None
    assert log.consistency_proof(5, 20).verify(keys) is None
    with pytest.raises(AuditError):
        log.inclusion_proof(old_ids[0])
    # The purge is audited, with its horizon.
    last = log.entries(0, 100)[-1]
    assert last.event_type == "retention.purge" and last.data["audit"]["horizon_after"] == 10

    # The database itself still refuses: a DELETE above the horizon, and moving the horizon back.
    with pytest.raises(DBAPIError):
        _sql(store, "DELETE FROM keel_audit_entries WHERE seq = 11")
    with pytest.raises(DBAPIError):
        _sql(store, "UPDATE keel_audit_horizon SET seq = 5 WHERE id = 1")
    with pytest.raises(DBAPIError):
        _sql(store, "DELETE FROM keel_audit_horizon")
    with pytest.raises(DBAPIError):
        _sql(store, "DELETE FROM keel_audit_pruned WHERE seq = 1")
    with pytest.raises(DBAPIError):
        _sql(store, "UPDATE keel_audit_entries SET action = 'x' WHERE seq = 11")
    assert store.audit_horizon() == 10 and log.verify().ok

    # Exporting again skips the purged segments and finds the rest identical.
    log.checkpoint()
    again = log.export(out)
    assert again.pruned == 2 and again.written == ["segment-000000000021-000000000024"]
    assert again.existing == ["segment-000000000011-000000000015", "segment-000000000016-000000000020"]


class FirstOnly:
    """A sink that takes the first segment and refuses the rest, as a sink that failed midway."""

    def __init__(self, root: Path) -> None:
        self.inner = DirectorySink(root)
        self.name = self.inner.name

    def put_segment(self, segment: str, files: Mapping[str, bytes]) -> bool:
        if segment != "segment-000000000001-000000000005":
            raise SinkError("the sink is full")
        return self.inner.put_segment(segment, files)


def test_only_exported_segments_older_than_every_orgs_limit_go(store: Store, tmp_path: Path) -> None:
    now = time.time()
    log = _audit_log(store, every=5, clock=Clock(now - 3000 * DAY))
    _fill(log, 1, 10)
    with pytest.raises(AuditError, match="full"):
        log.export(FirstOnly(tmp_path / "one"))
    assert set(store.audit_exports()) == {(1, 5)}
    # An org that keeps its audit trail forever keeps the whole (shared) chain; so does a longer limit.
    report = purge(store, RetentionPolicy(orgs={"acme": OrgRetention(audit_days=0)}), now, audit=log)
    assert report.audit.entries == 0 and "forever" in (report.audit.stopped or "")
    report = purge(store, RetentionPolicy(audit_days=5000), now, audit=log)
    assert report.audit.entries == 0 and "younger" in (report.audit.stopped or "")
    assert store.audit_horizon() == 0
    report = purge(store, RetentionPolicy(), now, audit=log)
    assert (report.audit.segments, report.audit.horizon_after) == (1, 5)
    assert "6..10 was not exported" in (report.audit.stopped or "")
    assert log.verify().ok and log.verify().pruned == 5


def test_settings_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "retention.toml"
    path.write_text(
        "[retention]\nruns_days = 400\njournal_days = 90\n\n"
        "[retention.orgs.acme]\nruns_days = 30\n\n[retention.orgs.bank]\naudit_days = 3650\nruns_days = 0\n"
    )
    monkeypatch.setenv("KEEL_RETENTION_FILE", str(path))
    monkeypatch.setenv("KEEL_RETENTION_JOURNAL_DAYS", "60")
    policy = RetentionPolicy.from_settings(RetentionSettings.from_env())
    assert policy.limits(None) == policy.limits("other")
    assert (policy.limits(None).runs_days, policy.limits(None).journal_days, policy.limits(None).audit_days) == (
        400,
        60,
        2557,
    )
    assert policy.limits("acme").runs_days == 30 and policy.limits("bank").runs_days == 0
    assert policy.audit_limit_days() == 3650  # the chain is shared: the longest limit wins
    path.write_text("[retention]\nrun_days = 3\n")
    with pytest.raises(keel.ConfigError, match="unknown key"):
        RetentionSettings.from_env()
