"""The governance audit log on SQLite and PostgreSQL: chain, signatures, checkpoints, proofs, tampering, export."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import multiprocessing
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.exc import DBAPIError

from keel.errors import ConfigError, UsageError
from keel.governance import Actor, AuditError, AuditEvent, AuditLog, CheckpointPolicy, Signer
from keel.governance import keys as audit_keys
from keel.governance.audit import ROW_COLUMNS, canonical_entry, checkpoint_message, leaf_data
from keel.governance.merkle import leaf_hash
from keel.store import Store, open_store
from keel.testing import SkippingClock

SEED_A = bytes(range(32))
SEED_B = bytes(range(50, 82))
EVERY = 10
COUNT = 25  # checkpoints at 10 and 20; 21..25 not covered yet
COVERED, TAIL = 3, 23


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    try:
        yield opened
    finally:
        opened.close()


def make_log(store: Store, seed: bytes = SEED_A, *, every: int = EVERY, clock: Any = None) -> AuditLog:
    return AuditLog(
        store, signer=Signer.from_seed(seed), policy=CheckpointPolicy(every=every, seconds=3600), clock=clock
    )


@pytest.fixture
def log(store: Store) -> AuditLog:
    return make_log(store)


def event(i: int, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = dict(
        event_type="tool.call",
        actor=Actor("agent", f"agent-{i % 3}"),
        action="tool:search",
        resource=f"orders/{i}",
        decision="allow",
        policy_version="sha256:abc",
        risk_score=i % 101,
        trace_id=f"{i:032x}",
        data={"i": i, "cost_usd": 0.0125 * i, "note": "ünïcode ✓", "nested": {"b": [1, 2.5, None, True]}},
    )
    fields.update(overrides)
    return AuditEvent(**fields)


def fill(log: AuditLog, n: int = COUNT) -> list[Any]:
    entries = []
    for start in range(0, n, 5):  # batches of 5: checkpoints land at 10 and 20
        entries += log.append_many_sync([event(i) for i in range(start, min(n, start + 5))])
    return entries


# -- raw access, around the triggers -------------------------------------------------------------


def drop_guards(store: Store) -> None:
    """What an attacker with DDL rights does first: remove the append-only triggers."""

    def op(conn: Any) -> None:
        if conn.dialect.name == "postgresql":
            for table in ("keel_audit_entries", "keel_audit_checkpoints", "keel_audit_keys"):
                conn.exec_driver_sql(f"DROP TRIGGER {table}_append_only ON {table}")
        else:
            for table in ("keel_audit_entries", "keel_audit_checkpoints", "keel_audit_keys"):
                for verb in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER {table}_no_{verb}")

    store.write(op)


def sql(store: Store, statement: str, **params: Any) -> None:
    from sqlalchemy import text

    store.write(lambda conn: conn.execute(text(statement), params))


def row(store: Store, seq: int) -> dict[str, Any]:
    from sqlalchemy import text

    found = store.read(lambda conn: conn.execute(text("SELECT * FROM keel_audit_entries WHERE seq = :s"), {"s": seq}))
    return dict(found.mappings().one()) if found else {}


def set_column(store: Store, seq: int, column: str, value: Any) -> None:
    sql(store, f'UPDATE keel_audit_entries SET "{column}" = :v WHERE seq = :s', v=value, s=seq)


def public(seed: bytes) -> Ed25519PublicKey:
    return Signer.from_seed(seed).public_key


# -- the happy path ----------------------------------------------------------------------------------


def test_append_then_verify_and_recompute_as_an_outside_auditor_would(log: AuditLog, store: Store) -> None:
    entries = fill(log)
    assert [e.seq for e in entries] == list(range(1, COUNT + 1))
    report = log.verify()
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints, report.unsealed) == (COUNT, 2, 5)
    assert [cp.size for cp in log.checkpoints()] == [10, 20]
    assert log.verify(full=True).signatures_checked == COUNT

    # With nothing but the rows, a JCS implementation, SHA-256 and Ed25519: every hash, link and signature.
    key = public(SEED_A)
    prev = "0" * 64
    for stored in log.entries(0, 100):
        line = stored.as_dict()
        digest = hashlib.sha256(canonical_entry(line)).digest()
        assert digest.hex() == line["hash"] and line["prev_hash"] == prev
        key.verify(bytes.fromhex(line["signature"]), digest)
        prev = line["hash"]
    cp = log.checkpoints()[-1]
    key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.size, cp.root, cp.timestamp))
    assert json.loads(checkpoint_message(cp.size, cp.root, cp.timestamp)) == {
        "root": cp.root,
        "size": 20,
        "timestamp": cp.timestamp,
        "type": "keel.audit.checkpoint.v1",
    }


async def test_async_appends_share_commits_and_form_one_chain(log: AuditLog) -> None:
    first = await log.append(event(0))
    assert first.seq == 1 and first.prev_hash == "0" * 64
    many = await asyncio.gather(*(log.append(event(i)) for i in range(1, 41)))
    assert sorted(e.seq for e in many) == list(range(2, 42))
    batch = await log.append_many([event(i) for i in range(41, 46)])
    assert [e.seq for e in batch] == list(range(42, 47))
    assert log.verify().ok


def test_data_is_redacted_before_it_is_hashed_and_stored(log: AuditLog, store: Store) -> None:
    entry = log.append_sync(
        event(
            1, data={"prompt": "mail ana@example.com, key sk-abcdefghijklmnop1234", "n": 4, "list": ["+1 415 555 0100"]}
        )
    )
    stored = row(store, entry.seq)
    assert "ana@example.com" not in stored["data"] and "sk-abcdefghijklmnop1234" not in stored["data"]
    assert "415 555" not in stored["data"]
    assert entry.data["prompt"] == "mail <EMAIL>, key <API_KEY>" and entry.data["n"] == 4
    assert log.verify().ok


def test_events_are_validated_before_anything_is_written(log: AuditLog) -> None:
    with pytest.raises(UsageError, match="actor kind"):
        log.append_sync(event(1, actor={"kind": "robot", "id": "r"}))
    with pytest.raises(UsageError, match="risk_score"):
        log.append_sync(event(1, risk_score=101))
    with pytest.raises(UsageError, match="NaN"):
        log.append_sync(event(1, data={"x": float("nan")}))
    with pytest.raises(UsageError, match="event_type"):
        log.append_sync(event(1, event_type=""))
    assert log.verify().entries == 0
    log.append_sync(event(1, event_id="e-1"))
    with pytest.raises(DBAPIError):
        log.append_sync(event(2, event_id="e-1"))  # event ids are unique
    assert log.verify().ok and log.verify().entries == 1


def test_a_log_without_a_key_reads_but_does_not_write(log: AuditLog, store: Store) -> None:
    fill(log, 12)
    reader = AuditLog(store, signer=None)
    assert reader.verify().ok
    with pytest.raises(ConfigError, match="signing key"):
        reader.append_sync(event(1))


# -- the database refuses changes ------------------------------------------------------------------


def test_the_database_refuses_update_and_delete(log: AuditLog, store: Store) -> None:
    fill(log, 12)
    for statement in (
        "UPDATE keel_audit_entries SET action = 'x' WHERE seq = 3",
        "DELETE FROM keel_audit_entries WHERE seq = 12",
        "DELETE FROM keel_audit_entries",
        "UPDATE keel_audit_checkpoints SET root = 'x'",
        "DELETE FROM keel_audit_checkpoints",
        "UPDATE keel_audit_keys SET public_key = 'x'",
        "DELETE FROM keel_audit_keys",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            sql(store, statement)
    if store.dialect_name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            sql(store, "TRUNCATE keel_audit_entries")
    assert log.verify().ok and log.verify().entries == 12


# -- tampering is caught at the right entry ------------------------------------------------------


def tampered_value(column: str, original: Any, store: Store) -> Any:
    if column == "risk_score":
        return (original or 0) + 1
    if column == "data":
        return '{"i":0,"note":"forged"}'
    if column in ("prev_hash", "hash"):
        return ("1" if original[0] != "1" else "2") * 64
    if column == "signature":
        raw = bytearray(bytes.fromhex(original))
        raw[5] ^= 1
        return raw.hex()
    if column == "key_id":
        return Signer.from_seed(SEED_B).key_id
    if column == "timestamp":
        return original.replace(original[-8], "9" if original[-8] != "9" else "8")
    if column == "actor_kind":
        return "system" if original != "system" else "user"
    # Same length: a column's size limit is not what catches the change.
    return ("y" if original[0] == "x" else "x") + original[1:] if original else "x"


@pytest.mark.parametrize("target", [COVERED, TAIL], ids=["covered-by-a-checkpoint", "after-the-last-checkpoint"])
def test_tampering_with_any_field_is_caught_at_that_entry(log: AuditLog, store: Store, target: int) -> None:
    fill(log)
    drop_guards(store)
    # The rogue key must be known for a key_id swap to be a pure hash mismatch rather than an unknown key.
    make_log(store, SEED_B).append_sync(event(99))
    for column in ROW_COLUMNS:
        if column == "seq":
            continue
        original = row(store, target)[column]
        set_column(store, target, column, tampered_value(column, original, store))
        report = log.verify()
        assert report.problem is not None, column
        assert (report.problem.kind, report.problem.seq) == ("entry", target), (column, report.problem)
        expected = "signature" if column == "signature" else "hash"
        assert expected in report.problem.reason, (column, report.problem)
        set_column(store, target, column, original)
        assert log.verify().ok, column


@pytest.mark.parametrize("target", [COVERED, EVERY, TAIL], ids=["covered", "last-covered", "tail"])
def test_rewriting_an_entry_with_a_recomputed_hash_is_caught_by_its_signature(
    log: AuditLog, store: Store, target: int
) -> None:
    fill(log)
    drop_guards(store)
    forged = dict(row(store, target))
    forged["data"] = '{"forged":true}'
    forged["hash"] = hashlib.sha256(
        canonical_entry({**log.entries(target - 1, 1)[0].as_dict(), "data": {"forged": True}})
    ).hexdigest()
    set_column(store, target, "data", forged["data"])
    set_column(store, target, "hash", forged["hash"])
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.seq) == ("entry", target), problem
    assert "signature" in problem.reason


def test_a_forged_signature_is_caught_and_pinned_keys_refuse_a_rogue_key(log: AuditLog, store: Store) -> None:
    fill(log)
    drop_guards(store)
    # The last entry re-signed with the forger's own key: hash and signature recomputed, key published.
    rogue = Signer.from_seed(SEED_B)
    sql(
        store,
        "INSERT INTO keel_audit_keys (key_id, algorithm, public_key, created_at) VALUES (:k, 'Ed25519', :p, 0)",
        k=rogue.key_id,
        p=rogue.public_hex,
    )
    last = log.entries(COUNT - 1, 1)[0].as_dict()
    last.update(key_id=rogue.key_id, action="forged")
    digest = hashlib.sha256(canonical_entry(last)).digest()
    for column, value in (
        ("key_id", rogue.key_id),
        ("action", "forged"),
        ("hash", digest.hex()),
        ("signature", rogue.sign(digest).hex()),
    ):
        set_column(store, COUNT, column, value)
    sql(store, "UPDATE keel_audit_head SET hash = :h", h=digest.hex())
    # Trusting the database's key table, the forgery passes; pinning the operator's own keys catches it.
    assert log.verify().ok
    pinned = log.verify(trusted_keys={Signer.from_seed(SEED_A).key_id: public(SEED_A)})
    assert pinned.problem is not None and pinned.problem.seq == COUNT and "unknown key" in pinned.problem.reason
    # A signature made with the right key id but not the right key never verifies.
    set_column(store, COVERED, "signature", rogue.sign(bytes.fromhex(row(store, COVERED)["hash"])).hex())
    problem = log.verify().problem
    assert problem is not None and problem.seq == COVERED and "signature" in problem.reason


@pytest.mark.parametrize("target", [COVERED, TAIL], ids=["covered", "tail"])
def test_deleting_an_entry_is_caught_where_it_was(log: AuditLog, store: Store, target: int) -> None:
    fill(log)
    drop_guards(store)
    sql(store, "DELETE FROM keel_audit_entries WHERE seq = :s", s=target)
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.seq) == ("entry", target), problem
    assert "missing" in problem.reason


def test_removing_the_newest_entries_is_caught(log: AuditLog, store: Store) -> None:
    fill(log)
    drop_guards(store)
    sql(store, "DELETE FROM keel_audit_entries WHERE seq > 22")
    problem = log.verify().problem
    assert problem is not None and problem.seq == 23 and "missing" in problem.reason
    # Below a checkpoint: the checkpoint itself says how many entries there were.
    sql(store, "DELETE FROM keel_audit_entries WHERE seq > 15")
    sql(store, "UPDATE keel_audit_head SET seq = 15")
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.seq) == ("checkpoint", 20), problem


def test_reordering_entries_is_caught_at_the_first_moved_one(log: AuditLog, store: Store) -> None:
    fill(log)
    drop_guards(store)
    sql(store, "UPDATE keel_audit_entries SET seq = -1 WHERE seq = 4")
    sql(store, "UPDATE keel_audit_entries SET seq = 4 WHERE seq = 7")
    sql(store, "UPDATE keel_audit_entries SET seq = 7 WHERE seq = -1")
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.seq) == ("entry", 4), problem


def test_a_tampered_checkpoint_is_named(log: AuditLog, store: Store) -> None:
    fill(log)
    drop_guards(store)
    sql(store, "UPDATE keel_audit_checkpoints SET timestamp = '2000-01-01T00:00:00.000000Z' WHERE size = 10")
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.seq) == ("checkpoint", 10) and "signature" in problem.reason
    sql(store, "UPDATE keel_audit_checkpoints SET root = :r WHERE size = 20", r="ab" * 32)
    sql(store, "DELETE FROM keel_audit_checkpoints WHERE size = 10")
    problem = log.verify().problem
    assert problem is not None and (problem.kind, problem.seq) == ("checkpoint", 20) and "root" in problem.reason


# -- checkpoints and proofs --------------------------------------------------------------------------


def test_checkpoints_every_n_entries_every_t_seconds_and_on_demand(store: Store) -> None:
    clock = SkippingClock()
    log = AuditLog(store, signer=Signer.from_seed(SEED_A), policy=CheckpointPolicy(every=5, seconds=30), clock=clock)
    assert log.checkpoint() is None  # nothing to sign yet
    for i in range(4):
        log.append_sync(event(i))
    assert log.checkpoints() == []
    log.append_sync(event(4))
    assert [cp.size for cp in log.checkpoints()] == [5]
    log.append_sync(event(5))
    clock.advance(31)
    log.append_sync(event(6))  # the timer fired: checkpoint at 7, though only 2 entries are new
    assert [cp.size for cp in log.checkpoints()] == [5, 7]
    log.append_sync(event(7))
    forced = log.checkpoint()
    assert forced is not None and forced.size == 8
    assert log.checkpoint() == forced  # nothing new: the newest checkpoint, no new one
    assert [cp.size for cp in log.checkpoints()] == [5, 7, 8]
    assert log.verify().ok


def test_inclusion_proofs_verify_and_fail_when_tampered(log: AuditLog) -> None:
    entries = fill(log)
    log.checkpoint()
    keys = log.public_keys()
    for entry in entries:
        proof = log.inclusion_proof(entry.event_id)
        assert proof.checkpoint.size == COUNT and proof.verify(keys) is None
    early = log.inclusion_proof(entries[4].event_id, checkpoint=10)
    assert early.checkpoint.size == 10 and early.verify(keys) is None
    assert merkle_leaf(early) == early.leaf_hash
    with pytest.raises(AuditError, match="does not cover"):
        log.inclusion_proof(entries[14].event_id, checkpoint=10)

    proof = log.inclusion_proof(entries[6].event_id)
    bad_path = [proof.path[0][:-1] + ("0" if proof.path[0][-1] != "0" else "1"), *proof.path[1:]]
    assert "path" in (proof_with(proof, path=bad_path).verify(keys) or "")
    assert "path" in (proof_with(proof, path=proof.path[:-1]).verify(keys) or "")
    other = log.entry(entries[7].event_id)
    assert proof_with(proof, entry=other).verify(keys) is not None
    altered = type(proof.entry)(**{**proof.entry.__dict__, "action": "forged"})
    assert "hash" in (proof_with(proof, entry=altered).verify(keys) or "")
    cp = proof.checkpoint
    assert proof_with(proof, checkpoint=type(cp)(**{**cp.__dict__, "root": "00" * 32})).verify(keys) is not None
    assert "signature" in (
        proof_with(proof, checkpoint=type(cp)(**{**cp.__dict__, "timestamp": "x"})).verify(keys) or ""
    )
    assert "unknown key" in (proof.verify({}) or "")


def merkle_leaf(proof: Any) -> str:
    return leaf_hash(leaf_data(proof.entry.hash, proof.entry.signature)).hex()


def proof_with(proof: Any, **changes: Any) -> Any:
    return type(proof)(**{**proof.__dict__, **changes})


def test_consistency_proofs_verify_and_fail_when_tampered(log: AuditLog) -> None:
    fill(log)
    log.checkpoint()
    keys = log.public_keys()
    sizes = [cp.size for cp in log.checkpoints()]
    assert sizes == [10, 20, COUNT]
    for old in sizes:
        for new in sizes:
            if old <= new:
                assert log.consistency_proof(old, new).verify(keys) is None
    proof = log.consistency_proof(10, COUNT)
    assert proof.path
    flipped = ["ff" * 32, *proof.path[1:]]
    assert "prefix" in (proof_with(proof, path=flipped).verify(keys) or "")
    assert proof_with(proof, path=proof.path[:-1]).verify(keys) is not None
    forged_old = type(proof.old)(**{**proof.old.__dict__, "root": "00" * 32})
    assert proof_with(proof, old=forged_old).verify(keys) is not None
    with pytest.raises(AuditError, match="no checkpoint at size 11"):
        log.consistency_proof(11, COUNT)


def test_key_rotation_keeps_old_entries_verifiable(store: Store) -> None:
    first = make_log(store, SEED_A)
    fill(first, 12)
    second = make_log(store, SEED_B)
    second.append_many_sync([event(i) for i in range(12, 24)])
    kids = {e.key_id for e in first.entries(0, 100)}
    assert kids == {Signer.from_seed(SEED_A).key_id, Signer.from_seed(SEED_B).key_id}
    assert set(store.audit_keys()) == kids
    assert {cp.key_id for cp in second.checkpoints()} == kids
    report = second.verify(full=True)
    assert report.ok and report.signatures_checked == 24
    # Pinning only the new key: the old key's entries are refused as unknown.
    pinned = second.verify(trusted_keys={Signer.from_seed(SEED_B).key_id: public(SEED_B)})
    assert pinned.problem is not None and pinned.problem.seq == 1 and "unknown key" in pinned.problem.reason
    old_entry = first.entries(0, 1)[0]
    assert second.inclusion_proof(old_entry.event_id).verify(second.public_keys()) is None


# -- export ----------------------------------------------------------------------------------------


def test_export_writes_sealed_segments_and_refuses_to_overwrite(log: AuditLog, tmp_path: Path) -> None:
    fill(log)
    out = tmp_path / "export"
    report = log.export(out)
    assert report.written == ["segment-000000000001-000000000010", "segment-000000000011-000000000020"]
    assert report.unsealed == 5 and report.existing == []
    segment = out / report.written[1]
    assert stat.S_IMODE(segment.stat().st_mode) == 0o555
    manifest = json.loads((segment / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert stat.S_IMODE((segment / name).stat().st_mode) == 0o444
        assert hashlib.sha256((segment / name).read_bytes()).hexdigest() == digest
    lines = [json.loads(line) for line in (segment / "entries.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(11, 21))
    checkpoint = json.loads((segment / "checkpoint.json").read_text())
    assert checkpoint["previous"]["size"] == 10 and checkpoint["size"] == 20
    # The segment stands alone: its keys, hashes, links and root recompute from its own files.
    key_hex = json.loads((segment / "keys.json").read_text())[checkpoint["key_id"]]["public_key"]
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
    key.verify(bytes.fromhex(checkpoint["signature"]), checkpoint["signed_message"].encode())
    for line in lines:
        assert hashlib.sha256(canonical_entry(line)).hexdigest() == line["hash"]

    log.checkpoint()
    again = log.export(out)
    assert again.existing == report.written and again.written == ["segment-000000000021-000000000025"]
    first = out / report.written[0] / "entries.jsonl"
    os.chmod(first.parent, 0o755)
    os.chmod(first, 0o644)
    first.write_text(first.read_text().replace("tool:search", "tool:forged", 1))
    with pytest.raises(AuditError, match="refusing to overwrite"):
        log.export(out)
    assert "tool:forged" in first.read_text()  # left as it was found


# -- concurrency: one chain from many processes --------------------------------------------------


def _append_from_process(url: str, worker: int, rounds: int) -> None:
    store = open_store(url)
    log = make_log(store, SEED_A, every=50)

    async def run() -> None:
        for r in range(rounds):
            tag = f"w{worker}-r{r}"
            # Concurrent single appends (they share commits) and a batch, all at once.
            await asyncio.gather(
                *(log.append(event(i, event_id=f"{tag}-{i}")) for i in range(4)),
                log.append_many([event(i, event_id=f"{tag}-b{i}") for i in range(3)]),
            )

    try:
        asyncio.run(run())
    finally:
        store.close()


@pytest.mark.postgres
def test_appends_from_several_processes_form_one_chain(postgres_url: str) -> None:
    workers, rounds = 4, 15
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(postgres_url, w, rounds)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    store = open_store(postgres_url)
    try:
        log = AuditLog(store, signer=None)
        report = log.verify(full=True)
        expected = workers * rounds * 7
        assert report.ok, report.problem
        assert report.entries == expected and report.signatures_checked == expected
        entries = log.entries(0, expected + 10)
        assert [e.seq for e in entries] == list(range(1, expected + 1))  # no gaps, no duplicates
        assert len({e.event_id for e in entries}) == expected
        # Each batch stayed contiguous: append_many is one transaction under the head's lock.
        by_id = {e.event_id: e.seq for e in entries}
        for w in range(workers):
            for r in range(rounds):
                seqs = [by_id[f"w{w}-r{r}-b{i}"] for i in range(3)]
                assert seqs == list(range(seqs[0], seqs[0] + 3))
        sizes = [cp.size for cp in log.checkpoints()]
        assert sizes and all(b - a >= 50 for a, b in zip([0, *sizes], sizes, strict=False))
    finally:
        store.close()


# -- the signing key ---------------------------------------------------------------------------------


@pytest.fixture
def no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit_keys.KEY_ENV, raising=False)
    monkeypatch.delenv(audit_keys.KEY_FILE_ENV, raising=False)


@pytest.mark.usefixtures("no_audit_key")
def test_the_key_comes_from_the_environment_a_file_or_beside_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'db' / 'keel.db'}"
    with caplog.at_level(logging.WARNING, logger="keel.governance.keys"):
        made = audit_keys.resolve_signer(sqlite_url)
    path = tmp_path / "db" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "created the audit log's signing key" in caplog.text
    assert audit_keys.resolve_signer(sqlite_url).key_id == made.key_id  # the same file, read again

    monkeypatch.setenv(audit_keys.KEY_ENV, base64.b64encode(SEED_B).decode())
    assert audit_keys.resolve_signer(sqlite_url).key_id == Signer.from_seed(SEED_B).key_id
    monkeypatch.setenv(audit_keys.KEY_FILE_ENV, str(path))
    with pytest.raises(ConfigError, match="not both"):
        audit_keys.resolve_signer(sqlite_url)
    monkeypatch.delenv(audit_keys.KEY_ENV)
    assert audit_keys.resolve_signer("postgresql://keel@db.example/keel").key_id == made.key_id
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        audit_keys.resolve_signer(sqlite_url)
    monkeypatch.setenv(audit_keys.KEY_FILE_ENV, str(tmp_path / "nope.key"))
    with pytest.raises(ConfigError, match="does not exist"):
        audit_keys.resolve_signer(sqlite_url)


@pytest.mark.usefixtures("no_audit_key")
def test_postgresql_without_a_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="KEEL_AUDIT_KEY"):
        audit_keys.resolve_signer("postgresql://keel@db.example/keel")
    monkeypatch.setenv(audit_keys.KEY_ENV, "not base64!")
    with pytest.raises(ConfigError, match="base64"):
        audit_keys.resolve_signer("postgresql://keel@db.example/keel")
    monkeypatch.setenv(audit_keys.KEY_ENV, base64.b64encode(b"short").decode())
    with pytest.raises(ConfigError, match="32 bytes"):
        audit_keys.resolve_signer("postgresql://keel@db.example/keel")


def test_checkpoint_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_AUDIT_CHECKPOINT_EVERY", "250")
    monkeypatch.setenv("KEEL_AUDIT_CHECKPOINT_SECONDS", "5")
    assert CheckpointPolicy.from_env() == CheckpointPolicy(every=250, seconds=5.0)
    monkeypatch.setenv("KEEL_AUDIT_CHECKPOINT_EVERY", "0")
    with pytest.raises(ConfigError, match="KEEL_AUDIT_CHECKPOINT_EVERY"):
        CheckpointPolicy.from_env()
