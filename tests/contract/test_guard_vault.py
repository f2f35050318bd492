"""The guard's PII vault on SQLite and PostgreSQL: placeholders, re-identification, crypto-shredding, races."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, insert, select, update

from keel.errors import ConfigError
from keel.guard.vault import Vault, VaultEntry, VaultIntegrityError
from keel.store import Store, open_store
from keel.store import schema as t

KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))
RUN = "run-1"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def vault(store: Store) -> Vault:
    return Vault(store, master_key=KEY)


def rows(store: Store, table: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in store.read(lambda c: c.execute(select(table)).all())]


def vault_row(store: Store, placeholder: str, run_id: str = RUN) -> dict[str, Any]:
    v = t.guard_vault.c
    stmt = select(t.guard_vault).where(v.run_id == run_id, v.placeholder == placeholder)
    return dict(store.read(lambda c: c.execute(stmt).one())._mapping)


def test_the_migration_creates_the_tables_schema_py_describes(store: Store) -> None:
    ours = MetaData()
    for table in (t.guard_keys, t.guard_vault):
        table.to_metadata(ours)

    def diff(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn)
        return [d for d in compare_metadata(context, ours) if "keel_guard" in repr(d)]

    assert store.read(diff) == []


async def test_placeholders_are_stable_numbered_per_type_and_isolated_per_run(vault: Vault) -> None:
    first = await vault.placeholders(
        run_id=RUN,
        subject="alice",
        items=[("EMAIL", "alice@example.com"), ("PHONE", "+1 555 0100"), ("EMAIL", "a.smith@example.org")],
    )
    assert first == ["{{PII_EMAIL_1}}", "{{PII_PHONE_1}}", "{{PII_EMAIL_2}}"]
    # The same values again (and a repeat inside one call) get the same placeholders; new ones the next number.
    again = await vault.placeholders(
        run_id=RUN,
        subject="bob",
        items=[("EMAIL", "bob@example.com"), ("EMAIL", "alice@example.com"), ("EMAIL", "bob@example.com")],
    )
    assert again == ["{{PII_EMAIL_3}}", "{{PII_EMAIL_1}}", "{{PII_EMAIL_3}}"]
    # The same text as another type is another placeholder.
    assert await vault.placeholders(run_id=RUN, subject="alice", items=[("PERSON", "alice@example.com")]) == [
        "{{PII_PERSON_1}}"
    ]
    # Another run numbers from 1 again, and does not share placeholders.
    assert await vault.placeholders(
        run_id="run-2", subject="bob", items=[("EMAIL", "bob@example.com"), ("CREDIT_CARD", "4111 1111 1111 1111")]
    ) == ["{{PII_EMAIL_1}}", "{{PII_CREDIT_CARD_1}}"]
    assert await vault.placeholders(run_id=RUN, subject="alice", items=[]) == []
    assert await vault.entries(RUN) == [
        VaultEntry("{{PII_EMAIL_1}}", "EMAIL", "alice"),
        VaultEntry("{{PII_EMAIL_2}}", "EMAIL", "alice"),
        VaultEntry("{{PII_EMAIL_3}}", "EMAIL", "bob"),
        VaultEntry("{{PII_PERSON_1}}", "PERSON", "alice"),
        VaultEntry("{{PII_PHONE_1}}", "PHONE", "alice"),
    ]
    # The synchronous twins see the same vault.
    assert vault.placeholders_sync(run_id=RUN, subject="alice", items=[("PHONE", "+1 555 0100")]) == ["{{PII_PHONE_1}}"]
    assert vault.entries_sync("run-2") == await vault.entries("run-2")


async def test_reveal_round_trips_only_the_runs_own_placeholders(vault: Vault) -> None:
    email, name = await vault.placeholders(
        run_id=RUN, subject="alice", items=[("EMAIL", "alice@example.com"), ("PERSON", "Alice {{PII_EMAIL_1}} Smith")]
    )
    await vault.placeholders(run_id="run-2", subject="bob", items=[("PHONE", "+1 555 0199")])
    text = f"Dear {name}, we wrote to {email}; not {{{{PII_PHONE_1}}}} nor {{{{PII_EMAIL_9}}}} nor {{{{PII_x}}}}."
    revealed = await vault.reveal(run_id=RUN, text=text)
    # A value that looks like a placeholder is not expanded again; unknown placeholders stay.
    assert revealed == (
        "Dear Alice {{PII_EMAIL_1}} Smith, we wrote to alice@example.com; "
        "not {{PII_PHONE_1}} nor {{PII_EMAIL_9}} nor {{PII_x}}."
    )
    assert vault.reveal_sync(run_id=RUN, text=text) == revealed
    assert await vault.reveal(run_id="run-2", text="call {{PII_PHONE_1}}") == "call +1 555 0199"
    assert await vault.reveal(run_id="no-such-run", text="{{PII_EMAIL_1}}") == "{{PII_EMAIL_1}}"
    assert await vault.reveal(run_id=RUN, text="nothing to see") == "nothing to see"


async def test_values_are_never_stored_in_clear(vault: Vault, store: Store) -> None:
    values = ["alice@example.com", "+1 555 0100", "Zoë Ångström", "4111111111111111"]
    await vault.placeholders(
        run_id=RUN, subject="alice", items=list(zip(["EMAIL", "PHONE", "PERSON", "CREDIT_CARD"], values, strict=True))
    )
    raw = repr([rows(store, t.guard_keys), rows(store, t.guard_vault)]).encode()
    blobs = b"".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
        for table in (t.guard_keys, t.guard_vault)
        for row in rows(store, table)
        for v in row.values()
    )
    for value in values:
        for encoded in (value.encode(), value.encode("utf-16-le"), value.lower().encode()):
            assert encoded not in raw and encoded not in blobs
    assert KEY not in blobs and hashlib.sha256(KEY).digest() not in blobs
    # What is stored: a 32-byte MAC per value, nonce + ciphertext + tag, a wrapped 256-bit key.
    (key_row,) = rows(store, t.guard_keys)
    assert len(bytes(key_row["wrapped_key"])) == 12 + 32 + 16
    assert key_row["key_id"] == hashlib.sha256(KEY).hexdigest()[:8] == vault.key_id
    row = vault_row(store, "{{PII_EMAIL_1}}")
    assert len(bytes(row["value_mac"])) == 32
    assert len(bytes(row["ciphertext"])) == 12 + len(values[0]) + 16


async def test_forgetting_a_subject_shreds_its_values_and_only_its_values(vault: Vault, store: Store) -> None:
    alice = await vault.placeholders(
        run_id=RUN, subject="alice", items=[("EMAIL", "alice@example.com"), ("PHONE", "+1 555 0100")]
    )
    bob = await vault.placeholders(run_id=RUN, subject="bob", items=[("EMAIL", "bob@example.com")])
    await vault.placeholders(run_id="run-2", subject="alice", items=[("EMAIL", "alice@example.com")])
    assert await vault.export_subject("alice") == [
        {"run_id": RUN, "placeholder": "{{PII_EMAIL_1}}", "pii_type": "EMAIL", "value": "alice@example.com"},
        {"run_id": RUN, "placeholder": "{{PII_PHONE_1}}", "pii_type": "PHONE", "value": "+1 555 0100"},
        {"run_id": "run-2", "placeholder": "{{PII_EMAIL_1}}", "pii_type": "EMAIL", "value": "alice@example.com"},
    ]
    text = f"{alice[0]} / {alice[1]} / {bob[0]}"

    assert await vault.forget_subject("alice") == 3
    assert await vault.reveal(run_id=RUN, text=text) == "{{PII_EMAIL_1}} / {{PII_PHONE_1}} / bob@example.com"
    assert await vault.export_subject("alice") == []
    assert vault.export_subject_sync("bob") == [
        {"run_id": RUN, "placeholder": "{{PII_EMAIL_2}}", "pii_type": "EMAIL", "value": "bob@example.com"}
    ]
    # Nothing is left that could decrypt a value or confirm a guessed one: no key, no MAC, no ciphertext.
    assert [r["subject"] for r in rows(store, t.guard_keys)] == ["bob"]
    for row in rows(store, t.guard_vault):
        if row["subject"] == "alice":
            assert row["value_mac"] is None and row["ciphertext"] is None
    # The placeholders stay listed, and their numbers are not reused: the value met again is a new one.
    assert [e.placeholder for e in await vault.entries(RUN)] == [
        "{{PII_EMAIL_1}}",
        "{{PII_EMAIL_2}}",
        "{{PII_PHONE_1}}",
    ]
    assert await vault.placeholders(run_id=RUN, subject="alice", items=[("EMAIL", "alice@example.com")]) == [
        "{{PII_EMAIL_3}}"
    ]
    assert await vault.reveal(run_id=RUN, text="{{PII_EMAIL_1}} {{PII_EMAIL_3}}") == "{{PII_EMAIL_1}} alice@example.com"
    assert await vault.forget_subject("alice") == 1
    assert vault.forget_subject_sync("alice") == 0
    assert await vault.forget_subject("nobody") == 0


async def test_a_wrong_master_key_is_a_clear_error(vault: Vault, store: Store) -> None:
    await vault.placeholders(run_id=RUN, subject="alice", items=[("EMAIL", "alice@example.com")])
    wrong = Vault(store, master_key=OTHER_KEY)
    ours, theirs = hashlib.sha256(KEY).hexdigest()[:8], hashlib.sha256(OTHER_KEY).hexdigest()[:8]
    expected = f"wrapped with key id {ours}, the master key given is key id {theirs}"
    # Before anything is numbered: with the wrong key, no MAC would match and values would be numbered twice.
    with pytest.raises(ConfigError, match=expected):
        await wrong.placeholders(run_id=RUN, subject="carol", items=[("EMAIL", "carol@example.com")])
    with pytest.raises(ConfigError, match=expected):
        await wrong.reveal(run_id=RUN, text="{{PII_EMAIL_1}}")
    with pytest.raises(ConfigError, match=expected):
        await wrong.export_subject("alice")
    assert [e.placeholder for e in await vault.entries(RUN)] == ["{{PII_EMAIL_1}}"]
    assert await vault.reveal(run_id=RUN, text="{{PII_EMAIL_1}}") == "alice@example.com"


async def test_tampering_is_detected_and_reveals_nothing(vault: Vault, store: Store) -> None:
    """A value or key that fails authentication raises VaultIntegrityError (it is not left as a placeholder,
    which would make tampering look like a deletion); the error names the placeholder, never a value."""
    email, phone = await vault.placeholders(
        run_id=RUN, subject="alice", items=[("EMAIL", "alice@example.com"), ("PHONE", "+1 555 0100")]
    )
    v, k = t.guard_vault.c, t.guard_keys.c
    original = bytes(vault_row(store, email)["ciphertext"])

    def set_ciphertext(placeholder: str, data: bytes) -> None:
        store.write(
            lambda c: c.execute(
                update(t.guard_vault).where(v.run_id == RUN, v.placeholder == placeholder).values(ciphertext=data)
            )
        )

    flipped = bytearray(original)
    flipped[-20] ^= 0x01
    set_ciphertext(email, bytes(flipped))
    with pytest.raises(
        VaultIntegrityError, match=r"\{\{PII_EMAIL_1\}\} \(run run-1\) failed its integrity check"
    ) as err:
        await vault.reveal(run_id=RUN, text=f"{email} {phone}")
    assert "alice" not in str(err.value) and "555" not in str(err.value)
    with pytest.raises(VaultIntegrityError):
        await vault.export_subject("alice")
    # A ciphertext moved to another row does not open there either (the row is part of what is authenticated).
    set_ciphertext(email, bytes(vault_row(store, phone)["ciphertext"]))
    with pytest.raises(VaultIntegrityError):
        await vault.reveal(run_id=RUN, text=email)
    set_ciphertext(email, original)
    assert await vault.reveal(run_id=RUN, text=email) == "alice@example.com"

    wrapped = bytearray(store.read(lambda c: c.execute(select(k.wrapped_key)).scalar_one()))
    wrapped[15] ^= 0x80
    store.write(lambda c: c.execute(update(t.guard_keys).values(wrapped_key=bytes(wrapped))))
    with pytest.raises(VaultIntegrityError, match="data key"):
        await vault.reveal(run_id=RUN, text=email)


def test_a_lost_race_rereads_instead_of_duplicating(store: Store) -> None:
    """Another writer's row appearing between the read of the next number and the insert: the insert
    yields, and the writer takes the value's placeholder if the rival stored it, else the next number."""
    vault = Vault(store, master_key=KEY)
    rival_mac = b"\x01" * 32
    state: dict[str, Any] = {}

    def rival_row(placeholder: str, ordinal: int, mac: bytes) -> Any:
        return insert(t.guard_vault).values(
            run_id=RUN,
            placeholder=placeholder,
            subject="rival",
            pii_type="EMAIL",
            ordinal=ordinal,
            value_mac=mac,
            ciphertext=b"x",
            created_at=0.0,
        )

    def place(items: list[tuple[str, str]], interfere: Any) -> list[str]:
        macs, values = vault._prepare(RUN, "alice", items)
        seal = vault._sealer(RUN, "alice", values)
        calls = []

        def racing_seal(wrapped: bytes, key_id: str, index: int, placeholder: str) -> bytes:
            # Called inside the transaction right before the insert: the rival "commits" now.
            calls.append(placeholder)
            if len(calls) == 1:
                state["conn"].execute(interfere(macs))
            return seal(wrapped, key_id, index, placeholder)

        op = store._guard_placeholders_op(RUN, "alice", macs, new_key=vault._sealing.new_key, seal=racing_seal, now=1.0)

        def run(conn: Any) -> list[str]:
            state["conn"] = conn
            return op(conn)

        result = store.write(run)
        state["calls"] = calls
        return result

    # The rival took number 1 for another value: this value becomes number 2.
    assert place([("EMAIL", "alice@example.com")], lambda macs: rival_row("{{PII_EMAIL_1}}", 1, rival_mac)) == [
        "{{PII_EMAIL_2}}"
    ]
    assert state["calls"] == ["{{PII_EMAIL_1}}", "{{PII_EMAIL_2}}"]
    # The rival stored this very value first (under number 3): that placeholder is the answer.
    assert place([("EMAIL", "bob@example.com")], lambda macs: rival_row("{{PII_EMAIL_3}}", 3, macs[0][1])) == [
        "{{PII_EMAIL_3}}"
    ]
    assert state["calls"] == ["{{PII_EMAIL_3}}"]
    placeholders = [r["placeholder"] for r in rows(store, t.guard_vault)]
    assert sorted(placeholders) == ["{{PII_EMAIL_1}}", "{{PII_EMAIL_2}}", "{{PII_EMAIL_3}}"]


