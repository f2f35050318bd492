"""`keel gdpr export | delete` as an operator runs them, on a SQLite database made by guarded runs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from needs import require_redis

import keel
from keel.gateway.config import GatewayConfig
from keel.gateway.gateway import Gateway
from keel.gateway.providers import ScriptedProvider
from keel.governance import AuditLog, Signer
from keel.store import open_store

SEED = bytes(range(32))
MODEL = "local-model-2025-01-01"
EMAIL = {"jane": "jane.doe@example.com", "bob": "bob.smith@example.org"}


def keel_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": f"sqlite:///{cwd / 'keel.db'}",
        "KEEL_AUDIT_KEY": base64.b64encode(SEED).decode(),
    }
    env.pop("KEEL_AUDIT_KEY_FILE", None)
    env.pop("KEEL_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "keel.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, str]:
    """One finished guarded run per user, the e-mail address in the input and in the prompt."""
    app = keel.App("gdpr-cli", f"sqlite:///{tmp_path / 'keel.db'}")
    config = GatewayConfig.from_dict(
        {
            "providers": {"local": {"kind": "scripted"}},
            "models": {MODEL: {"provider": "local", "input_usd_per_mtok": 0.0, "output_usd_per_mtok": 0.0}},
            "routes": {"answer": {"primary": MODEL}},
        }
    )
    gateway = Gateway(
        config, store=app.store, providers={"local": ScriptedProvider("local", responses=[{"text": "ok"}])}
    )
    app._gateway_source = app._gateway = gateway
    app._gateway_loaded = True

    @app.workflow(name="mail")
    async def mail(ctx: keel.Context, email: str) -> str:
        return (await ctx.llm("answer", f"Write to {email}.")).text

    try:
        made = {}
        for user, email in EMAIL.items():
            handle = app.start(mail, user_id=user, email=email)
            asyncio.run(handle.result(timeout=60))
            made[user] = handle.run_id
        return made
    finally:
        app.close()


def test_export_writes_a_private_bundle_and_refuses_to_overwrite(tmp_path: Path, runs: dict[str, str]) -> None:
    out = tmp_path / "jane.json"
    done = keel_cli("gdpr", "export", "--subject", "jane", "--out", str(out), "--operator", "dpo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    bundle = json.loads(out.read_text())
    assert [r["run_id"] for r in bundle["runs"]] == [runs["jane"]]
    assert [v["value"] for v in bundle["vault"]] == [EMAIL["jane"]]
    assert EMAIL["bob"] not in out.read_text()

    again = keel_cli("gdpr", "export", "--subject", "jane", "--out", str(out), cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    forced = keel_cli("gdpr", "export", "--subject", "jane", "--out", str(out), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    # To stdout without --out.
    printed = keel_cli("gdpr", "export", "--subject", "jane", cwd=tmp_path)
    assert json.loads(printed.stdout)["manifest"]["subject"] == "jane"


def test_delete_needs_confirmation_then_erases_and_audits(tmp_path: Path, runs: dict[str, str]) -> None:
    refused = keel_cli("gdpr", "delete", "--subject", "jane", cwd=tmp_path)
    assert refused.returncode == 2 and "--yes" in refused.stderr

    done = keel_cli("gdpr", "delete", "--subject", "jane", "--yes", "--json", "--operator", "dpo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["runs"] == 1 and report["vault_values"] == 1 and report["audit_event_id"]

    store = open_store(f"sqlite:///{tmp_path / 'keel.db'}")
    try:
        assert EMAIL["jane"] not in store.get_run(runs["jane"]).input
        assert EMAIL["bob"] in store.get_run(runs["bob"]).input
        log = AuditLog(store, signer=Signer.from_seed(SEED))
        assert log.verify().ok
        last = [e for e in log.entries(after_seq=0, limit=100) if e.event_type.startswith("gdpr.")][-1]
        assert (last.event_type, last.actor.id, last.resource) == ("gdpr.delete", "dpo", "subject:jane")
    finally:
        store.close()
    verify = keel_cli("audit", "verify", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    exported = json.loads(keel_cli("gdpr", "export", "--subject", "jane", cwd=tmp_path).stdout)
    assert exported["vault"] == [] and EMAIL["jane"] not in json.dumps(exported)


async def test_the_redis_answer_cache_loses_the_subjects_entries_only() -> None:
    from keel.cli.gdpr import _RedisPurger
    from keel.gateway.cache import RedisCache

    url = require_redis()
    prefix = f"keel:test-gdpr:{os.getpid()}:"
    cache = RedisCache(url, prefix=prefix)
    mine, other = "a" * 64, "b" * 64
    try:
        for hashed in (mine, other):
            await cache.put("acme", hashed, route="faq", answer=f"answer {hashed[0]}", now=1.0, ttl_s=600)
            await cache.put_vector("acme", "faq", hashed, [1.0, 0.5], answer=f"answer {hashed[0]}", now=1.0, ttl_s=600)
        removed = await _RedisPurger(url, prefix).purge([("acme", mine)])
        assert removed == 2
        assert await cache.get("acme", mine, now=2.0) is None
        assert await cache.get("acme", other, now=2.0) == "answer b"
        found = await cache.nearest("acme", "faq", [1.0, 0.5], threshold=0.99, now=2.0)
        assert found is not None and found[0] == "answer b"
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        assert await client.zrange(f"{prefix}i:acme:faq", 0, -1) == [other.encode()]
        await client.aclose()
    finally:
        await cache.aclose()
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        async for key in client.scan_iter(match=prefix + "*"):
            await client.delete(key)
        await client.aclose()
