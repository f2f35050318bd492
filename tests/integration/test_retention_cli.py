"""`keel retention show | purge` as an operator runs them, on a SQLite database."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import keel
from keel.governance import Actor, AuditEvent, AuditLog, CheckpointPolicy, Signer
from keel.governance.retention import DAY
from keel.store import open_store
from keel.store import schema as t

SEED = bytes(range(32))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def keel_cli(*args: str, cwd: Path, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": f"sqlite:///{cwd / 'keel.db'}",
        "KEEL_AUDIT_KEY": base64.b64encode(SEED).decode(),
        **env_extra,
    }
    env.pop("KEEL_AUDIT_KEY_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "keel.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _setup(tmp_path: Path) -> dict[str, str]:
    """Two finished runs (one two months old), and a log whose first 10 entries are eight years old."""
    url = f"sqlite:///{tmp_path / 'keel.db'}"
    store = open_store(url)
    try:
        clock = Clock(time.time() - 3000 * DAY)
        log = AuditLog(
            store, signer=Signer.from_seed(SEED), policy=CheckpointPolicy(every=10, seconds=1e12), clock=clock
        )
        for i in range(10):
            log.append_sync(AuditEvent("tool.call", Actor("agent", "a1"), f"tool:t{i}"))
        log.checkpoint()
    finally:
        store.close()
    app = keel.App("cli", url)
    try:

        @app.workflow(name="hello")
        async def hello(ctx: keel.Context, name: str) -> str:
            return await ctx.run(lambda: f"hello {name}")

        runs = {}
        for name in ("old", "young"):
            handle = app.start(hello, org_id="acme", name=name)
            asyncio.run(handle.result(timeout=60))
            runs[name] = handle.run_id
        app.store.write(
            lambda conn: conn.execute(
                t.runs.update().where(t.runs.c.run_id == runs["old"]).values(updated_at=time.time() - 60 * DAY)
            )
        )
    finally:
        app.close()
    return runs


def test_show_then_purge(tmp_path: Path) -> None:
    runs = _setup(tmp_path)
    (tmp_path / "retention.toml").write_text("[retention]\nruns_days = 30\n\n[retention.orgs.bank]\nruns_days = 0\n")
    env = {"KEEL_RETENTION_FILE": str(tmp_path / "retention.toml")}

    shown = keel_cli("retention", "show", "--json", cwd=tmp_path, **env)
    assert shown.returncode == 0, shown.stderr
    policy = json.loads(shown.stdout)
    assert policy["runs_days"] == 30 and policy["audit_days"] == 2557 and policy["orgs"]["bank"]["runs_days"] == 0
    table = keel_cli("retention", "show", cwd=tmp_path, **env)
    assert "(default)" in table.stdout and "forever" in table.stdout and "2,557 days" in table.stdout

    dry = keel_cli("retention", "purge", "--dry-run", "--json", cwd=tmp_path, **env)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] and report["totals"]["runs"] == 1 and report["audit_event_id"] is None
    assert "not exported" in report["audit"]["stopped"]

    exported = keel_cli("audit", "export", "--to", "worm", "--json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["written"][0] == "segment-000000000001-000000000010"

    purged = keel_cli("retention", "purge", cwd=tmp_path, **env)
    assert purged.returncode == 0, purged.stderr
    assert "(default): removed 1 runs" in purged.stdout
    assert (
        "audit log: removed 10 entries in 1 sealed segment" in purged.stdout
        and "recorded as audit event" in purged.stderr
    )

    store = open_store(f"sqlite:///{tmp_path / 'keel.db'}")
    try:
        assert store.get_run(runs["young"]) is not None
        found = store.read(lambda conn: conn.execute(t.runs.select().where(t.runs.c.run_id == runs["old"])).first())
        assert found is None
        assert store.audit_horizon() == 10
    finally:
        store.close()
    verified = keel_cli("audit", "verify", "--json", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["pruned"] > 0

    # --org purges that org's runs only and leaves the shared audit log alone.
    only = json.loads(keel_cli("retention", "purge", "--org", "acme", "--json", cwd=tmp_path, **env).stdout)
    assert only["totals"]["runs"] == 0 and "--org" in only["audit"]["stopped"]