def test_concurrent_workers_agree_on_every_placeholder(db_url: str, store: Store) -> None:
    """Two workers (two stores, two threads each) place overlapping values of one run at once."""
    other = open_store(db_url)
    emails = [f"user{i}@example.com" for i in range(24)]
    phones = [f"+1 555 01{i:02d}" for i in range(12)]
    items = [("EMAIL", e) for e in emails] + [("PHONE", p) for p in phones]
    results: list[list[tuple[tuple[str, str], str]]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)
    lock = threading.Lock()

    def worker(s: Store, order: list[tuple[str, str]], subject: str) -> None:
        vault = Vault(s, master_key=KEY)
        seen: list[tuple[tuple[str, str], str]] = []
        try:
            barrier.wait()
            for start in range(0, len(order), 5):
                chunk = order[start : start + 5]
                seen.extend(zip(chunk, vault.placeholders_sync(run_id=RUN, subject=subject, items=chunk), strict=True))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        with lock:
            results.append(seen)

    orders = [items, items[::-1], items[1::2] + items[::2], items[::3] + items[1::3] + items[2::3]]
    threads = [
        threading.Thread(target=worker, args=(s, order, subject))
        for s, order, subject in zip(
            (store, other, store, other), orders, ("alice", "alice", "bob", "bob"), strict=True
        )
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert errors == []
    mapping: dict[tuple[str, str], str] = {}
    for seen in results:
        assert len(seen) == len(items)
        for item, placeholder in seen:
            assert mapping.setdefault(item, placeholder) == placeholder, item
    # One placeholder per value, numbered densely from 1 per type.
    assert len(set(mapping.values())) == len(items)
    assert sorted(p for (kind, _), p in mapping.items() if kind == "EMAIL") == sorted(
        f"{{{{PII_EMAIL_{n}}}}}" for n in range(1, 25)
    )
    assert sorted(p for (kind, _), p in mapping.items() if kind == "PHONE") == sorted(
        f"{{{{PII_PHONE_{n}}}}}" for n in range(1, 13)
    )
    assert len(rows(store, t.guard_vault)) == len(items)
    assert len(rows(store, t.guard_keys)) == 2  # one key per subject, though two workers created each at once
    vault = Vault(store, master_key=KEY)
    for (_, value), placeholder in mapping.items():
        assert vault.reveal_sync(run_id=RUN, text=placeholder) == value


def test_concurrent_first_use_of_a_subject_makes_one_key(db_url: str, store: Store) -> None:
    stores = [store, open_store(db_url), open_store(db_url)]
    barrier = threading.Barrier(len(stores) * 2)
    errors: list[BaseException] = []

    def worker(s: Store, n: int) -> None:
        try:
            barrier.wait()
            Vault(s, master_key=KEY).placeholders_sync(run_id=f"run-{n}", subject="dana", items=[("EMAIL", "d@x.io")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s, i * 2 + j)) for i, s in enumerate(stores) for j in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for s in stores[1:]:
            s.close()
    assert errors == []
    assert len(rows(store, t.guard_keys)) == 1
    exported = Vault(store, master_key=KEY).export_subject_sync("dana")
    assert sorted(e["run_id"] for e in exported) == [f"run-{n}" for n in range(6)]
    assert {e["value"] for e in exported} == {"d@x.io"}
