"""`keel audit verify | proof | export | checkpoint` as an operator runs them, on a SQLite log."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keel.governance import Actor, AuditEvent, AuditLog, CheckpointPolicy, Signer
from keel.store import open_store

SEED = bytes(range(32))


def keel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": f"sqlite:///{cwd / 'keel.db'}",
        "KEEL_AUDIT_KEY": base64.b64encode(SEED).decode(),
    }
    env.pop("KEEL_AUDIT_KEY_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "keel.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def logged(tmp_path: Path) -> list[str]:
    """A log of 25 entries with checkpoints at 10 and 20; their event ids."""
    store = open_store(f"sqlite:///{tmp_path / 'keel.db'}")
    try:
        log = AuditLog(store, signer=Signer.from_seed(SEED), policy=CheckpointPolicy(every=10, seconds=3600))
        ids = []
        for start in range(0, 25, 5):
            entries = log.append_many_sync(
                [
                    AuditEvent("tool.call", Actor("agent", "a1"), f"tool:t{i}", data={"i": i})
                    for i in range(start, start + 5)
                ]
            )
            ids += [e.event_id for e in entries]
        return ids
    finally:
        store.close()


def tamper(tmp_path: Path, statement: str) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "keel.db")
    with conn:
        conn.execute("DROP TRIGGER keel_audit_entries_no_update")
        conn.execute(statement)
    conn.close()


def test_verify_says_ok_then_names_the_first_bad_entry(tmp_path: Path, logged: list[str]) -> None:
    run = keel("audit", "verify", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "ok" in run.stdout and "25 entries" in run.stdout and "verified 25/25" in run.stderr
    report = json.loads(keel("audit", "verify", "--json", "--full", cwd=tmp_path).stdout)
    assert report["ok"] and report["signatures_checked"] == 25 and report["checkpoints"] == 2

    tamper(tmp_path, "UPDATE keel_audit_entries SET action = 'tool:forged' WHERE seq IN (7, 12)")
    bad = keel("audit", "verify", cwd=tmp_path)
    assert bad.returncode == 1
    assert f"entry 7 (event {logged[6]})" in bad.stdout and "hash does not match" in bad.stdout
    report = json.loads(keel("audit", "verify", "--json", cwd=tmp_path).stdout)
    assert report["ok"] is False and report["problem"]["seq"] == 7 and report["problem"]["kind"] == "entry"


def test_verify_with_pinned_keys(tmp_path: Path, logged: list[str]) -> None:
    signer = Signer.from_seed(SEED)
    (tmp_path / "keys.json").write_text(json.dumps({signer.key_id: signer.public_hex}))
    assert keel("audit", "verify", "--trusted-keys", "keys.json", cwd=tmp_path).returncode == 0
    other = Signer.from_seed(bytes(32))
    (tmp_path / "other.json").write_text(json.dumps({other.key_id: {"public_key": other.public_hex}}))
    run = keel("audit", "verify", "--trusted-keys", "other.json", cwd=tmp_path)
    assert run.returncode == 1 and "entry 1" in run.stdout and "unknown key" in run.stdout


def test_proof_prints_and_checks_the_inclusion_proof(tmp_path: Path, logged: list[str]) -> None:
    run = keel("audit", "proof", logged[3], "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    proof = json.loads(run.stdout)
    assert proof["verified"] is True and proof["tree_size"] == 20 and proof["leaf_index"] == 3
    assert proof["entry"]["event_id"] == logged[3] and len(proof["path"]) == 5
    text = keel("audit", "proof", logged[3], "--checkpoint", "10", cwd=tmp_path)
    assert text.returncode == 0 and "verified" in text.stdout and "checkpoint size 10" in text.stdout
    # Entry 23 is not covered until a checkpoint is forced.
    uncovered = keel("audit", "proof", logged[22], cwd=tmp_path)
    assert uncovered.returncode == 1 and "no checkpoint covers entry 23" in uncovered.stderr
    forced = keel("audit", "checkpoint", "--json", cwd=tmp_path)
    assert forced.returncode == 0 and json.loads(forced.stdout)["size"] == 25
    assert json.loads(keel("audit", "proof", logged[22], "--json", cwd=tmp_path).stdout)["verified"] is True
    missing = keel("audit", "proof", "no-such-event", cwd=tmp_path)
    assert missing.returncode == 1 and "no audit entry" in missing.stderr


def test_export_writes_sealed_segments_once(tmp_path: Path, logged: list[str]) -> None:
    run = keel("audit", "export", "--to", "sealed", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report == {
        "written": ["segment-000000000001-000000000010", "segment-000000000011-000000000020"],
        "existing": [],
        "unsealed": 5,
    }
    segment = tmp_path / "sealed" / report["written"][0]
    assert sorted(p.name for p in segment.iterdir()) == [
        "checkpoint.json",
        "entries.jsonl",
        "keys.json",
        "manifest.json",
    ]
    assert all(oct(p.stat().st_mode & 0o777) == "0o444" for p in segment.iterdir())
    again = json.loads(keel("audit", "export", "--to", "sealed", "--json", cwd=tmp_path).stdout)
    assert again["written"] == [] and again["existing"] == report["written"]
    entries = segment / "entries.jsonl"
    segment.chmod(0o755)
    entries.chmod(0o644)
    entries.write_text(entries.read_text().replace("tool:t0", "tool:forged"))
    refused = keel("audit", "export", "--to", "sealed", cwd=tmp_path)
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stderr


def test_seal_chains_what_runs_left_in_the_outbox(tmp_path: Path, logged: list[str]) -> None:
    from keel.store import outbox

    store = open_store(f"sqlite:///{tmp_path / 'keel.db'}")
    try:
        rows = [outbox.row(None, 1.0, event_type="tool.call", action=f"tool:late{i}") for i in range(3)]
        store.write(lambda conn: outbox.insert(conn, rows))
    finally:
        store.close()
    waiting = keel("audit", "verify", "--json", cwd=tmp_path)
    assert json.loads(waiting.stdout)["outbox"]["waiting"] == 3
    sealed = keel("audit", "seal", "--json", cwd=tmp_path)
    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout) == {"sealed": 3, "waiting": 0}
    report = json.loads(keel("audit", "verify", "--json", "--full", cwd=tmp_path).stdout)
    assert report["ok"] and report["entries"] == 28 and report["outbox"]["waiting"] == 0
