"""The audit log: signed, hash-chained, append-only entries with signed Merkle checkpoints and proofs.

Every entry records who (`actor`) did what (`event_type`, `action`, `resource`), what was decided
under which policy (`decision`, `policy_version`, `risk_score`), in which trace, and redacted
details (`data`). Entries form one chain: entry n holds the hash of entry n-1 (`prev_hash`), its own
`hash` (SHA-256 over the canonical encoding below) and an Ed25519 `signature` over that hash, made
with the key `key_id` names. The database refuses UPDATE and DELETE on the tables (triggers), and
`verify` re-checks everything from the rows, so an edit made by someone who drops the triggers is
still found, at the entry it touched.

Canonical encoding of an entry (what `hash` is the SHA-256 of): the UTF-8 bytes of the RFC 8785
canonical JSON of the object with exactly these keys, from the stored row:

    action, actor {"id", "kind"}, data (the JSON object), decision, event_id, event_type, key_id,
    policy_version, prev_hash, resource, risk_score, seq, timestamp, trace_id

absent values as null, `seq` and `risk_score` as integers, `timestamp` as the stored RFC 3339
string (UTC, microseconds, "Z"), hashes as lowercase hex. The first entry's `prev_hash` is 64 zeros.
The signature is Ed25519 over the 32 raw bytes of the hash.

Checkpoints: an RFC 6962 Merkle tree whose leaf n is the 96 bytes hash ‖ signature of entry n+1
(raw), so a checkpoint commits to the signatures too. A checkpoint is (size, root, timestamp), signed
by Ed25519 over the UTF-8 of the canonical JSON {"root": hex, "size": n, "timestamp": "...",
"type": "keel.audit.checkpoint.v1"}. One is made, inside the append transaction that reaches it,
when `every` entries have been added since the last, or when an append finds `seconds` elapsed since
the last one; `checkpoint()` forces one.

`verify` checks each entry's hash, link and position, each checkpoint's root and signature, and the
signature of every entry no checkpoint covers yet; an entry a checkpoint covers has its signature
bound by that checkpoint's signed root (a changed signature changes the root), so its signature is
only checked when the root does not match, to name the entry. `full=True` checks every signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keel.errors import ConfigError, KeelError, UsageError
from keel.governance import canonical, merkle
from keel.governance.keys import ALGORITHM, Signer, load_public_key, resolve_signer
from keel.governance.sinks import DirectorySink, Sink, SinkError
from keel.observe.redact import scrub
from keel.store import Store
from keel.store.audit import Head, Plan
from keel.types import Clock, SystemClock

GENESIS_HASH = "0" * 64
ACTOR_KINDS = ("user", "agent", "system")
CHECKPOINT_TYPE = "keel.audit.checkpoint.v1"
EVERY_ENV = "KEEL_AUDIT_CHECKPOINT_EVERY"
SECONDS_ENV = "KEEL_AUDIT_CHECKPOINT_SECONDS"
DEFAULT_EVERY = 1000
DEFAULT_SECONDS = 60.0
_VERIFY_CHUNK = 5000
# Column lengths of keel_audit_entries: refused up front rather than by the database mid-batch.
_LIMITS = {
    "event_id": 64,
    "trace_id": 32,
    "event_type": 100,
    "actor_id": 200,
    "action": 200,
    "resource": 500,
    "decision": 50,
    "policy_version": 100,
}


class AuditError(KeelError):
    """The audit log cannot do what was asked (no checkpoint covers an entry, an export would overwrite)."""

    code = "governance.audit"


# -- what goes in ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a user, an agent or the system, with an id."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise UsageError(f"actor kind must be one of {', '.join(ACTOR_KINDS)}, got {self.kind!r}")
        if not isinstance(self.id, str) or not self.id or len(self.id) > _LIMITS["actor_id"]:
            raise UsageError(f"actor id must be a non-empty string of at most {_LIMITS['actor_id']} characters")

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind}


@dataclass(frozen=True)
class AuditEvent:
    """One thing to record. `data` is redacted on append (string values scrubbed of PII and secrets)."""

    event_type: str
    actor: Actor | Mapping[str, str]
    action: str
    resource: str | None = None
    decision: str | None = None
    policy_version: str | None = None
    risk_score: int | None = None
    trace_id: str | None = None
    data: Mapping[str, Any] | None = None
    event_id: str | None = None  # a fresh UUID when not given; unique in the log


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log, as stored."""

    seq: int
    event_id: str
    timestamp: str
    trace_id: str | None
    event_type: str
    actor: Actor
    action: str
    resource: str | None
    decision: str | None
    policy_version: str | None
    risk_score: int | None
    data: dict[str, Any]
    prev_hash: str
    hash: str
    key_id: str
    signature: str

    def canonical(self) -> bytes:
        """The bytes `hash` is the SHA-256 of."""
        return _canonical_row(_row_of(self))

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON (the export's line format)."""
        out = dataclasses.asdict(self)
        out["actor"] = self.actor.as_dict()
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AuditEntry:
        fields = dict(raw)
        fields["actor"] = Actor(**fields["actor"])
        return cls(**fields)


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the entries 1..size have Merkle root `root`."""

    size: int
    root: str
    timestamp: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        """The bytes the signature is over."""
        return checkpoint_message(self.size, self.root, self.timestamp)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CheckpointPolicy:
    """When appends checkpoint: after `every` new entries, or at the first append `seconds` after the last one."""

    every: int = DEFAULT_EVERY
    seconds: float = DEFAULT_SECONDS

    @classmethod
    def from_env(cls) -> CheckpointPolicy:
        return cls(every=_env_int(EVERY_ENV, cls.every), seconds=_env_float(SECONDS_ENV, cls.seconds))


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}", key=name) from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {raw!r}", key=name)
    return value


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}", key=name) from None
    if not value > 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}", key=name)
    return value


# -- encodings -----------------------------------------------------------------------------------


def timestamp_text(epoch: float) -> str:
    """Epoch seconds as the log writes them: RFC 3339, UTC, microseconds, fixed width."""
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _opt(value: str | None) -> str:
    return "null" if value is None else canonical.encode_string(value)


# Positions in the row tuples verify reads (ROW_COLUMNS order).
ROW_COLUMNS = (
    "seq",
    "event_id",
    "timestamp",
    "trace_id",
    "event_type",
    "actor_kind",
    "actor_id",
    "action",
    "resource",
    "decision",
    "policy_version",
    "risk_score",
    "data",
    "prev_hash",
    "hash",
    "key_id",
    "signature",
)


def _canonical_row(r: Sequence[Any]) -> bytes:
    """RFC 8785 of the entry whose stored row is `r` (ROW_COLUMNS order), keys in their sorted order.

    `data` is stored as its canonical text and spliced in as is: re-encoding it would give the same
    bytes, and a row whose data text is not canonical then fails to verify, as it should.
    """
    enc = canonical.encode_string
    risk = r[11]
    data: str = r[12]
    return (
        '{"action":' + enc(r[7])
        + ',"actor":{"id":' + enc(r[6]) + ',"kind":' + enc(r[5])
        + '},"data":' + data
        + ',"decision":' + _opt(r[9])
        + ',"event_id":' + enc(r[1])
        + ',"event_type":' + enc(r[4])
        + ',"key_id":' + enc(r[15])
        + ',"policy_version":' + _opt(r[10])
        + ',"prev_hash":' + enc(r[13])
        + ',"resource":' + _opt(r[8])
        + ',"risk_score":' + ("null" if risk is None else str(int(risk)))
        + ',"seq":' + str(int(r[0]))
        + ',"timestamp":' + enc(r[2])
        + ',"trace_id":' + _opt(r[3])
        + "}"
    ).encode("utf-8")  # fmt: skip


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an entry given as a JSON object (an exported line): for auditors' tooling."""
    fields = {k: entry[k] for k in entry if k not in ("hash", "signature")}
    return canonical.dumps(fields).encode("utf-8")


def _row_of(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.event_id,
        entry.timestamp,
        entry.trace_id,
        entry.event_type,
        entry.actor.kind,
        entry.actor.id,
        entry.action,
        entry.resource,
        entry.decision,
        entry.policy_version,
        entry.risk_score,
        canonical.dumps(entry.data),
        entry.prev_hash,
        entry.hash,
        entry.key_id,
        entry.signature,
    )


def _entry_of(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row[0]),
        event_id=row[1],
        timestamp=row[2],
        trace_id=row[3],
        event_type=row[4],
        actor=Actor(kind=row[5], id=row[6]),
        action=row[7],
        resource=row[8],
        decision=row[9],
        policy_version=row[10],
        risk_score=None if row[11] is None else int(row[11]),
        data=json.loads(row[12]),
        prev_hash=row[13],
        hash=row[14],
        key_id=row[15],
        signature=row[16],
    )


