"""Retention: how long runs, their journals and the audit log are kept, and the purge job that enforces it.

Policies are per org, in days (0: keep forever): `audit_days` (default 2557, 7 years),
`runs_days` (a finished run and everything under it) and `journal_days` (a finished run's journal,
signals, spans, vault values and cached answers; the run row and its status history stay), both
kept forever by default. `purge` applies them at the storage layer:

- Runs: finished runs (succeeded, failed, cancelled) last updated before the org's limit, with
  every row that belongs to them (keel.store.retention), in batches of `batch` runs per
  transaction, so a large purge never holds a long lock. Runs in flight are never touched.
- The audit log: its chain is global, so its limit is the longest of every org's `audit_days`
  (0 anywhere keeps it forever). Only whole sealed segments go, oldest first, and only those
  (a) whose newest entry is older than that limit and (b) that were exported to a sink
  (`AuditLog.export`). The database keeps each purged entry's hash and signature, so `verify`,
  the checkpoints' roots and the proofs of what remains still check; the purged entries' fields
  live on in the exported segments.

Every purge that is not a dry run is itself audited (`retention.purge`, counts and horizon only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.config import RetentionSettings
from keel.errors import UsageError
from keel.governance.audit import Actor, AuditEvent, AuditLog, timestamp_text
from keel.store import Store
from keel.store.retention import RUN_TABLES, RunCounts, RunScope

DAY = 86_400.0
DEFAULT_AUDIT_DAYS = 2557
DEFAULT_LABEL = "(default)"
# progress(what, org, runs so far): "runs" / "journal" batches, "audit" segments.
Progress = Callable[[str, str, int], None]


@dataclass(frozen=True)
class OrgRetention:
    """One org's overrides, in days; None inherits the policy's default, 0 keeps forever."""

    audit_days: int | None = None
    runs_days: int | None = None
    journal_days: int | None = None


@dataclass(frozen=True)
class Limits:
    """Resolved limits in days (0: forever)."""

    audit_days: int
    runs_days: int
    journal_days: int


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention limits in days (0: keep forever), with per-org overrides."""

    audit_days: int = DEFAULT_AUDIT_DAYS
    runs_days: int = 0
    journal_days: int = 0
    orgs: Mapping[str, OrgRetention] = field(default_factory=dict)
    batch: int = 500

    def __post_init__(self) -> None:
        for name in ("audit_days", "runs_days", "journal_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"retention {name} must be a whole number of days >= 0 (0: forever), got {value!r}")
        if self.batch < 1:
            raise UsageError(f"the purge batch must be at least 1 run, got {self.batch}")

    @classmethod
    def from_settings(cls, settings: RetentionSettings) -> RetentionPolicy:
        return cls(
            audit_days=settings.audit_days,
            runs_days=settings.runs_days,
            journal_days=settings.journal_days,
            orgs={org: OrgRetention(**dict(limits)) for org, limits in settings.orgs},
            batch=settings.batch,
        )

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        """From KEEL_RETENTION_* and the KEEL_RETENTION_FILE TOML (see keel.config.RetentionSettings)."""
        return cls.from_settings(RetentionSettings.from_env())

    def limits(self, org: str | None) -> Limits:
        """The limits that apply to `org` (None: runs of no org, or of an org without overrides)."""
        own = self.orgs.get(org) if org is not None else None
        if own is None:
            return Limits(self.audit_days, self.runs_days, self.journal_days)
        return Limits(
            self.audit_days if own.audit_days is None else own.audit_days,
            self.runs_days if own.runs_days is None else own.runs_days,
            self.journal_days if own.journal_days is None else own.journal_days,
        )

    def audit_limit_days(self) -> int:
        """The audit log's limit: the longest any org asks for (0, forever, wins)."""
        days = [self.audit_days] + [self.limits(org).audit_days for org in self.orgs]
        return 0 if 0 in days else max(days)

    def as_dict(self) -> dict[str, Any]:
        return {
            "audit_days": self.audit_days,
            "runs_days": self.runs_days,
            "journal_days": self.journal_days,
            "batch": self.batch,
            "audit_log_days": self.audit_limit_days(),
            "orgs": {org: dataclasses.asdict(self.limits(org)) for org in sorted(self.orgs)},
        }


@dataclass
class AuditPurge:
    """What the audit part of a purge removed (or would): whole segments below the new horizon."""

    days: int = 0
    cutoff: str | None = None
    horizon_before: int = 0
    horizon_after: int = 0
    segments: int = 0
    entries: int = 0
    stopped: str | None = None  # why the next segment stays (not exported, too young, unsealed)


@dataclass
class PurgeReport:
    """Rows removed per org and table, and the audit log's purge; counts only."""

    dry_run: bool
    at: str
    orgs: dict[str, dict[str, int]] = field(default_factory=dict)
    audit: AuditPurge = field(default_factory=AuditPurge)
    audit_event_id: str | None = None

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for counts in self.orgs.values():
            for k, v in counts.items():
                out[k] = out.get(k, 0) + v
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "at": self.at,
            "orgs": self.orgs,
            "totals": self.totals(),
            "audit": dataclasses.asdict(self.audit),
            "audit_event_id": self.audit_event_id,
        }


