"""Governance: the signed, hash-chained, append-only audit log (keel.governance.audit) and its proofs."""

from __future__ import annotations

from keel.governance.audit import (
    Actor,
    AuditEntry,
    AuditError,
    AuditEvent,
    AuditLog,
    Checkpoint,
    CheckpointPolicy,
    ConsistencyProof,
    InclusionProof,
    VerifyReport,
)
from keel.governance.keys import Signer

__all__ = [
    "Actor",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditLog",
    "Checkpoint",
    "CheckpointPolicy",
    "ConsistencyProof",
    "InclusionProof",
    "Signer",
    "VerifyReport",
]