def checkpoint_message(size: int, root: str, timestamp: str) -> bytes:
    """What a checkpoint's signature is over."""
    return canonical.dumps({"root": root, "size": size, "timestamp": timestamp, "type": CHECKPOINT_TYPE}).encode()


def leaf_data(hash_hex: str, signature_hex: str) -> bytes:
    """An entry's Merkle leaf data: its raw hash ‖ raw signature (96 bytes)."""
    return bytes.fromhex(hash_hex) + bytes.fromhex(signature_hex)


def entry_leaf_hash(hash_hex: str, signature_hex: str) -> bytes:
    return merkle.leaf_hash(leaf_data(hash_hex, signature_hex))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _text(name: str, value: object) -> str | None:
    return None if value is None else _required(name, value)


def _required(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"audit event {name} must be a non-empty string")
    if len(value) > _LIMITS[name]:
        raise UsageError(f"audit event {name} is longer than {_LIMITS[name]} characters")
    return value


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An event validated and redacted outside the lock, waiting for its place in the chain."""

    event_id: str
    trace_id: str | None
    event_type: str
    actor: Actor
    action: str
    resource: str | None
    decision: str | None
    policy_version: str | None
    risk_score: int | None
    data: str


def _prepare(event: AuditEvent) -> _Prepared:
    actor = event.actor if isinstance(event.actor, Actor) else Actor(**dict(event.actor))
    risk = event.risk_score
    if risk is not None and (isinstance(risk, bool) or not isinstance(risk, int) or not 0 <= risk <= 100):
        raise UsageError(f"risk_score must be an integer from 0 to 100, got {risk!r}")
    data = event.data if event.data is not None else {}
    if not isinstance(data, Mapping):
        raise UsageError("audit event data must be a JSON object (a mapping)")
    return _Prepared(
        event_id=_required("event_id", event.event_id) if event.event_id is not None else str(uuid.uuid4()),
        trace_id=_text("trace_id", event.trace_id),
        event_type=_required("event_type", event.event_type),
        actor=actor,
        action=_required("action", event.action),
        resource=_text("resource", event.resource),
        decision=_text("decision", event.decision),
        policy_version=_text("policy_version", event.policy_version),
        risk_score=risk,
        data=canonical.dumps(_redact(data)),
    )


# -- proofs and reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong: an entry (by seq), a checkpoint (by size), or the log as a whole."""

    kind: str  # entry | checkpoint | log
    seq: int | None
    event_id: str | None
    reason: str

    def describe(self) -> str:
        if self.kind == "entry":
            named = f" (event {self.event_id})" if self.event_id else ""
            return f"entry {self.seq}{named}: {self.reason}"
        if self.kind == "checkpoint":
            return f"checkpoint at size {self.seq}: {self.reason}"
        return self.reason


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` checked and the first problem it found (None: the log is intact)."""

    entries: int
    checkpoints: int
    signatures_checked: int
    unsealed: int  # entries after the last checkpoint
    seconds: float
    problem: Problem | None
    pruned: int = 0  # entries retention purged (1..pruned): checked through their kept hashes

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ok"] = self.ok
        out["problem"] = (
            None if self.problem is None else {**dataclasses.asdict(self.problem), "message": self.problem.describe()}
        )
        return out


def _verify_checkpoint_signature(cp: Checkpoint, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    key = keys.get(cp.key_id)
    if key is None:
        return f"signed by unknown key {cp.key_id}"
    try:
        key.verify(bytes.fromhex(cp.signature), cp.message())
    except (InvalidSignature, ValueError):
        return "its signature does not verify"
    return None


@dataclass(frozen=True)
class InclusionProof:
    """That `entry` is leaf seq-1 of the tree `checkpoint` signed."""

    entry: AuditEntry
    checkpoint: Checkpoint
    path: list[str]  # sibling hashes, nearest first (hex)

    @property
    def leaf_hash(self) -> str:
        return entry_leaf_hash(self.entry.hash, self.entry.signature).hex()

    def verify(self, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
        """None when the proof holds; else why not. Checks the entry's hash and signature, the path, the checkpoint."""
        entry, cp = self.entry, self.checkpoint
        digest = hashlib.sha256(entry.canonical()).digest()
        if digest.hex() != entry.hash:
            return "the entry's hash does not match its fields"
        key = keys.get(entry.key_id)
        if key is None:
            return f"the entry is signed by unknown key {entry.key_id}"
        try:
            key.verify(bytes.fromhex(entry.signature), digest)
        except (InvalidSignature, ValueError):
            return "the entry's signature does not verify"
        try:
            path = [bytes.fromhex(p) for p in self.path]
            ok = merkle.verify_inclusion(
                entry.seq - 1, cp.size, bytes.fromhex(self.leaf_hash), path, bytes.fromhex(cp.root)
            )
        except ValueError:
            ok = False
        if not ok:
            return "the path does not lead to the checkpoint's root"
        bad = _verify_checkpoint_signature(cp, keys)
        return None if bad is None else f"the checkpoint: {bad}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.as_dict(),
            "leaf_index": self.entry.seq - 1,
            "leaf_hash": self.leaf_hash,
            "tree_size": self.checkpoint.size,
            "path": self.path,
            "checkpoint": self.checkpoint.as_dict(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """That the tree `old` signed is a prefix of the tree `new` signed."""

    old: Checkpoint
    new: Checkpoint
    path: list[str]

    def verify(self, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
        """None when the proof holds; else why not."""
        for cp in (self.old, self.new):
            bad = _verify_checkpoint_signature(cp, keys)
            if bad is not None:
                return f"checkpoint at size {cp.size}: {bad}"
        try:
            ok = merkle.verify_consistency(
                self.old.size,
                self.new.size,
                bytes.fromhex(self.old.root),
                bytes.fromhex(self.new.root),
                [bytes.fromhex(p) for p in self.path],
            )
        except ValueError:
            ok = False
        return None if ok else "the path does not prove the old tree is a prefix of the new one"

    def as_dict(self) -> dict[str, Any]:
        return {"old": self.old.as_dict(), "new": self.new.as_dict(), "path": self.path}


@dataclass(frozen=True)
class ExportReport:
    """Segments written now, segments already there (identical), entries not yet checkpointed."""

    written: list[str]
    existing: list[str]
    unsealed: int
    pruned: int = 0  # segments retention purged from the database (exported before)
    sink: str = ""


# -- the log ---------------------------------------------------------------------------------------


class AuditLog:
    """Appends to, verifies, proves and exports the audit log in `store`.

    `signer` signs new entries and checkpoints; None makes a read-only log (verify, proofs, export).
    """

    def __init__(
        self,
        store: Store,
        *,
        signer: Signer | None,
        policy: CheckpointPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        self.policy = policy or CheckpointPolicy()
        self.clock: Clock = clock or SystemClock()
        self._published = False

    @classmethod
    def from_env(cls, store: Store, *, clock: Clock | None = None) -> AuditLog:
        """The log with the signing key and checkpoint policy from KEEL_AUDIT_* (see keel.governance.keys)."""
        return cls(store, signer=resolve_signer(store.url), policy=CheckpointPolicy.from_env(), clock=clock)

    # -- appending -----------------------------------------------------------------------------

    def _signer(self) -> Signer:
        if self.signer is None:
            raise ConfigError("this audit log has no signing key: build it with AuditLog.from_env(store) to append")
        return self.signer

    def _publish(self) -> dict[str, Any] | None:
        if self._published:
            return None
        signer = self._signer()
        return {
            "key_id": signer.key_id,
            "algorithm": ALGORITHM,
            "public_key": signer.public_hex,
            "created_at": self.clock.time(),
        }

    def _planner(self, prepared: Sequence[_Prepared], *, force_checkpoint: bool = False) -> Callable[[Head], Plan]:
        signer = self._signer()
        policy = self.policy
        clock = self.clock

        def plan(head: Head) -> Plan:
            now = clock.time()
            stamp = timestamp_text(now)
            tree = merkle.CompactRange(head.seq, head.frontier)
            seq, prev = head.seq, head.hash
            rows: list[dict[str, Any]] = []
            for p in prepared:
                seq += 1
                row = [
                    seq,
                    p.event_id,
                    stamp,
                    p.trace_id,
                    p.event_type,
                    p.actor.kind,
                    p.actor.id,
                    p.action,
                    p.resource,
                    p.decision,
                    p.policy_version,
                    p.risk_score,
                    p.data,
                    prev,
                    "",
                    signer.key_id,
                    "",
                ]
                digest = hashlib.sha256(_canonical_row(row)).digest()
                signature = signer.sign(digest)
                row[14] = prev = digest.hex()
                row[16] = signature.hex()
                tree.append(merkle.leaf_hash(digest + signature))
                rows.append(dict(zip(ROW_COLUMNS, row, strict=True)))
            checkpoint_at = now if head.checkpoint_at is None else head.checkpoint_at
            checkpoint = None
            pending = seq - head.checkpoint_size
            due = pending >= policy.every or now - checkpoint_at >= policy.seconds or force_checkpoint
            if pending > 0 and due:
                root = tree.root().hex()
                checkpoint = {
                    "size": seq,
                    "root": root,
                    "timestamp": stamp,
                    "key_id": signer.key_id,
                    "signature": signer.sign(checkpoint_message(seq, root, stamp)).hex(),
                }
                checkpoint_at = now
            new_head = Head(
                seq=seq,
                hash=prev,
                frontier=tuple(tree.nodes),
                checkpoint_size=seq if checkpoint is not None else head.checkpoint_size,
                checkpoint_at=checkpoint_at,
            )
            return Plan(entries=rows, head=new_head, checkpoint=checkpoint)

        return plan

    def _entries(self, plan: Plan) -> list[AuditEntry]:
        self._published = True
        return [_entry_of([row[c] for c in ROW_COLUMNS]) for row in plan.entries]

    async def append(self, event: AuditEvent) -> AuditEntry:
        """Record one event; returns its entry once committed."""
        return (await self.append_many([event]))[0]

    async def append_many(self, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Record several events in one transaction, in order; their entries once committed."""
        prepared = [_prepare(e) for e in events]
        if not prepared:
            return []
        plan = await self.store.aaudit_append(self._planner(prepared), publish=self._publish(), now=self.clock.time())
        return self._entries(plan)

    def append_sync(self, event: AuditEvent) -> AuditEntry:
        """`append` for synchronous callers."""
        return self.append_many_sync([event])[0]

    def append_many_sync(self, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """`append_many` for synchronous callers."""
        prepared = [_prepare(e) for e in events]
        if not prepared:
            return []
        plan = self.store.audit_append(self._planner(prepared), publish=self._publish(), now=self.clock.time())
        return self._entries(plan)

    def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint over every entry now, unless the newest one already covers them all.

        Returns the newest checkpoint (None while the log is empty).
        """
        plan = self.store.audit_append(
            self._planner([], force_checkpoint=True), publish=self._publish(), now=self.clock.time()
        )
        self._published = True
        if plan.checkpoint is not None:
            return Checkpoint(**plan.checkpoint)
        checkpoints = self.checkpoints()
        return checkpoints[-1] if checkpoints else None

    async def acheckpoint(self) -> Checkpoint | None:
        return await asyncio.to_thread(self.checkpoint)

    # -- reading -------------------------------------------------------------------------------

    def checkpoints(self) -> list[Checkpoint]:
        return [
            Checkpoint(int(r.size), r.root, r.timestamp, r.key_id, r.signature) for r in self.store.audit_checkpoints()
        ]

    def entry(self, event_id: str) -> AuditEntry:
        row = self.store.audit_entry(event_id)
        if row is None:
            raise AuditError(f"no audit entry with event id {event_id!r}", event_id=event_id)
        return _entry_of([getattr(row, c) for c in ROW_COLUMNS])

    def entries(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]:
        return [_entry_of(r) for r in self.store.audit_entries(after_seq, limit, ROW_COLUMNS)]

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every published key that reads as an Ed25519 key, by key id."""
        keys: dict[str, Ed25519PublicKey] = {}
        for kid, (algorithm, public_hex) in self.store.audit_keys().items():
            if algorithm != ALGORITHM:
                continue
            with contextlib.suppress(ValueError):
                keys[kid] = load_public_key(public_hex)
        return keys

    def _trusted(self, trusted: Mapping[str, Ed25519PublicKey] | None) -> dict[str, Ed25519PublicKey]:
        return dict(trusted) if trusted is not None else self.public_keys()

    def _leaves(self, size: int) -> list[bytes]:
        # Entries at or below the retention horizon are gone; their hashes and signatures are kept.
        horizon = min(self.store.audit_horizon(), size)
        leaves: list[bytes] = []
        after = 0
        for last, read in ((horizon, self.store.audit_pruned_leaves), (size, self.store.audit_leaves)):
            while after < last:
                chunk = read(after + 1, min(last, after + 50_000))
                if not chunk:
                    break
                for seq, h, sig in chunk:
                    if seq != after + 1:
                        raise AuditError(f"audit entry {after + 1} is missing: run `keel audit verify`", seq=after + 1)
                    leaves.append(entry_leaf_hash(h, sig))
                    after = seq
        if len(leaves) != size:
            raise AuditError(f"the log holds {len(leaves)} entries, fewer than {size}: run `keel audit verify`")
        return leaves

    # -- proofs --------------------------------------------------------------------------------

    def _checkpoint(self, size: int | None, *, covering: int = 0) -> Checkpoint:
        checkpoints = self.checkpoints()
        if size is not None:
            found = next((cp for cp in checkpoints if cp.size == size), None)
            if found is None:
                raise AuditError(f"there is no checkpoint at size {size}", size=size)
            if found.size < covering:
                raise AuditError(f"the checkpoint at size {size} does not cover entry {covering}", size=size)
            return found
        if not checkpoints or checkpoints[-1].size < covering:
            raise AuditError(
                f"no checkpoint covers entry {covering} yet: wait for the next one, or force one "
                "(`AuditLog.checkpoint()`, `keel audit checkpoint`)",
                seq=covering,
            )
        return checkpoints[-1]

    def inclusion_proof(self, event_id: str, checkpoint: int | None = None) -> InclusionProof:
        """The proof that the entry is in the tree of a checkpoint (by size; default the newest).

        Reads the hashes of every entry up to the checkpoint: its cost grows with the log.
        """
        entry = self.entry(event_id)
        cp = self._checkpoint(checkpoint, covering=entry.seq)
        path = merkle.inclusion_path(self._leaves(cp.size), entry.seq - 1)
        return InclusionProof(entry=entry, checkpoint=cp, path=[p.hex() for p in path])

    def consistency_proof(self, old_size: int, new_size: int) -> ConsistencyProof:
        """The proof that the checkpoint at `old_size` is a prefix of the one at `new_size`."""
        if not 0 < old_size <= new_size:
            raise UsageError(f"a consistency proof needs 0 < old_size <= new_size, got {old_size} and {new_size}")
        old, new = self._checkpoint(old_size), self._checkpoint(new_size)
        path = merkle.consistency_path(self._leaves(new.size), old.size)
        return ConsistencyProof(old=old, new=new, path=[p.hex() for p in path])

    # -- verification --------------------------------------------------------------------------

    def verify(
        self,
        *,
        full: bool = False,
        trusted_keys: Mapping[str, Ed25519PublicKey] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyReport:
        """Check the whole log from its rows; the report names the first bad entry or checkpoint and why.

        `trusted_keys` pins the public keys to trust (an auditor's own copy) instead of the keys table.
        `progress(done, total)` is called after each chunk of entries.
        """
        started = time.perf_counter()
        keys = self._trusted(trusted_keys)
        checkpoints = self.checkpoints()
        head = self.store.audit_head()
        total = head.seq
        last_cp = checkpoints[-1].size if checkpoints else 0
        tree = merkle.CompactRange()
        prev = GENESIS_HASH
        expected = 1
        range_start = 1
        next_cp = 0
        signatures = 0
        problem: Problem | None = None

        def first_bad_signature(lo: int, hi: int) -> Problem | None:
            nonlocal signatures
            after = lo - 1
            while after < hi:
                rows = self.store.audit_entries(
                    after, min(_VERIFY_CHUNK, hi - after), ("seq", "event_id", "hash", "key_id", "signature")
                )
                if not rows:
                    return None
                for seq, event_id, h, kid, sig in rows:
                    signatures += 1
                    bad = _signature_problem(keys, kid, h, sig)
                    if bad is not None:
                        return Problem("entry", int(seq), event_id, bad)
                    after = int(seq)
            return None

        # Entries retention purged: only their hashes and signatures are left, which is all the
        # chain's link and the checkpoints' roots need (their fields are in the exported segments).
        horizon = self.store.audit_horizon()
        after = 0
        while problem is None and after < horizon:
            leaves = self.store.audit_pruned_leaves(after + 1, min(horizon, after + _VERIFY_CHUNK))
            if not leaves:
                problem = Problem(
                    "log", after + 1, None, f"the hashes of purged entries {after + 1}..{horizon} are missing"
                )
                break
            for seq, h, sig in leaves:
                if seq != expected:
                    problem = Problem("entry", expected, None, "missing from the purged entries' hashes")
                    break
                try:
                    tree.append(entry_leaf_hash(h, sig))
                except ValueError:
                    problem = Problem("entry", seq, None, "its kept hash or signature is not hex")
                    break
                prev, expected, after = h, seq + 1, seq
                while next_cp < len(checkpoints) and checkpoints[next_cp].size == seq:
                    cp = checkpoints[next_cp]
                    bad = (
                        "its root does not match the purged entries' hashes"
                        if tree.root().hex() != cp.root
                        else _verify_checkpoint_signature(cp, keys)
                    )
                    if bad is not None:
                        problem = Problem("checkpoint", cp.size, None, bad)
                        break
                    next_cp += 1
                    range_start = seq + 1
                if problem is not None:
                    break
        while problem is None:
            rows = self.store.audit_entries(after, _VERIFY_CHUNK, ROW_COLUMNS)
            if not rows:
                break
            for r in rows:
                seq = int(r[0])
                reason: str | None = None
                if seq != expected:
                    gap = f"missing: the chain goes from entry {expected - 1} to {seq}"
                    earlier = None if full or expected > last_cp else first_bad_signature(range_start, expected - 1)
                    problem = earlier or Problem("entry", expected, None, gap)
                    break
                try:
                    digest = hashlib.sha256(_canonical_row(r)).digest()
                except (TypeError, ValueError):
                    digest = b""
                if digest.hex() != r[14]:
                    reason = "its hash does not match its fields (altered, or moved from another position)"
                elif r[13] != prev:
                    reason = f"its prev_hash does not match entry {seq - 1}'s hash"
                elif r[15] not in keys:
                    reason = f"signed by unknown key {r[15]}"
                elif full or seq > last_cp:
                    signatures += 1
                    reason = _signature_problem(keys, r[15], r[14], r[16])
                if reason is None:
                    try:
                        tree.append(entry_leaf_hash(r[14], r[16]))
                    except ValueError:
                        reason = "its signature is not hex"
                if reason is not None:
                    # A covered entry's signature was not checked yet: an earlier one may be the first bad.
                    earlier = None if full or seq > last_cp else first_bad_signature(range_start, seq - 1)
                    problem = earlier or Problem("entry", seq, r[1], reason)
                    break
                prev = r[14]
                expected = seq + 1
                while next_cp < len(checkpoints) and checkpoints[next_cp].size == seq:
                    cp = checkpoints[next_cp]
                    if tree.root().hex() != cp.root:
                        problem = first_bad_signature(range_start, seq) or Problem(
                            "checkpoint", cp.size, None, "its root does not match the entries it covers"
                        )
                        break
                    bad = _verify_checkpoint_signature(cp, keys)
                    if bad is not None:
                        problem = Problem("checkpoint", cp.size, None, bad)
                        break
                    next_cp += 1
                    range_start = seq + 1
                if problem is not None:
                    break
            after = int(rows[-1][0])
            if progress is not None:
                progress(min(after, total) if total else after, max(total, after))
        found = expected - 1
        if problem is None and next_cp < len(checkpoints):
            cp = checkpoints[next_cp]
            problem = Problem(
                "checkpoint",
                cp.size,
                None,
                f"it covers {cp.size} entries but the log ends at entry {found}: entries were removed",
            )
        if problem is None and head.seq > found:
            problem = Problem(
                "log",
                found + 1,
                None,
                f"entries {found + 1}..{head.seq} are missing: the head row says the chain is {head.seq} long",
            )
        return VerifyReport(
            entries=found,
            checkpoints=len(checkpoints),
            signatures_checked=signatures,
            unsealed=max(0, found - last_cp),
            seconds=time.perf_counter() - started,
            problem=problem,
            pruned=horizon,
        )

    # -- export --------------------------------------------------------------------------------

    def export(self, to: str | os.PathLike[str] | Sink) -> ExportReport:
        """Write one sealed segment per checkpointed range to a sink (a directory when given a path).

        A segment `segment-<first>-<last>` (12-digit seqs) holds `checkpoint.json` (the checkpoint,
        with the previous one's size and root), `entries.jsonl` (one entry per line, in order),
        `keys.json` (the public keys that signed them) and `manifest.json` (the SHA-256 of each of
        those files). A segment already in the sink is left alone if identical and refused
        (AuditError) if not: nothing is overwritten. Each segment written or found is recorded in
        the database (`keel_audit_exports`): retention purges only exported segments. Segments
        retention already purged are skipped (counted in `pruned`).
        """
        sink: Sink = DirectorySink(to) if isinstance(to, str | os.PathLike) else to
        keys = self.store.audit_keys()
        horizon = self.store.audit_horizon()
        written: list[str] = []
        existing: list[str] = []
        pruned = 0
        previous: Checkpoint | None = None
        for cp in self.checkpoints():
            first = 1 if previous is None else previous.size + 1
            if cp.size <= horizon:
                pruned += 1
                previous = cp
                continue
            name = f"segment-{first:012d}-{cp.size:012d}"
            files = _segment_files(cp, previous, self._range(first, cp.size), keys)
            try:
                fresh = sink.put_segment(name, files)
            except SinkError as exc:
                raise AuditError(exc.message) from None
            (written if fresh else existing).append(name)
            self.store.audit_record_export(first, cp.size, sink.name, now=self.clock.time())
            previous = cp
        head = self.store.audit_head()
        return ExportReport(
            written=written,
            existing=existing,
            unsealed=head.seq - (previous.size if previous else 0),
            pruned=pruned,
            sink=sink.name,
        )

    def _range(self, first: int, last: int) -> list[AuditEntry]:
        out: list[AuditEntry] = []
        after = first - 1
        while after < last:
            rows = self.store.audit_entries(after, min(_VERIFY_CHUNK, last - after), ROW_COLUMNS)
            if not rows:
                break
            out.extend(_entry_of(r) for r in rows)
            after = int(rows[-1][0])
        if len(out) != last - first + 1 or (out and (out[0].seq != first or out[-1].seq != last)):
            raise AuditError(f"entries {first}..{last} are not all in the log: run `keel audit verify`")
        return out


def verify_segments(
    segments: Iterable[Mapping[str, bytes]], trusted_keys: Mapping[str, Ed25519PublicKey] | None = None
) -> str | None:
    """Check exported segments offline, in order from the first: None when they hold, else the first problem.

    Each segment is its files by name (as a sink holds them). Checks each file against the
    manifest, each entry's hash, link, position and signature, and each checkpoint's root (over
    every entry from 1) and signature. Without `trusted_keys`, each segment's own keys.json is used.
    """
    tree = merkle.CompactRange()
    prev, expected = GENESIS_HASH, 1
    for files in segments:
        try:
            manifest = json.loads(files["manifest.json"])
            for name, digest in manifest["files"].items():
                if hashlib.sha256(files[name]).hexdigest() != digest:
                    return f"{name} of the segment from entry {expected} does not match its manifest"
            raw = json.loads(files["checkpoint.json"])
            cp = Checkpoint(int(raw["size"]), raw["root"], raw["timestamp"], raw["key_id"], raw["signature"])
            keys = (
                dict(trusted_keys)
                if trusted_keys is not None
                else {kid: load_public_key(v["public_key"]) for kid, v in json.loads(files["keys.json"]).items()}
            )
            for line in files["entries.jsonl"].decode("utf-8").splitlines():
                entry = json.loads(line)
                seq = int(entry["seq"])
                if seq != expected:
                    return f"entry {expected} is missing (found {seq})"
                if hashlib.sha256(canonical_entry(entry)).hexdigest() != entry["hash"]:
                    return f"entry {seq}: its hash does not match its fields"
                if entry["prev_hash"] != prev:
                    return f"entry {seq}: its prev_hash does not match entry {seq - 1}'s hash"
                bad = _signature_problem(keys, entry["key_id"], entry["hash"], entry["signature"])
                if bad is not None:
                    return f"entry {seq}: {bad}"
                tree.append(entry_leaf_hash(entry["hash"], entry["signature"]))
                prev, expected = entry["hash"], seq + 1
        except (KeyError, ValueError, TypeError) as exc:
            return f"the segment from entry {expected} is malformed: {type(exc).__name__}: {exc}"
        if cp.size != expected - 1:
            return f"checkpoint at size {cp.size}: its segment ends at entry {expected - 1}"
        if tree.root().hex() != cp.root:
            return f"checkpoint at size {cp.size}: its root does not match the entries"
        bad = _verify_checkpoint_signature(cp, keys)
        if bad is not None:
            return f"checkpoint at size {cp.size}: {bad}"
    return None


def _signature_problem(keys: Mapping[str, Ed25519PublicKey], kid: str, hash_hex: str, signature_hex: str) -> str | None:
    key = keys.get(kid)
    if key is None:
        return f"signed by unknown key {kid}"
    try:
        key.verify(bytes.fromhex(signature_hex), bytes.fromhex(hash_hex))
    except (InvalidSignature, ValueError):
        return "its signature does not verify"
    return None


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def _segment_files(
    cp: Checkpoint, previous: Checkpoint | None, entries: Sequence[AuditEntry], keys: Mapping[str, tuple[str, str]]
) -> dict[str, bytes]:
    used = sorted({e.key_id for e in entries} | {cp.key_id})
    files = {
        "checkpoint.json": _json_bytes(
            {
                **cp.as_dict(),
                "first_seq": entries[0].seq if entries else cp.size + 1,
                "previous": None if previous is None else {"size": previous.size, "root": previous.root},
                "signed_message": cp.message().decode(),
            }
        ),
        "entries.jsonl": b"".join(
            (json.dumps(e.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()
            for e in entries
        ),
        "keys.json": _json_bytes(
            {kid: {"algorithm": keys[kid][0], "public_key": keys[kid][1]} for kid in used if kid in keys}
        ),
    }
    files["manifest.json"] = _json_bytes(
        {"files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}, "hash": "sha256"}
    )
    return files


class OperatorRecord:
    """An operator's action (a kill switch, a policy change, a review decision), audited after it committed.

    The action has already happened when its entry is written, so a log that cannot be written (no
    signing key, say) must not undo it or make it look failed: the error is logged under
    `failed_event` and returned for the command to report. The log itself opens on first use.
    """

    def __init__(self, store: Any, *, audit: AuditLog | None, clock: Any, what: str, failed_event: str) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        self._what = what
        self._failed_event = failed_event

    def append(self, event: AuditEvent, **log_extra: Any) -> tuple[int | None, str | None]:
        """(the entry's seq, None), or (None, why it could not be written)."""
        try:
            if self.audit is None:
                self.audit = AuditLog.from_env(self.store, clock=self.clock)
            entry = self.audit.append_sync(event)
        except Exception as exc:  # noqa: BLE001 - reported to the caller and logged
            logging.getLogger("keel.governance").error(
                "%s not audited: %s", self._what, exc, extra={"event_type": self._failed_event, **log_extra}
            )
            return None, str(exc)
        return entry.seq, None


__all__ = [
    "ACTOR_KINDS",
    "OperatorRecord",
    "GENESIS_HASH",
    "Actor",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditLog",
    "Checkpoint",
    "CheckpointPolicy",
    "ConsistencyProof",
    "ExportReport",
    "InclusionProof",
    "Problem",
    "VerifyReport",
    "canonical_entry",
    "checkpoint_message",
    "entry_leaf_hash",
    "leaf_data",
    "timestamp_text",
    "verify_segments",
]
