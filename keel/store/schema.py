"""Keel's tables, in SQLAlchemy Core; the Alembic migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "keel_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("workflow_name", String(200), nullable=False),
    Column("workflow_version", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("input", Text, nullable=False),
    Column("result", Text),
    Column("error", Text),
    Column("idempotency_key", String(255)),
    Column("org_id", String(200)),
    Column("user_id", String(200)),
    Column("target", String(500)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # When the run may next be claimed; NULL while it waits for a signal with no deadline.
    Column("wake_at", Float),
    Column("lease_owner", String(120)),
    Column("lease_expires_at", Float),
    # Incremented on every claim: a checkpoint commits only with the current token.
    Column("fencing_token", BigInteger, nullable=False, default=0),
    Column("step_count", Integer, nullable=False, default=0),
    # Failed attempts of the step at `step_count`, kept across crashes so they are not reset.
    Column("attempt", Integer, nullable=False, default=0),
    Column("failed_step", String(300)),
    Column("paused", Boolean, nullable=False, default=False),
    # An operator's request handled by the worker that holds the run: "cancel" or "abort".
    Column("control", String(20)),
    # The run's trace: its `workflow.run` span, and the span it was started under, if any.
    # Stored so every worker that drives the run, before or after a crash, joins one trace.
    Column("trace_id", String(32)),
    Column("span_id", String(16)),
    Column("parent_span_id", String(16)),
    # Comma-separated marks on a finished run, e.g. "budget_exceeded" (it returned a partial result).
    Column("flags", String(200)),
    Index("ix_keel_runs_claim", "status", "wake_at"),
    # Partial in the database (migration 0001: WHERE idempotency_key IS NOT NULL), as most runs have no
    # key and an index entry per run is a page write per start. The predicate is not repeated here:
    # a `postgresql_where` argument imports every PostgreSQL driver module, a tenth of a short
    # command's start-up on SQLite, and the schema comparison (tests/contract/test_schema.py) checks
    # the index's columns and uniqueness only.
    Index("uq_keel_runs_idempotency_key", "idempotency_key", unique=True),
    # Ordered by creation too: `keel estimate` reads a version's most recent runs (0006).
    Index("ix_keel_runs_workflow", "workflow_name", "workflow_version", "created_at"),
    Index("ix_keel_runs_trace", "trace_id"),
)

steps = Table(
    "keel_steps",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("name", String(300), nullable=False),
    # step | sleep | signal | now | compensation
    Column("kind", String(20), nullable=False),
    # succeeded | pending (a durable wait not yet over) | failed (a step that raised, journaled)
    Column("status", String(20), nullable=False),
    Column("result", Text),
    Column("result_ref", String(64)),
    Column("args", Text),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=1),
    Column("wake_at", Float),
    Column("started_at", Float),
    Column("finished_at", Float),
    # Model usage of the step's calls, so `keel runs explain` works without the span store.
    Column("tokens_input", Integer),
    Column("tokens_output", Integer),
    Column("cost_usd", Float),
    # The entry is also its span: the span's id (its model and tool calls are its children in
    # keel_spans), the worker that ran it, and its failed attempts (JSON), if any.
    Column("span_id", String(16)),
    Column("worker_id", String(120)),
    Column("events", Text),
    # Clustered on (run_id, seq): one B-tree to write per journal entry, not a table and an index.
    sqlite_with_rowid=False,
)

transitions = Table(
    "keel_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("cause", Text, nullable=False),
    Column("at", Float, nullable=False),
)

signals = Table(
    "keel_signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("payload", Text),
    Column("created_at", Float, nullable=False),
    Column("consumed_seq", Integer),
    Index("ix_keel_signals_run", "run_id", "name"),
)

breakers = Table(
    "keel_breakers",
    metadata,
    Column("key", String(300), primary_key=True),
    # closed | open | half_open
    Column("state", String(20), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("opened_at", Float),
    # While half-open, the one trial call in flight holds the breaker until this time.
    Column("trial_until", Float),
    Column("updated_at", Float, nullable=False),
)

blobs = Table(
    "keel_blobs",
    metadata,
    Column("blob_id", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
)

workflow_controls = Table(
    "keel_workflow_controls",
    metadata,
    Column("workflow_name", String(200), primary_key=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("updated_at", Float, nullable=False),
)

spans = Table(
    "keel_spans",
    metadata,
    Column("trace_id", String(32), primary_key=True),
    Column("span_id", String(16), primary_key=True),
    Column("parent_span_id", String(16)),
    Column("run_id", String(36)),
    Column("name", String(300), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    # ok | error | unset
    Column("status", String(10), nullable=False),
    Column("attributes", Text, nullable=False),  # JSON object
    Column("events", Text),  # JSON list of {name, time_ns, attributes}
    # Only spans the journal cannot give: model, tool and user spans, failed or interrupted
    # steps. A completed step's or wait's span is its journal entry, a run's span its row.
    Index("ix_keel_spans_run", "run_id"),
)

llm_cache = Table(
    "keel_llm_cache",
    metadata,
    # The org the answer belongs to ("" for runs without one): a cache is never shared across orgs.
    Column("org_key", String(200), primary_key=True),
    Column("request_hash", String(64), primary_key=True),
    Column("route", String(200), nullable=False),
    Column("answer", Text, nullable=False),  # JSON: text, model, provider, tokens of the original call
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

budgets = Table(
    "keel_budgets",
    metadata,
    # One row per budget and period: "org:ACME:month:2026-11", "run:<run id>", ...
    Column("key", String(400), primary_key=True),
    Column("level", String(200), nullable=False),  # "org_monthly", "run", "tag:workflow:triage", ...
    Column("limit_usd", Float),  # the configured limit when last used (kept for `keel budgets`)
    Column("limit_tokens", BigInteger),
    Column("spent_usd", Float, nullable=False, server_default="0"),
    Column("spent_tokens", BigInteger, nullable=False, server_default="0"),
    # Held by calls in flight: their worst case, released when they settle or their hold expires.
    Column("reserved_usd", Float, nullable=False, server_default="0"),
    Column("reserved_tokens", BigInteger, nullable=False, server_default="0"),
    Column("alerts", Integer, nullable=False, server_default="0"),  # bit i: threshold i fired
    Column("calls", Integer, nullable=False, server_default="0"),
    Column("refusals", Integer, nullable=False, server_default="0"),
    Column("updated_at", Float, nullable=False),
)

budget_holds = Table(
    "keel_budget_holds",
    metadata,
    Column("hold_id", String(36), primary_key=True),
    Column("ledgers", Text, nullable=False),  # JSON list of keel_budgets keys
    Column("usd", Float, nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("run_id", String(36)),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_keel_budget_holds_expires", "expires_at"),
)

llm_semcache = Table(
    "keel_llm_semcache",
    metadata,
    # The gateway's semantic cache: an answer found by the similarity of its request's embedding,
    # never shared across orgs or routes.
    Column("org_key", String(200), primary_key=True),
    Column("route", String(200), primary_key=True),
    Column("request_hash", String(64), primary_key=True),
    # The request's embedding, L2-normalised, as little-endian float32: 4 bytes a dimension.
    Column("vector", LargeBinary, nullable=False),
    Column("answer", Text, nullable=False),  # JSON, as in keel_llm_cache
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    # A lookup scans the unexpired entries of one org and route; a write prunes the expired ones.
    Index("ix_keel_llm_semcache_scan", "org_key", "route", "expires_at"),
)

tool_keys = Table(
    "keel_tool_keys",
    metadata,
    # The public halves of the tool-credential signing keys, published so that a verifier in any
    # process finds a token's key by its `kid`. Public keys only: private keys never enter the database.
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),  # "Ed25519"
    Column("public_key", String(200), nullable=False),  # raw key, base64url
    Column("created_at", Float, nullable=False),
)

tool_revocations = Table(
    "keel_tool_revocations",
    metadata,
    # "*" (every credential) and "org:<id>": `generation` counts the revoke-alls, and a credential
    # minted under an older generation is refused. "jti:<id>" (one credential) and "kid:<kid>" (a
    # retired key): refused while the row exists; a jti row is pruned after `expires_at`.
    Column("key", String(300), primary_key=True),
    Column("generation", BigInteger, nullable=False, server_default="0"),
    Column("revoked_at", Float, nullable=False),
    Column("expires_at", Float),
)

tool_quotas = Table(
    "keel_tool_quotas",
    metadata,
    # A fixed-window counter per org of the credentials minted, shared by every worker.
    Column("org_id", String(200), primary_key=True),
    Column("window_start", Float, nullable=False),
    Column("minted", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

guard_keys = Table(
    "keel_guard_keys",
    metadata,
    # The guard vault's per-subject data key (256 bits), wrapped with AES-GCM under the master key
    # (KEEL_GUARD_KEY; AAD the subject). Deleting the row makes the subject's values unrecoverable.
    Column("subject", String(200), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),  # nonce ‖ ciphertext ‖ tag
    # Which master key wrapped it (a hash prefix, not the key), so a wrong one is named, not guessed at.
    Column("key_id", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
)

guard_vault = Table(
    "keel_guard_vault",
    metadata,
    # A run's PII placeholders ("{{PII_EMAIL_1}}") and their values, sealed under the subject's key.
    Column("run_id", String(36), primary_key=True),
    Column("placeholder", String(64), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("pii_type", String(40), nullable=False),
    Column("ordinal", Integer, nullable=False),  # the placeholder's number within its run and type
    # HMAC-SHA256 of (run, type, value) under a key derived from the master key: finds a value's
    # placeholder without decrypting anything. NULL, like the ciphertext, once the subject is forgotten.
    Column("value_mac", LargeBinary),
    Column("ciphertext", LargeBinary),  # nonce ‖ AES-GCM(data key, value; AAD run, placeholder, subject)
    Column("created_at", Float, nullable=False),
    Index("uq_keel_guard_vault_mac", "run_id", "value_mac", unique=True),
    Index("ix_keel_guard_vault_subject", "subject"),
)

audit_entries = Table(
    "keel_audit_entries",
    metadata,
    # The governance audit log (keel.governance.audit): append-only, refused UPDATE and DELETE by
    # triggers (migration 0009). `seq` is the entry's place in the one hash chain, from 1; on SQLite
    # it is the rowid, so an entry is one B-tree write plus its event_id index.
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    Column("event_id", String(64), nullable=False),
    Column("timestamp", String(32), nullable=False),  # RFC 3339 UTC with microseconds, fixed width
    Column("trace_id", String(32)),
    Column("event_type", String(100), nullable=False),
    Column("actor_kind", String(20), nullable=False),  # user | agent | system
    Column("actor_id", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("resource", String(500)),
    Column("decision", String(50)),
    Column("policy_version", String(100)),
    Column("risk_score", Integer),
    Column("data", Text, nullable=False),  # redacted, canonical JSON (RFC 8785): hashed as stored
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),  # SHA-256 of the canonical encoding, hex
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),  # Ed25519 over the raw hash, hex
    Index("uq_keel_audit_entries_event_id", "event_id", unique=True),
)

audit_checkpoints = Table(
    "keel_audit_checkpoints",
    metadata,
    # Signed RFC 6962 tree heads over the entries 1..size (append-only, like the entries).
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("timestamp", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

audit_keys = Table(
    "keel_audit_keys",
    metadata,
    # Public halves of every key that ever signed the log (append-only: old entries must keep verifying).
    Column("key_id", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),  # "Ed25519"
    Column("public_key", String(128), nullable=False),  # raw, hex
    Column("created_at", Float, nullable=False),
)

audit_head = Table(
    "keel_audit_head",
    metadata,
    # One row (id 1), locked FOR UPDATE by every append: the chain's tip, the Merkle tree's right edge
    # (compact range: 64 hex digits per node, largest subtree first) and the checkpoint timer.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("frontier", Text, nullable=False),
    Column("checkpoint_size", BigInteger, nullable=False),
    Column("checkpoint_at", Float),
    Column("updated_at", Float, nullable=False),
)

# Audit events the engine committed with the state change they record, waiting to be sealed into
# the chain (keel.governance.outbox): workers never wait on the chain's head lock to checkpoint.
audit_outbox = Table(
    "keel_audit_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(64)),
    Column("created_at", Float, nullable=False),
    Column("event", Text, nullable=False),
)

kill_switch = Table(
    "keel_kill_switch",
    metadata,
    # One row (id 1), read by every worker on each poll and before every run starts (keel.store.killswitch).
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("engaged", Boolean, nullable=False),
    Column("incident", BigInteger, nullable=False),  # engagements so far
    Column("reason", Text),
    Column("engaged_by", String(200)),
    Column("engaged_at", Float),
    Column("pending_by", String(200)),  # the first approver of a release, awaiting a second
    Column("pending_at", Float),
    Column("released_by", Text),  # JSON list: the two approvers of the last release
    Column("released_at", Float),
    Column("updated_at", Float, nullable=False),
)

policy_versions = Table(
    "keel_policy_versions",
    metadata,
    # One row per Cedar policy-set version (keel.store.policy): proposed, then active once a second
    # person approves it, superseded by the next, or rejected.
    Column("version", String(80), primary_key=True),  # "sha256:<hex>" over the canonical bundle
    Column("files", Text, nullable=False),  # JSON object: file name -> Cedar text
    Column("status", String(20), nullable=False),  # proposed | active | superseded | rejected
    Column("proposed_by", String(200), nullable=False),
    Column("proposed_at", Float, nullable=False),
    Column("approved_by", String(200)),
    Column("approved_at", Float),
    Column("rejected_by", String(200)),
    Column("rejected_at", Float),
    Column("superseded_at", Float),
)

policy_head = Table(
    "keel_policy_head",
    metadata,
    # One row (id 1): the active version, read by workers to notice a change, locked by every change.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("active_version", String(80)),
    Column("activated_at", Float),
    Column("updated_at", Float, nullable=False),
)

reviews = Table(
    "keel_reviews",
    metadata,
    # One row per action the governor sent to human review (keel.store.review): a run waits on its
    # signal. An "override" (risk at or above block_at) needs two different approvers.
    Column("review_id", String(100), primary_key=True),  # "<run_id>:<step>": stable across replays
    Column("run_id", String(36), nullable=False),
    Column("step", Integer, nullable=False),
    Column("action", String(200), nullable=False),  # "tool:NAME"
    Column("risk_score", Integer, nullable=False),
    Column("policy_version", String(100)),
    Column("kind", String(20), nullable=False),  # review | override
    Column("status", String(20), nullable=False),  # pending | approved | rejected
    Column("requested_at", Float, nullable=False),
    Column("approvals", Text, nullable=False),  # JSON list of {"by", "at"}
    Column("rejected_by", String(200)),
    Column("reason", Text),
    Column("decided_at", Float),
    Column("details", Text),  # JSON: workflow, org, principal, reasons, factors (never the arguments)
    Index("ix_keel_reviews_status", "status", "requested_at"),
    Index("ix_keel_reviews_run", "run_id"),
)

audit_pruned = Table(
    "keel_audit_pruned",
    metadata,
    # What verification needs of an entry retention purged (append-only, 0014): its hash, the next
    # entry's prev_hash, and its signature, half of its Merkle leaf. No data.
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

audit_exports = Table(
    "keel_audit_exports",
    metadata,
    # Sealed segments written to a sink (append-only): retention purges only exported segments.
    Column("first_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("sink", String(500), primary_key=True),  # "dir:PATH" or "s3://bucket/prefix"
    Column("exported_at", Float, nullable=False),
)

audit_horizon = Table(
    "keel_audit_horizon",
    metadata,
    # One row (id 1): entries at or below `seq` may be deleted, no others (trigger); it only moves forward.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", Float, nullable=False),
)
