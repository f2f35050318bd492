"""The guard's PII vault: per-subject wrapped data keys and each run's placeholder table.

No cryptography happens here: the vault (keel.guard.vault) hands in the keyed MACs it looks values
up by and callbacks that wrap a new data key and seal a value, and gets sealed rows back. What
lives here is the numbering and the races.

Numbering: a run's placeholders of one type are numbered 1, 2, ... in the order they are first
seen. A new one takes the type's highest number in the run plus one, inserted with ON CONFLICT DO
NOTHING: when a concurrent writer took that number (the primary key) or stored the same value first
(UNIQUE (run_id, value_mac)), nothing is inserted, and the writer re-reads: the value's placeholder
if it now exists, else the next free number. So numbers stay dense, and within one type of one run
only one PostgreSQL transaction at a time can hold uncommitted placeholders: a second one's first
insert computes the same next number and waits on the first's row before it holds any. With new
values inserted type by type in one order (then in order of appearance), two writers racing in one
run cannot deadlock. On SQLite, BEGIN IMMEDIATE already makes writers take turns.

A subject's data key is created on first use the same way (insert if absent, read back), so two
workers that meet a new subject at once end up with one key. The key row is read FOR SHARE in the
transaction that stores values under it, so forgetting the subject (which deletes the row) waits
for that transaction and then shreds its rows too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from keel.errors import StoreError
from keel.store import schema as t

# How often one value's insert may lose a race before the vault gives up: each loss means another
# writer stored a placeholder of the same type in the same run meanwhile.
_MAX_RACES = 1000


def placeholder_for(pii_type: str, ordinal: int) -> str:
    """The placeholder text of a run's `ordinal`-th value of `pii_type`: ``{{PII_EMAIL_1}}``."""
    return f"{{{{PII_{pii_type}_{ordinal}}}}}"


@dataclass(frozen=True, slots=True)
class SealedValue:
    """A vault row with its subject's wrapped data key (None once the subject was forgotten)."""

    run_id: str
    placeholder: str
    pii_type: str
    subject: str
    ciphertext: bytes | None
    wrapped_key: bytes | None
    key_id: str | None


# new_key(subject) -> (wrapped data key, master key id)
NewKey = Callable[[str], tuple[bytes, str]]
# seal(wrapped data key, master key id, item index, placeholder) -> ciphertext
Seal = Callable[[bytes, str, int, str], bytes]


def lookup_op(run_id: str, macs: Sequence[bytes]) -> Callable[[Connection], dict[bytes, str]]:
    """A read op: the placeholders already held in the run for these value MACs."""
    return lambda conn: _lookup(conn, run_id, macs)


def _lookup(conn: Connection, run_id: str, macs: Sequence[bytes]) -> dict[bytes, str]:
    if not macs:
        return {}
    v = t.guard_vault.c
    rows = conn.execute(select(v.value_mac, v.placeholder).where(v.run_id == run_id, v.value_mac.in_(set(macs))))
    return {bytes(mac): str(placeholder) for mac, placeholder in rows}


def _subject_key(
    conn: Connection, subject: str, new_key: NewKey, insert_ignore: Callable[[Any], Any], now: float
) -> tuple[bytes, str]:
    k = t.guard_keys.c
    # FOR SHARE: a concurrent forget waits until the values sealed under this key are committed,
    # so it shreds them too (SQLite ignores the clause; its writers take turns anyway).
    find = select(k.wrapped_key, k.key_id).where(k.subject == subject).with_for_update(read=True)
    for _ in range(3):
        row = conn.execute(find).first()
        if row is not None:
            return bytes(row.wrapped_key), str(row.key_id)
        wrapped, key_id = new_key(subject)
        conn.execute(
            insert_ignore(t.guard_keys)
            .values(subject=subject, wrapped_key=wrapped, key_id=key_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["subject"])
        )
    # Created, deleted by a forget and created again, three times over: not a race worth winning.
    raise StoreError("could not create the subject's data key: it keeps being deleted concurrently")


def _max_ordinal(conn: Connection, run_id: str, pii_type: str) -> int:
    v = t.guard_vault.c
    stmt = select(func.coalesce(func.max(v.ordinal), 0)).where(v.run_id == run_id, v.pii_type == pii_type)
    return int(conn.execute(stmt).scalar_one())


