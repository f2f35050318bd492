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
from keel.governance.governor import KeelGovernor, ResourceRule
from keel.governance.keys import Signer
from keel.governance.policy import (
    PolicyDecision,
    PolicyEngine,
    PolicyRecord,
    PolicyRequest,
    PolicySet,
    PolicyStore,
    Principal,
    Resource,
    active_engine,
)
from keel.governance.review import ReviewDesk
from keel.governance.risk import RiskWeights, score_action

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
    "KeelGovernor",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyRecord",
    "PolicyRequest",
    "PolicySet",
    "PolicyStore",
    "Principal",
    "Resource",
    "ResourceRule",
    "ReviewDesk",
    "RiskWeights",
    "Signer",
    "VerifyReport",
    "active_engine",
    "score_action",
]