def _scopes(policy: RetentionPolicy, org: str | None) -> list[tuple[str, RunScope, Limits]]:
    if org is not None:
        return [(org, RunScope(org), policy.limits(org))]
    explicit = tuple(sorted(policy.orgs))
    scopes = [(DEFAULT_LABEL, RunScope(None, explicit), policy.limits(None))]
    scopes += [(name, RunScope(name), policy.limits(name)) for name in explicit]
    return scopes


def _purge_runs(
    store: Store,
    scope: RunScope,
    days: int,
    *,
    now: float,
    batch: int,
    journal: bool,
    dry_run: bool,
    label: str,
    progress: Progress | None,
) -> tuple[int, RunCounts]:
    total = RunCounts()
    runs = 0
    cutoff = now - days * DAY
    after: tuple[float, str] | None = None
    while True:
        if dry_run:
            n, counts = store.retention_count_runs(scope, cutoff=cutoff, limit=batch, journal=journal, after=after)
            after = counts.last
        else:
            n, counts = store.retention_purge_runs(scope, cutoff=cutoff, limit=batch, journal=journal)
        if n == 0:
            break
        runs += n
        total.add(counts)
        if progress is not None:
            progress("journal" if journal else "runs", label, runs)
        if n < batch:
            break
    return runs, total


def _purge_audit(store: Store, log: AuditLog, days: int, *, now: float, dry_run: bool) -> AuditPurge:
    out = AuditPurge(days=days, horizon_before=store.audit_horizon())
    out.horizon_after = out.horizon_before
    if days == 0:
        out.stopped = "kept forever (an audit_days of 0)"
        return out
    out.cutoff = timestamp_text(now - days * DAY)
    exported = store.audit_exports()
    previous = 0
    for cp in log.checkpoints():
        first, last = previous + 1, cp.size
        previous = cp.size
        if last <= out.horizon_after:
            continue
        if first != out.horizon_after + 1:
            out.stopped = f"the horizon {out.horizon_after} is not at a checkpoint: run `keel audit verify`"
            return out
        if (first, last) not in exported:
            out.stopped = f"segment {first}..{last} was not exported: run `keel audit export --to ...` first"
            return out
        stamp = store.audit_entry_timestamp(last)
        if stamp is None:
            out.stopped = f"entry {last} is missing: run `keel audit verify`"
            return out
        if stamp >= out.cutoff:
            out.stopped = f"segment {first}..{last} is younger than {days} days"
            return out
        removed = last - first + 1 if dry_run else store.audit_prune(last, now=now)
        out.segments += 1
        out.entries += removed
        out.horizon_after = last
    out.stopped = "the entries after the last checkpoint are not sealed yet"
    return out


def purge(
    store: Store,
    policy: RetentionPolicy,
    now: float,
    *,
    audit: AuditLog | None = None,
    dry_run: bool = False,
    org: str | None = None,
    progress: Progress | None = None,
) -> PurgeReport:
    """Apply `policy` at time `now` (epoch seconds); the report counts rows per org and table.

    `audit` reads the log's checkpoints and records the purge (it needs a signer unless `dry_run`);
    by default the log of `store` with the signing key from KEEL_AUDIT_*. `org` limits the purge to
    that org's runs; the audit log, global, is then left alone.
    """
    if audit is None:
        audit = AuditLog(store, signer=None) if dry_run else AuditLog.from_env(store)
    report = PurgeReport(dry_run=dry_run, at=timestamp_text(now))
    for label, scope, limits in _scopes(policy, org):
        counts = dict.fromkeys(RUN_TABLES, 0)
        for days, journal in ((limits.runs_days, False), (limits.journal_days, True)):
            if days == 0 or (journal and limits.runs_days and limits.runs_days <= days):
                continue  # kept forever, or a journal that goes with its run anyway
            _, purged = _purge_runs(
                store,
                scope,
                days,
                now=now,
                batch=policy.batch,
                journal=journal,
                dry_run=dry_run,
                label=label,
                progress=progress,
            )
            for k, v in purged.counts.items():
                counts[k] = counts.get(k, 0) + v
        report.orgs[label] = counts
    if org is None:
        report.audit = _purge_audit(store, audit, policy.audit_limit_days(), now=now, dry_run=dry_run)
        if progress is not None and report.audit.segments:
            progress("audit", "", report.audit.segments)
    else:
        report.audit.stopped = "not purged with --org: the audit log is one chain for every org"
    if not dry_run:
        entry = audit.append_sync(
            AuditEvent(
                event_type="retention.purge",
                actor=Actor("system", "keel-retention"),
                action="retention:purge",
                resource=f"org:{org}" if org is not None else "retention",
                data={
                    "totals": report.totals(),
                    "orgs": report.orgs,
                    "audit": {
                        "horizon_before": report.audit.horizon_before,
                        "horizon_after": report.audit.horizon_after,
                        "entries": report.audit.entries,
                        "segments": report.audit.segments,
                        "days": report.audit.days,
                    },
                },
            )
        )
        report.audit_event_id = entry.event_id
    return report


__all__ = [
    "DEFAULT_AUDIT_DAYS",
    "AuditPurge",
    "Limits",
    "OrgRetention",
    "PurgeReport",
    "RetentionPolicy",
    "purge",
]