def placeholders_op(
    run_id: str,
    subject: str,
    items: Sequence[tuple[str, bytes]],
    *,
    new_key: NewKey,
    seal: Seal,
    insert_ignore: Callable[[Any], Any],
    now: float,
) -> Callable[[Connection], list[str]]:
    """A write op: the run's placeholder for each (pii_type, value MAC) of `items`, the new ones stored."""

    def op(conn: Connection) -> list[str]:
        found = _lookup(conn, run_id, [mac for _, mac in items])
        first_index: dict[bytes, int] = {}
        for index, (_, mac) in enumerate(items):
            first_index.setdefault(mac, index)
        missing = sorted(
            {(pii_type, first_index[mac], mac) for pii_type, mac in items if mac not in found},
            key=lambda item: (item[0], item[1]),
        )
        if missing:
            wrapped, key_id = _subject_key(conn, subject, new_key, insert_ignore, now)
            v = t.guard_vault
            next_ordinal: dict[str, int] = {}
            for pii_type, index, mac in missing:
                for _ in range(_MAX_RACES):
                    if pii_type not in next_ordinal:
                        next_ordinal[pii_type] = _max_ordinal(conn, run_id, pii_type) + 1
                    ordinal = next_ordinal[pii_type]
                    placeholder = placeholder_for(pii_type, ordinal)
                    stored = conn.execute(
                        insert_ignore(v)
                        .values(
                            run_id=run_id,
                            placeholder=placeholder,
                            subject=subject,
                            pii_type=pii_type,
                            ordinal=ordinal,
                            value_mac=mac,
                            ciphertext=seal(wrapped, key_id, index, placeholder),
                            created_at=now,
                        )
                        .on_conflict_do_nothing()
                        .returning(v.c.placeholder)
                    ).first()
                    if stored is not None:
                        found[mac] = placeholder
                        next_ordinal[pii_type] = ordinal + 1
                        break
                    # Lost a race: another writer stored this value, or took this number.
                    again = _lookup(conn, run_id, [mac])
                    if again:
                        found[mac] = again[mac]
                        break
                    del next_ordinal[pii_type]
                else:
                    raise StoreError(f"could not number a new {pii_type} placeholder in run {run_id}", run_id=run_id)
        return [found[mac] for _, mac in items]

    return op


def _sealed_query() -> Any:
    v, k = t.guard_vault.c, t.guard_keys.c
    return (
        select(v.run_id, v.placeholder, v.pii_type, v.subject, v.ciphertext, k.wrapped_key, k.key_id)
        .select_from(t.guard_vault.outerjoin(t.guard_keys, k.subject == v.subject))
        .order_by(v.run_id, v.pii_type, v.ordinal)
    )


def _sealed(rows: Sequence[Any]) -> list[SealedValue]:
    return [
        SealedValue(
            run_id=str(r.run_id),
            placeholder=str(r.placeholder),
            pii_type=str(r.pii_type),
            subject=str(r.subject),
            ciphertext=bytes(r.ciphertext) if r.ciphertext is not None else None,
            wrapped_key=bytes(r.wrapped_key) if r.wrapped_key is not None else None,
            key_id=str(r.key_id) if r.key_id is not None else None,
        )
        for r in rows
    ]


def run_values_op(run_id: str, placeholders: Sequence[str] | None = None) -> Callable[[Connection], list[SealedValue]]:
    """A read op: the run's rows (only `placeholders`, when given), ordered by type and number."""
    v = t.guard_vault.c
    stmt = _sealed_query().where(v.run_id == run_id)
    if placeholders is not None:
        if not placeholders:
            return lambda conn: []
        stmt = stmt.where(v.placeholder.in_(set(placeholders)))
    return lambda conn: _sealed(conn.execute(stmt).all())


def subject_values_op(subject: str) -> Callable[[Connection], list[SealedValue]]:
    """A read op: every row held for `subject`, in every run."""
    stmt = _sealed_query().where(t.guard_vault.c.subject == subject)
    return lambda conn: _sealed(conn.execute(stmt).all())


def forget_op(subject: str) -> Callable[[Connection], int]:
    """A write op: delete the subject's data key and wipe its rows' MACs and ciphertexts; how many it shredded.

    The rows stay, so a run's placeholder numbers are never reused; a later value of the subject
    is sealed under a new key.
    """

    def op(conn: Connection) -> int:
        k, v = t.guard_keys.c, t.guard_vault.c
        conn.execute(delete(t.guard_keys).where(k.subject == subject))
        shredded = conn.execute(
            update(t.guard_vault)
            .where(v.subject == subject, v.ciphertext.is_not(None))
            .values(value_mac=None, ciphertext=None)
        )
        return int(shredded.rowcount)

    return op


def key_id_sample_op() -> Callable[[Connection], str | None]:
    """A read op: the master key id of any one data key (all share one: rotation is not supported)."""
    stmt = select(t.guard_keys.c.key_id).limit(1)
    return lambda conn: conn.execute(stmt).scalar_one_or_none()


__all__ = [
    "NewKey",
    "Seal",
    "SealedValue",
    "forget_op",
    "key_id_sample_op",
    "lookup_op",
    "placeholder_for",
    "placeholders_op",
    "run_values_op",
    "subject_values_op",
]
