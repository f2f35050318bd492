"""Executing one leased run: replay the journal, run new steps, checkpoint, suspend, compensate."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context

from keel.engine import codec
from keel.engine.context import Context
from keel.engine.ports import (
    ActionRequest,
    AuditRecord,
    CallScope,
    Governor,
    Guard,
    GuardPolicy,
    LlmRequest,
    LlmResult,
    ModelGateway,
    ToolRunner,
)
from keel.engine.registry import Registry, StepDef, WorkflowDef
from keel.engine.retry import RetryPolicy
from keel.engine.tracing import RunTrace, StepSpan
from keel.errors import (
    BudgetExceeded,
    GuardBlocked,
    KeelError,
    NonDeterminismError,
    SerializationError,
    SignalTimeoutError,
    StepFailedError,
    StepTimeoutError,
    ToolError,
    ToolNotAllowed,
    UsageError,
)
from keel.observe import METRICS, alerts
from keel.observe import context as obs_context
from keel.observe.context import RunScope, Usage
from keel.observe.metrics import org_label
from keel.observe.redact import scrub
from keel.observe.tracing import Tracing
from keel.store import CheckpointResult, Claim, RunRecord, StepRecord, Store, outbox
from keel.store.base import STEP_COLUMNS
from keel.store.review import SIGNAL_PREFIX as REVIEW_SIGNAL_PREFIX
from keel.store.review import Review
from keel.store.spans import journal_totals
from keel.types import Clock, RunStatus

if TYPE_CHECKING:
    from keel.config import EngineSettings

log = logging.getLogger("keel.engine")

# Backoff jitter needs no per-run seed; seeding a Random per run costs more than a step.
_RNG = random.Random()

# Sleeps and retry waits this short are taken in-process, holding the lease; longer ones
# release the run so that no worker is tied up while it waits.
_INLINE_WAIT_S = 1.0


@dataclass(frozen=True)
class StepEvent:
    """Emitted to listeners as a run progresses (the CLI prints these)."""

    run_id: str
    workflow: str
    seq: int
    name: str
    kind: str
    status: str  # succeeded | retrying | failed | replayed | waiting
    attempt: int
    duration_s: float
    error: str | None = None


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    workflow: str
    status: str
    cause: str


Listener = Callable[[StepEvent | RunEvent], None]


class _Interrupt(BaseException):
    """Unwinds the workflow coroutine; a BaseException so `except Exception` cannot swallow it."""

    def __init__(
        self, kind: str, cause: str = "", error: BaseException | None = None, step: str | None = None, attempts: int = 0
    ) -> None:
        super().__init__(kind)
        self.attempts = attempts
        self.kind = kind  # suspended | lease_lost | park | compensate | control | hold
        self.cause = cause
        self.error = error
        self.step = step


def encode_error(exc: BaseException) -> str:
    """An error as the journal and the run keep it, scrubbed: a message may quote the PII it choked on."""
    code = exc.code if isinstance(exc, KeelError) else None
    message = exc.message if isinstance(exc, KeelError) else str(exc)
    return json.dumps(
        {
            "type": type(exc).__name__,
            "code": code,
            "message": scrub(message, _ERROR_CHARS),
            "traceback": scrub("".join(traceback.format_exception(exc)[-6:]), _ERROR_CHARS),
        }
    )


_ERROR_CHARS = 8000


class RunExecution:
    """One attempt at driving a run forward while holding its lease."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        claim: Claim,
        run: RunRecord,
        journal: list[StepRecord],
        clock: Clock,
        settings: EngineSettings,
        listeners: list[Listener],
        should_hold: Callable[[RunRecord], str | None],
        rng: random.Random | None = None,
        solo: Callable[[], bool] = lambda: False,
        tracing: Tracing | None = None,
        worker_id: str | None = None,
        llm: ModelGateway | None = None,
        tools: ToolRunner | None = None,
        guard: Guard | None = None,
        governor: Governor | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.claim = claim
        self.guard = guard
        self.governor = governor
        self.risk_score = 0  # the run's: the highest of its governed actions' scores, rebuilt by replay
        self.reviews_requested = 0  # review requests this execution created: its engine re-reads the queue's depth
        self.tools = tools
        self.run = run
        self.journal = {r.seq: r for r in journal}
        self.clock = clock
        self.settings = settings
        self.listeners = listeners
        self.should_hold = should_hold
        self.solo = solo  # True while this is the only run its engine drives: commit inline
        self.rng = rng or _RNG
        self._seq = 0
        self._buffered: list[dict[str, Any]] = []  # ctx.now() values, flushed with the next checkpoint
        self._audit: list[dict[str, Any]] = []  # audit records, committed with the next checkpoint
        self._nondeterminism: NonDeterminismError | None = None
        self._paused = run.paused
        self._control = run.control
        self.status = run.status
        self.result_json: str | None = None  # set when the run ends
        self.error_json: str | None = None
        # Marks the finished run carries ("budget_exceeded": a budget refused a call and the
        # workflow went on to return, so its result is partial; "guard_flagged": the guard found
        # something a policy said to flag for review). Rebuilt by replay.
        self.flags: set[str] = set()
        self.lease_lost = False
        self._steps_metric = METRICS.steps.labels(run.workflow_name, "step")
        self.scope = RunScope(
            run_id=run.run_id,
            workflow=run.workflow_name,
            version=run.workflow_version,
            org_id=run.org_id,
            user_id=run.user_id,
            tracer=tracing.tracer if tracing is not None else None,
            clock=clock,
            capture_content=tracing.content if tracing is not None else False,
        )
        self.llm = llm
        self.workflow: WorkflowDef | None = None  # set when execution starts
        self.trace = RunTrace(tracing, run, worker_id=worker_id)
        self.scope.trace_id = int(self.trace.trace_id, 16)

    # -- events ----------------------------------------------------------------------------

    def _emit(self, event: StepEvent | RunEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not break a run
                log.exception("run event listener failed", extra={"event_type": "engine.listener_failed"})

    def _step_event(
        self, seq: int, name: str, kind: str, status: str, attempt: int, duration: float, error: str | None = None
    ) -> None:
        if self.listeners:
            self._emit(
                StepEvent(self.run.run_id, self.run.workflow_name, seq, name, kind, status, attempt, duration, error)
            )

    # -- checkpoints -----------------------------------------------------------------------

    async def _checkpoint(
        self,
        *,
        new_rows: list[dict[str, Any]] | None = None,
        updated_rows: list[dict[str, Any]] | None = None,
        run_values: dict[str, Any] | None = None,
        status: str | None = None,
        cause: str = "",
        consume_signal_id: int | None = None,
        release: bool = False,
        now: float | None = None,
    ) -> CheckpointResult:
        now = self.clock.time() if now is None else now
        rows = self._buffered + (new_rows or [])
        values = dict(run_values or {})
        # The step checkpoint may leave the counter alone (SQLite's does); every other
        # checkpoint brings it up to date.
        values.setdefault(
            "step_count", 1 + max((r.seq for r in self.journal.values() if r.status == "succeeded"), default=-1)
        )
        if release:
            values.update(lease_owner=None, lease_expires_at=None)
        else:
            values["lease_expires_at"] = now + self.settings.lease_ttl_s
        transition = None
        if status is not None:
            values["status"] = status
            if status != self.status:
                transition = (self.status, status, cause)
        result = await self._commit(
            self.store.acheckpoint(
                self.claim,
                new_rows=[{f: row.get(f) for f in _ROW_FIELDS} for row in rows],
                updated_rows=updated_rows or [],
                run_values=values,
                transition=transition,
                consume_signal_id=consume_signal_id,
                now=now,
                spans=self.trace.take_rows(),
                audit=self._take_audit(),
                inline=self.solo(),
            ),
            rows,
        )
        if status is not None:
            self.status = status
        return result

    async def _checkpoint_step(self, row: dict[str, Any], *, step_count: int, now: float) -> None:
        """Journal a completed step: the hot path, one small fenced transaction."""
        rows = [*self._buffered, row]
        await self._commit(
            self.store.acheckpoint_step(
                self.claim,
                rows=rows,
                step_count=step_count,
                now=now,
                lease_expires_at=now + self.settings.lease_ttl_s,
                spans=self.trace.take_rows(),
                audit=self._take_audit(),
                inline=self.solo(),
            ),
            rows,
        )

    def audit(self, record: AuditRecord) -> None:
        """Queue an audit record: it is committed with the run's next checkpoint, or not at all."""
        if not self.store.audit_outbox:
            return
        run = self.run
        self._audit.append(
            outbox.row(
                run.run_id,
                self.clock.time(),
                event_type=record.event_type,
                action=record.action,
                actor_kind=record.actor_kind,
                actor_id=record.actor_id or run.workflow_name,
                resource=record.resource,
                decision=record.decision,
                policy_version=record.policy_version,
                risk_score=record.risk_score,
                trace_id=self.trace.trace_id,
                data=record.data,
            )
        )

    def _take_audit(self) -> list[dict[str, Any]]:
        taken, self._audit = self._audit, []
        return taken

    async def _commit(
        self, pending: Awaitable[CheckpointResult | None], rows: list[dict[str, Any]]
    ) -> CheckpointResult:
        """Await a fenced checkpoint and take in what it wrote and learned."""
        try:
            result = await pending
        except Exception as exc:
            # The store failed, not the workflow: never blame the run for it. The lease
            # lapses and the run is resumed from its journal once the store is back.
            log.exception("checkpoint failed", extra={"event_type": "run.checkpoint_failed", "run_id": self.run.run_id})
            raise _Interrupt("store_error", f"checkpoint failed: {type(exc).__name__}", exc) from exc
        if result is None:
            self.lease_lost = True
            raise _Interrupt("lease_lost", "another worker holds the run now")
        self._buffered = []
        self.trace.committed()
        for row in rows:
            self.journal[row["seq"]] = _record(self.run.run_id, row)
        self._paused, self._control = result.paused, result.control
        return result

    async def _store_result(self, text: str) -> tuple[str | None, str | None, Any]:
        """JSON text or a blob reference for an encoded result, and the value as replay will see it."""
        size = len(text.encode())
        METRICS.payload_bytes.observe(size)
        if size > self.settings.blob_threshold_bytes:
            blob_id = await self.store.aput_blob(text.encode(), now=self.clock.time())
            return None, blob_id, json.loads(text)
        return text, None, json.loads(text)

    async def _decode_result(self, rec: StepRecord) -> Any:
        if rec.result_ref is not None:
            data = await asyncio.to_thread(self.store.get_blob, rec.result_ref)
            return json.loads(data)
        return codec.loads(rec.result)

    # -- journal positions -----------------------------------------------------------------

    def _next(self, name: str, kind: str) -> tuple[int, StepRecord | None]:
        if self._nondeterminism is not None:
            # The code already diverged from the journal (and caught the error): nothing more
            # may be replayed, executed or journaled for it.
            raise self._nondeterminism
        seq = self._seq
        self._seq += 1
        rec = self.journal.get(seq)
        if rec is not None and (rec.name != name or rec.kind != kind):
            err = NonDeterminismError(
                f"step {seq} of run {self.run.run_id}: the journal has {rec.kind} {rec.name!r}, "
                f"the workflow code now asks for {kind} {name!r}",
                seq=seq,
                expected=rec.name,
                got=name,
            )
            self._nondeterminism = err
            raise err
        return seq, rec

    async def _before_new_work(self) -> None:
        """At a step boundary, honour operator controls before doing anything new."""
        if self._control in ("cancel", "abort") and self.status != RunStatus.COMPENSATING.value:
            # (While compensating, the control is being carried out: a compensation's retry
            # must not restart the compensation.)
            raise _Interrupt("control", f"operator requested {self._control}")
        reason = self.should_hold(self.run) or ("paused by operator" if self._paused else None)
        if reason is not None:
            raise _Interrupt("hold", reason)

    # -- ctx.run ---------------------------------------------------------------------------

    async def run_step(
        self, fn: Callable[..., Any] | str | StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        step = fn if isinstance(fn, StepDef) else self.registry.step_for(fn)
        seq, rec = self._next(step.name, "step")
        if rec is not None:
            value = await self._decode_result(rec)
            self._step_event(seq, step.name, "step", "replayed", rec.attempts, 0.0)
            return codec.revive(value, codec.return_type(step.fn))
        await self._before_new_work()
        args_json = None
        if step.compensate is not None:
            args_json = codec.dumps({"args": list(args), "kwargs": kwargs}, what=f"arguments of step {step.name!r}")
        outcome = await self._call_with_retries(step, seq, args, kwargs)
        row, replayed = await self._completed_entry(seq, step.name, "step", args_json, outcome)
        now = row["finished_at"]
        await self._checkpoint_step(row, step_count=seq + 1, now=now)
        self._steps_metric.inc()
        self._step_event(seq, step.name, "step", "succeeded", row["attempts"], now - row["started_at"])
        return codec.revive(replayed, codec.return_type(step.fn))

    async def _completed_entry(
        self,
        seq: int,
        name: str,
        kind: str,
        args_json: str | None,
        outcome: tuple[str, int, float, Usage, dict[str, Any]],
    ) -> tuple[dict[str, Any], Any]:
        """The journal entry of a step or compensation that succeeded, and its value as replay sees it."""
        encoded, attempts, started, usage, span_columns = outcome
        text, ref, replayed = await self._store_result(encoded)
        entry = dict(
            seq=seq,
            name=name,
            kind=kind,
            status="succeeded",
            result=text,
            result_ref=ref,
            args=args_json,
            attempts=attempts,
            started_at=started,
            finished_at=self.clock.time(),
            **_usage_columns(usage),
            **span_columns,
        )
        self.trace.entry_done(entry)
        return entry, replayed

    async def _call_with_retries(
        self, step: StepDef, seq: int, args: tuple[Any, ...], kwargs: dict[str, Any], *, kind: str = "step"
    ) -> tuple[str, int, float, Usage, dict[str, Any]]:
        """Call the step until it succeeds.

        Returns its result as JSON, the attempts, the start time, its model usage, and the span
        columns of its journal entry.
        """
        started = self.clock.time()
        usage = Usage()
        span = self.trace.start_step(started)
        try:
            encoded, attempt = await self._attempts(step, seq, args, kwargs, kind, usage, span)
        except _Interrupt as intr:
            # Failed for good, or stopped between attempts (held, cancelled, lease lost).
            parked = intr.kind == "park" and intr.error is not None
            self.trace.step_not_done(
                span,
                name=step.name,
                seq=seq,
                kind=kind,
                attempts=intr.attempts,
                started=started,
                now=self.clock.time(),
                usage=usage,
                error=intr.error if parked else None,
                interrupted=None if parked else intr.kind,
            )
            raise
        return encoded, attempt, started, usage, self.trace.entry_columns(span)

    async def _attempts(
        self,
        step: StepDef,
        seq: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        kind: str,
        usage: Usage,
        span: StepSpan | None,
    ) -> tuple[str, int]:
        policy = step.retry
        attempt = self.run.attempt if (self.run.failed_step == step.name and seq == self.run.step_count) else 0
        key = f"{self.run.run_id}:{seq}"
        breaker_key = (step.breaker.key or step.name) if step.breaker else None
        scope = self.scope.for_step(step.name, usage, span.span_id if span is not None else 0)
        while True:
            if step.breaker is not None and breaker_key is not None:
                await self._wait_for_breaker(step, breaker_key)
            attempt += 1
            t0 = self.clock.time()
            try:
                value = await self._invoke(step, args, kwargs, key, scope, span)
                # Encoded here so a non-JSON value fails at the step that made it (not retried).
                encoded = codec.dumps(value, what=f"the result of {kind} {step.name!r}")
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                if step.breaker is not None and breaker_key is not None:
                    await self.store.abreaker_record(
                        breaker_key, success=False, threshold=step.breaker.failure_threshold, now=self.clock.time()
                    )
                retry = policy.retryable(exc) and attempt < policy.max_attempts
                # A dependency that said when to come back (429/503 Retry-After) is not asked sooner.
                delay = max(policy.backoff(attempt, self.rng), _retry_after(exc)) if retry else 0.0
                self.trace.attempt_failed(span, attempt, exc, self.clock.time(), delay if retry else None)
                self._step_event(
                    seq,
                    step.name,
                    kind,
                    "retrying" if retry else "failed",
                    attempt,
                    self.clock.time() - t0,
                    f"{type(exc).__name__}: {exc}",
                )
                if not retry:
                    failed = StepFailedError(
                        f"step {step.name!r} failed after {attempt} attempt(s): {type(exc).__name__}: {exc}",
                        step=step.name,
                        attempts=attempt,
                    )
                    failed.__cause__ = exc
                    raise _Interrupt("park", str(failed), failed, step.name, attempts=attempt) from exc
                METRICS.retries.labels(self.run.workflow_name, step.name).inc()
                await self._checkpoint(run_values=dict(attempt=attempt, failed_step=step.name, error=encode_error(exc)))
                log.warning(
                    "step %s failed (attempt %d), retrying in %.3fs",
                    step.name,
                    attempt,
                    delay,
                    extra={
                        "event_type": "step.retry",
                        "run_id": self.run.run_id,
                        **({"span_id": f"{span.span_id:016x}"} if span is not None else {}),
                        "step": step.name,
                        "attempt": attempt,
                        "error_type": type(exc).__name__,
                        "delay_s": round(delay, 3),
                    },
                )
                await self.clock.sleep(delay)
                await self._before_new_work()
                continue
            if step.breaker is not None and breaker_key is not None:
                await self.store.abreaker_record(
                    breaker_key, success=True, threshold=step.breaker.failure_threshold, now=self.clock.time()
                )
            return encoded, attempt

    async def _wait_for_breaker(self, step: StepDef, key: str) -> None:
        assert step.breaker is not None
        trial_ttl = (step.timeout or 60.0) + self.settings.lease_ttl_s
        while True:
            wait = await self.store.abreaker_acquire(
                key, now=self.clock.time(), reset_timeout=step.breaker.reset_timeout, trial_ttl=trial_ttl
            )
            if wait is None:
                return
            # Open: the step is not called and no attempt is spent; wait for the half-open trial.
            self._step_event(self._seq - 1, step.name, "step", "waiting", 0, 0.0, f"circuit {key!r} open")
            await self.clock.sleep(min(wait, self.settings.lease_ttl_s / 3))
            await self._before_new_work()

    async def _invoke(
        self,
        step: StepDef,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        key: str,
        scope: RunScope,
        span: StepSpan | None,
    ) -> Any:
        if step.wants_idempotency_key:
            kwargs = {**kwargs, "idempotency_key": key}
        # The step's code (and whatever it calls: the gateway, tools, its own spans and logs) sees
        # its run and step span; set before the call is made, since threads and tasks copy them.
        scope_token = obs_context._current.set(scope)
        try:
            if step.is_async:
                call = step.fn(*args, **kwargs)
            else:
                call = asyncio.to_thread(step.fn, *args, **kwargs)
            if step.timeout is None:
                return await call
            try:
                return await asyncio.wait_for(call, step.timeout)
            except TimeoutError:
                # A sync step's thread cannot be killed; it is abandoned and its result ignored.
                raise StepTimeoutError(f"step {step.name!r} timed out after {step.timeout}s", step=step.name) from None
        finally:
            obs_context._current.reset(scope_token)

    # -- ctx.llm ---------------------------------------------------------------------------

    async def run_llm(
        self, task: str, request: LlmRequest, validate: Callable[[str], Any] | None, tags: tuple[str, ...] = ()
    ) -> LlmResult:
        """A model call as a durable step `llm:<task>`: journaled, and replayed with no network call.

        A budget's refusal is journaled too (as the step's result), then raised as BudgetExceeded
        in the workflow: a replay raises it again at the same point, without asking the budget.
        """
        gateway = self.llm
        if gateway is None:
            raise UsageError(
                "ctx.llm needs the model gateway: describe providers, models and routes in keel.toml "
                "(or KEEL_CONFIG); see docs/gateway.md"
            )
        scope = self._call_scope(tags)
        guard = self.guard
        policy = self.workflow.guard if self.workflow is not None else GuardPolicy()

        async def call(request: LlmRequest) -> LlmResult:
            try:
                # Inside the step: only the guarded answer is journaled, so a replay returns it
                # without screening (or calling) again, and the raw prompt is never stored.
                if guard is None:
                    return self._audited_llm(
                        task, await gateway.complete(task, request, scope=scope, validate=validate)
                    )
                # Templates are rendered first, so that what they put in the prompt is screened too.
                screened, report = await guard.inbound(gateway.render(request), scope=scope, policy=policy)
                answer = await gateway.complete(task, screened, scope=scope, validate=validate)
                return self._audited_llm(task, await guard.outbound(answer, scope=scope, policy=policy, report=report))
            except GuardBlocked as exc:
                # Journaled like a budget's refusal: a replay raises the same GuardBlocked at the
                # same point without screening again, and the workflow may catch it.
                return self._audited_llm(
                    task, _refusal(task, guard={"blocked": {"message": exc.message, **exc.details}})
                )
            except BudgetExceeded as exc:
                refusal = _refusal(
                    task,
                    decisions=list(exc.details.pop("decisions", [])),
                    budget_exceeded={"message": exc.message, **exc.details},
                )
                return self._audited_llm(task, refusal)

        # Falling back between models happens inside the call; a retry of the whole call (with
        # backoff) is for when every model of the route failed for the moment.
        step = StepDef(
            fn=call,
            name=f"llm:{task}",
            retry=RetryPolicy(
                max_attempts=3, initial_backoff=2.0, non_retryable=(*gateway.retry_exempt(), GuardBlocked)
            ),
        )
        result: LlmResult = await self.run_step(step, (request,), {})
        if result.guard is not None and result.guard.get("flagged"):
            self.flags.add("guard_flagged")
        if result.guard is not None and result.guard.get("blocked"):
            self.flags.add("guard_blocked")
            details = dict(result.guard["blocked"])
            raise GuardBlocked(str(details.pop("message", "blocked by the guard")), **details)
        if result.budget_exceeded is not None:
            self.flags.add("budget_exceeded")
            details = dict(result.budget_exceeded)
            raise BudgetExceeded(str(details.pop("message", "budget exceeded")), **details)
        return result

    def _audited_llm(self, task: str, result: LlmResult) -> LlmResult:
        """Record a model call (or its refusal) for the audit log: hashes, model, tokens and cost, no text."""
        findings = result.guard or {}
        refused = result.budget_exceeded is not None or "blocked" in findings
        data: dict[str, Any] = {
            "request_sha256": result.request_hash,  # of the request as sent: after the guard's redaction
            "model": result.model,
            "provider": result.provider,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": result.cost_usd,
            "cached": result.cached,
        }
        if findings.get("pii"):
            data["pii"] = findings["pii"]
        if findings.get("flagged"):
            data["flagged"] = True
        if result.budget_exceeded is not None:
            data["refused_by"] = "budget"
        elif "blocked" in findings:
            data["refused_by"] = "guard"
        self.audit(
            AuditRecord(
                event_type="llm.call",
                action=f"llm:{task}",
                resource=f"model:{result.model}" if result.model else None,
                decision="deny" if refused else "allow",
                data=data,
            )
        )
        return result

    def _call_scope(self, tags: tuple[str, ...] = ()) -> CallScope:
        """Who a model or tool call made by this run is for (budgets, caches, credentials)."""
        run = self.run
        return CallScope(
            run_id=run.run_id,
            workflow=run.workflow_name,
            workflow_version=run.workflow_version,
            org_id=run.org_id,
            user_id=run.user_id,
            tags=tags,
        )

    # -- ctx.tool --------------------------------------------------------------------------

    def tool_allowed(self, name: str, allowed: Sequence[str] | None = None) -> bool:
        """Registered, on the workflow's allowlist, and on `allowed` when given (an agent's narrower list)."""
        workflow = self.workflow
        return (
            self.tools is not None
            and self.tools.has(name)
            and workflow is not None
            and name in workflow.tools
            and (allowed is None or name in allowed)
        )

    async def run_tool(
        self,
        name: str,
        args: dict[str, Any],
        *,
        errors_as_results: bool = False,
        allowed: Sequence[str] | None = None,
    ) -> Any:
        """A tool call as a durable step `tool:<name>`, after the workflow's allowlist allows it.

        A refused call is journaled (its step's result says why) and raised as ToolNotAllowed, so
        a replay refuses it again at the same point. With `errors_as_results` (the agent loop) a
        failed call returns `{"error": ...}` instead of parking the run.
        """
        tools = self.tools
        step_name = f"tool:{name}"
        if not self.tool_allowed(name, allowed):
            known = tools is not None and tools.has(name)
            reason = "no such tool"
            if known:
                on_list = self.workflow is not None and name in self.workflow.tools
                reason = "not among this agent's tools" if on_list else "not on the workflow's allowlist"

            async def refuse() -> dict[str, Any]:
                self._audit_tool(name, args, self._seq - 1, "refused", reason)
                return {"refused": reason}

            await self.run_step(StepDef(fn=refuse, name=step_name, retry=RetryPolicy(max_attempts=1)), (), {})
            METRICS.tool_errors.labels(name if known else "unknown", "ToolNotAllowed").inc()
            log.warning(
                "tool %s refused: %s",
                name,
                reason,
                extra={"event_type": "tool.refused", "run_id": self.run.run_id, "tool": name},
            )
            raise ToolNotAllowed(f"tool {name!r} refused: {reason}", tool=name, run_id=self.run.run_id)
        assert tools is not None
        checked = tools.validate(name, args)  # a bad call is the workflow's bug: raised, never journaled
        scope = self._call_scope()
        if self.governor is not None:
            refusal = await self._govern(self.governor, name, checked, scope)
            if refusal is not None:
                METRICS.tool_errors.labels(name, "ToolNotAllowed").inc()
                log.warning(
                    "tool %s refused: %s",
                    name,
                    refusal,
                    extra={"event_type": "tool.refused", "run_id": self.run.run_id, "tool": name},
                )
                if errors_as_results:  # the agent loop tells the model, and goes on
                    return {"error": {"type": "ToolNotAllowed", "message": f"tool {name!r} refused: {refusal}"}}
                raise ToolNotAllowed(f"tool {name!r} refused: {refusal}", tool=name, run_id=self.run.run_id)

        async def call(checked: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
            step = int(idempotency_key.rsplit(":", 1)[1])
            try:
                value = await tools.call(name, checked, scope=scope, step=step, idempotency_key=idempotency_key)
            except ToolError as exc:
                self._audit_tool(name, checked, step, "error", type(exc).__name__)
                if not errors_as_results:
                    raise
                return {"error": {"type": type(exc).__name__, "message": exc.message}}
            self._audit_tool(name, checked, step, "ok")
            return {"value": value}

        policy = tools.retry_policy(name)
        # A tool with a compensation is registered as a step by name (with its undo), so that its
        # arguments are journaled and an aborted run can undo it, in any worker.
        registered = self.registry.steps.get(step_name)
        undo = registered.compensate if registered is not None else None
        step = StepDef(fn=call, name=step_name, retry=policy, compensate=undo)
        outcome: dict[str, Any] = await self.run_step(step, (checked,), {})
        if "refused" in outcome:  # journaled by an earlier version whose allowlist refused it
            raise ToolNotAllowed(f"tool {name!r} refused: {outcome['refused']}", tool=name, run_id=self.run.run_id)
        if "error" in outcome:
            return outcome
        return outcome["value"] if not errors_as_results else outcome

    def _audit_tool(self, name: str, args: dict[str, Any], step: int, outcome: str, detail: str | None = None) -> None:
        """Record a tool call for the audit log: its arguments by hash only (they may hold personal data)."""
        digest = hashlib.sha256(json.dumps(args, sort_keys=True, separators=(",", ":"), default=str).encode())
        data: dict[str, Any] = {"step": step, "outcome": outcome, "args_sha256": digest.hexdigest()}
        if detail is not None:
            data["detail"] = detail
        self.audit(
            AuditRecord(
                event_type="tool.call",
                action=f"tool:{name}",
                resource=f"run:{self.run.run_id}",
                decision="deny" if outcome == "refused" else "allow",
                data=data,
            )
        )

    async def _govern(self, governor: Governor, name: str, args: dict[str, Any], scope: CallScope) -> str | None:
        """Ask the governor about a tool call, then wait for the review it may call for; why it is refused, or None.

        The decision is a step of its own, `policy:tool:NAME`, so a replay takes the journaled
        decision without asking again, and its audit record commits with that journal entry. A
        review is a durable wait on the signal `keel.review:<run_id>:<step>`, sent when people decide.
        """
        action = f"tool:{name}"
        seq = self._seq  # the decision's journal position: the same on every replay, so the review's id is too

        async def decide() -> dict[str, Any]:
            verdict = await governor.decide(ActionRequest(action=action, args=args, scope=scope, step=seq))
            data = dict(verdict.data or {})
            entry = {
                "decision": verdict.decision,
                "risk_score": verdict.risk_score,
                "policy_version": verdict.policy_version,
                "reasons": list(verdict.reasons),
                "data": data,
            }
            resource = data.get("resource")
            # Queued by the attempt that decided: committed with the decision's journal entry or not at all.
            self.audit(
                AuditRecord(
                    event_type="policy.decision",
                    action=action,
                    resource=f"{resource['kind']}:{resource['id']}" if isinstance(resource, dict) else None,
                    decision=verdict.decision,
                    policy_version=verdict.policy_version,
                    risk_score=verdict.risk_score,
                    data={"reasons": list(verdict.reasons), "factors": data.get("factors"), "step": seq},
                )
            )
            return entry

        # A policy that cannot be read (the store is down) is retried, then parks the run: never allowed.
        step = StepDef(fn=decide, name=f"policy:{action}", retry=RetryPolicy(max_attempts=3, initial_backoff=0.5))
        decided: dict[str, Any] = await self.run_step(step, (), {})
        self.risk_score = max(self.risk_score, int(decided.get("risk_score") or 0))
        decision = decided.get("decision")
        reasons = "; ".join(decided.get("reasons") or ()) or "no reason given"
        if decision == "allow":
            return None
        if decision not in ("review", "block"):
            return f"denied by policy ({reasons})"
        review_id = f"{self.run.run_id}:{seq}"
        waited = self.journal.get(self._seq)
        if waited is None or waited.status != "succeeded":
            # Insert-or-ignore: a replay, or another worker after a lost lease, finds the same request.
            requested = await self.store.areview_request(
                review_id=review_id,
                run_id=self.run.run_id,
                step=seq,
                action=action,
                risk_score=int(decided.get("risk_score") or 0),
                policy_version=decided.get("policy_version"),
                kind="override" if decision == "block" else "review",
                details={
                    "workflow": self.run.workflow_name,
                    "org": self.run.org_id,
                    "reasons": decided.get("reasons"),
                    **(decided.get("data") or {}),
                },
                now=self.clock.time(),
            )
            if requested.created:  # announced once: a replay or a resume finds the row and says nothing
                self.reviews_requested += 1
                self._announce_review(requested.review)
        timeout = getattr(governor, "review_timeout_s", None)
        try:
            answer = await self.wait_for_signal(REVIEW_SIGNAL_PREFIX + review_id, timeout)
        except SignalTimeoutError:
            return f"review {review_id} was not decided within {timeout:g}s"
        answer = answer if isinstance(answer, dict) else {}
        if answer.get("decision") == "approved":
            return None
        by = ", ".join(answer.get("by") or ()) or "a reviewer"
        return f"rejected in review {review_id} by {by}: {answer.get('reason') or 'no reason given'}"

    def _announce_review(self, review: Review) -> None:
        """Tell people a review waits: the log event `review.requested` and the alert webhook.

        Names only: the review, run, action, score, kind and workflow, never the tool's arguments
        or the request's details, which may hold personal data. The request has committed, so a
        failure here is logged and the run waits all the same (`keel review list` shows it).
        """
        body = {
            "event": "review.requested",
            "review_id": review.review_id,
            "run_id": review.run_id,
            "action": review.action,
            "risk_score": review.risk_score,
            "kind": review.kind,
            "workflow": self.run.workflow_name,
            "requested_at": datetime.fromtimestamp(review.requested_at, UTC).isoformat(),
        }
        log.info(
            "%s %s requested for %s (risk %d)",
            review.kind,
            review.review_id,
            review.action,
            review.risk_score,
            extra={"event_type": "review.requested", **{k: v for k, v in body.items() if k != "event"}},
        )
        try:
            # From a thread, not awaited: the post blocks for up to its timeout, and the run, about
            # to suspend on the review, must neither wait for a slow receiver nor fail with it.
            alerts.post_in_background(body)
        except Exception:  # noqa: BLE001 - e.g. no thread to be had; the review stands
            log.exception(
                "review %s requested but its webhook not posted",
                review.review_id,
                extra={"event_type": "review.webhook_failed", "run_id": self.run.run_id},
            )

    # -- ctx.now / sleep / signals ----------------------------------------------------------

    def now_value(self) -> float:
        seq, rec = self._next("keel.now", "now")
        if rec is not None:
            return float(json.loads(rec.result or "0"))
        pending = next((r for r in self._buffered if r["seq"] == seq), None)
        if pending is not None:
            return float(pending["result"])
        value = self.clock.time()
        self._buffered.append(
            dict(
                seq=seq,
                name="keel.now",
                kind="now",
                status="succeeded",
                result=repr(value),
                attempts=1,
                started_at=value,
                finished_at=value,
            )
        )
        return value

    async def sleep(self, seconds: float) -> None:
        seq, rec = self._next("keel.sleep", "sleep")
        if rec is not None and rec.status == "succeeded":
            return
        now = self.clock.time()
        if rec is None:
            await self._before_new_work()
            wake_at = now + max(0.0, seconds)
            row = dict(
                seq=seq, name="keel.sleep", kind="sleep", status="pending", wake_at=wake_at, attempts=1, started_at=now
            )
            if wake_at - now > _INLINE_WAIT_S:
                await self._suspend(new_rows=[row], wake_at=wake_at, cause=f"sleeping {seconds:g}s")
            await self._checkpoint(new_rows=[row])
        else:
            wake_at = rec.wake_at or now
        if wake_at > now:
            if wake_at - now > _INLINE_WAIT_S:
                await self._suspend(wake_at=wake_at, cause="sleeping")
            await self.clock.sleep(wake_at - now)
        done = self.clock.time()
        entry = self.journal[seq]
        update = dict(seq=seq, status="succeeded", finished_at=done, **self.trace.entry_columns())
        completed = {**_row_of(entry), **update}
        self.trace.entry_done(completed)
        await self._checkpoint(updated_rows=[update])
        self.journal[seq] = _record(self.run.run_id, completed)
        self._step_event(seq, "keel.sleep", "sleep", "succeeded", 1, done - now)

    async def wait_for_signal(self, name: str, timeout: float | None) -> Any:
        step_name = f"keel.signal:{name}"
        seq, rec = self._next(step_name, "signal")
        if rec is not None and rec.status == "succeeded":
            stored = codec.loads(rec.result) or {}
            if stored.get("timed_out"):
                raise SignalTimeoutError(f"no signal {name!r} within the timeout", signal=name)
            return stored.get("payload")
        now = self.clock.time()
        if rec is None:
            await self._before_new_work()
        deadline = rec.wake_at if rec is not None else (now + timeout if timeout is not None else None)
        found = await self.store.afirst_signal(self.run.run_id, name)
        base = dict(seq=seq, name=step_name, kind="signal", attempts=1, started_at=now, wake_at=deadline)
        if found is not None or (deadline is not None and deadline <= now):
            if found is not None:
                result = json.dumps({"payload": codec.loads(found[1])})
            else:
                result = json.dumps({"timed_out": True})
            done = dict(status="succeeded", result=result, finished_at=now, **self.trace.entry_columns())
            if rec is not None:
                base["started_at"] = rec.started_at
            self.trace.entry_done({**base, **done})
            if rec is None:
                await self._checkpoint(new_rows=[{**base, **done}], consume_signal_id=found[0] if found else None)
            else:
                await self._checkpoint(
                    updated_rows=[dict(seq=seq, **done)], consume_signal_id=found[0] if found else None
                )
            self.journal[seq] = _record(self.run.run_id, {**base, **done})
            self._step_event(seq, step_name, "signal", "succeeded", 1, 0.0)
            if found is None:
                raise SignalTimeoutError(f"no signal {name!r} within {timeout}s", signal=name)
            return codec.loads(found[1])
        await self._suspend(
            new_rows=[{**base, "status": "pending"}] if rec is None else None,
            wake_at=deadline,
            cause=f"waiting for signal {name!r}",
            wake_on_signal=name,
        )

    async def _suspend(
        self,
        *,
        wake_at: float | None,
        cause: str,
        new_rows: list[dict[str, Any]] | None = None,
        wake_on_signal: str | None = None,
    ) -> None:
        now = self.clock.time()
        if wake_on_signal is not None and await self.store.afirst_signal(self.run.run_id, wake_on_signal) is not None:
            wake_at = now  # the signal arrived while we were deciding to wait
        await self._checkpoint(
            new_rows=new_rows,
            run_values=dict(wake_at=wake_at),
            status=RunStatus.WAITING.value,
            cause=cause,
            release=True,
        )
        if wake_on_signal is not None:
            # A signal that lands between the check above and the commit set no wake-up
            # (the run was not yet waiting); look once more now that it is.
            if await self.store.afirst_signal(self.run.run_id, wake_on_signal) is not None:
                await asyncio.to_thread(self.store.send_wakeup, self.run.run_id, now=self.clock.time())
        self._step_event(self._seq - 1, cause, "wait", "waiting", 0, 0.0)
        raise _Interrupt("suspended", cause)

    # -- whole run ---------------------------------------------------------------------------

    async def execute(self, workflow: WorkflowDef) -> None:
        """Drive the run until it ends, suspends, parks, or loses its lease."""
        self.workflow = workflow
        # The workflow's own code (outside steps) sees its run, and its spans join the run's trace.
        token = obs_context._current.set(self.scope)
        span_token = otel_context.attach(self.trace.context) if self.trace.tracing is not None else None
        try:
            await self._execute(workflow)
        finally:
            if span_token is not None:
                otel_context.detach(span_token)
            obs_context._current.reset(token)
            if self.trace.tracing is not None:
                self._store_leftover_spans()

    def _store_leftover_spans(self) -> None:
        rows = self.trace.leftovers()
        if rows:
            try:
                self.store.submit_spans(rows)  # not awaited: nothing depends on it
            except Exception:  # noqa: BLE001 - the store may be what failed; the spans are lost then
                log.warning("could not store %d span(s)", len(rows), extra={"event_type": "trace.store_failed"})

    async def _execute(self, workflow: WorkflowDef) -> None:
        try:
            if self._control in ("cancel", "abort") or self.status == RunStatus.COMPENSATING.value:
                await self._compensate(self._control or "abort", "operator request")
                return
            payload = json.loads(self.run.input)
            args, kwargs = payload.get("args", []), payload.get("kwargs", {})
            ctx = Context(self)
            try:
                args, kwargs = codec.bind_input(workflow.fn, args, kwargs, skip_first=True)
                result = await workflow.fn(ctx, *args, **kwargs)
            except NonDeterminismError:
                raise
            except Exception as exc:  # noqa: BLE001 - the workflow's own code failed
                if self._nondeterminism is not None:
                    raise self._nondeterminism from exc
                await self._finish(RunStatus.FAILED.value, error=exc, cause=f"workflow raised {type(exc).__name__}")
                return
            if self._nondeterminism is not None:
                raise self._nondeterminism
            try:
                text = codec.dumps(result, what=f"the result of workflow {workflow.name!r}")
            except SerializationError as exc:
                await self._finish(RunStatus.FAILED.value, error=exc, cause="result is not JSON")
                return
            await self._finish(RunStatus.SUCCEEDED.value, result=text, cause="workflow returned")
        except NonDeterminismError as exc:
            await self._finish(RunStatus.FAILED.value, error=exc, cause="non-determinism detected")
        except _Interrupt as intr:
            await self._on_interrupt(intr, workflow)

    async def _on_interrupt(self, intr: _Interrupt, workflow: WorkflowDef) -> None:
        if intr.kind in ("suspended", "lease_lost", "store_error"):
            if intr.kind == "lease_lost":
                log.warning(
                    "lease lost; another worker continues the run",
                    extra={"event_type": "run.lease_lost", "run_id": self.run.run_id},
                )
            return
        if intr.kind == "hold":
            await self._release(intr.cause)
            return
        if intr.kind == "control":
            await self._compensate(self._control or "abort", intr.cause)
            return
        if intr.kind == "park":
            assert intr.error is not None
            if workflow.on_failure == "compensate":
                await self._checkpoint(run_values=dict(control="abort", error=encode_error(intr.error)))
                try:
                    await self._compensate("abort", intr.cause)
                except _Interrupt as inner:  # held, suspended or lease lost while compensating
                    await self._on_interrupt(inner, workflow)
                return
            await self._checkpoint(
                run_values=dict(error=encode_error(intr.error), failed_step=intr.step, wake_at=None),
                status=RunStatus.DEAD_LETTER.value,
                cause=intr.cause,
                release=True,
            )
            METRICS.dead_letters.labels(self.run.workflow_name).inc()
            log.warning(
                "run %s parked in the dead-letter queue: step %s failed",
                self.run.run_id,
                intr.step,
                extra={"event_type": "run.dead_letter", "run_id": self.run.run_id, "step": intr.step},
            )
            self._emit(RunEvent(self.run.run_id, self.run.workflow_name, RunStatus.DEAD_LETTER.value, intr.cause))

    async def _release(self, cause: str) -> None:
        """Stop at a step boundary and let the run be claimed again later."""
        now = self.clock.time()
        await self._checkpoint(run_values=dict(wake_at=now), status=RunStatus.WAITING.value, cause=cause, release=True)
        self._emit(RunEvent(self.run.run_id, self.run.workflow_name, RunStatus.WAITING.value, cause))

    async def _finish(
        self, status: str, *, cause: str, result: str | None = None, error: BaseException | None = None
    ) -> None:
        self.result_json, self.error_json = result, encode_error(error) if error else None
        # The run's span is its row: it ends at the run's last update, with the totals of the
        # whole journal (every worker's share of it). Exported only once the end has committed.
        now = self.clock.time()
        totals = journal_totals(self.journal.values())
        total = Usage(*totals)
        self.trace.finish_run(
            status=status,
            created_at=self.run.created_at,
            now=now,
            totals=totals,
            error_type=type(error).__name__ if error is not None else None,
        )
        await self._checkpoint(
            run_values=dict(
                result=result,
                error=self.error_json,
                wake_at=None,
                control=None,
                flags=",".join(sorted(self.flags)) or None,
            ),
            status=status,
            cause=cause,
            release=True,
            now=now,
        )
        METRICS.runs_finished.labels(self.run.workflow_name, status).inc()
        self._run_finished(status, now, total)
        self._emit(RunEvent(self.run.run_id, self.run.workflow_name, status, cause))

    def _run_finished(self, status: str, now: float, total: Usage) -> None:
        """Metrics and the log line of a run that ended."""
        org = org_label(self.run.org_id)
        success = "true" if status == RunStatus.SUCCEEDED.value else "false"
        METRICS.run_duration.labels(self.run.workflow_name, org, success).observe(max(0.0, now - self.run.created_at))
        METRICS.run_cost.labels(self.run.workflow_name, org).observe(total.cost_usd)
        if not log.isEnabledFor(logging.INFO):
            return  # the line's fields cost more to build than the check
        log.info(
            "run %s %s",
            self.run.run_id,
            status,
            extra={
                "event_type": "run.finished",
                "run_id": self.run.run_id,
                "workflow": self.run.workflow_name,
                "status": status,
                "duration_s": round(now - self.run.created_at, 3),
                "cost_usd": round(total.cost_usd, 6),
                "tokens_input": total.input_tokens,
                "tokens_output": total.output_tokens,
            },
        )

    async def _compensate(self, control: str, cause: str) -> None:
        """Run the compensations of completed steps in reverse order, each a durable step."""
        if self.status != RunStatus.COMPENSATING.value:
            await self._checkpoint(status=RunStatus.COMPENSATING.value, cause=cause)
        done_for = set()
        next_seq = max(self.journal, default=-1) + 1
        for rec in self.journal.values():
            if rec.kind == "compensation" and rec.args:
                done_for.add(json.loads(rec.args)["for_seq"])
        for rec in sorted(self.journal.values(), key=lambda r: r.seq, reverse=True):
            if rec.kind != "step" or rec.seq in done_for or rec.status != "succeeded":
                continue
            step = self.registry.steps.get(rec.name)
            if step is None:
                if rec.args is None:
                    # Arguments are journaled only for steps with a compensation: this one had
                    # none (e.g. a plain function, registered only once the workflow replays).
                    continue
                raise UsageError(f"step {rec.name!r} of run {self.run.run_id} is not registered in this worker")
            comp = self.registry.compensation_for(step)
            if comp is None:
                continue
            original = codec.loads(rec.args) or {"args": [], "kwargs": {}}
            result = await self._decode_result(rec)
            kwargs = {**original["kwargs"], "result": result}
            seq = next_seq
            next_seq += 1
            try:
                outcome = await self._call_with_retries(comp, seq, tuple(original["args"]), kwargs, kind="compensation")
            except _Interrupt as intr:
                if intr.kind != "park":
                    raise
                # A compensation that cannot succeed parks the run; resuming retries it.
                await self._checkpoint(
                    run_values=dict(
                        error=encode_error(intr.error) if intr.error else None, failed_step=comp.name, wake_at=None
                    ),
                    status=RunStatus.DEAD_LETTER.value,
                    cause=f"compensation failed: {intr.cause}",
                    release=True,
                )
                METRICS.dead_letters.labels(self.run.workflow_name).inc()
                return
            entry, _ = await self._completed_entry(
                seq, comp.name, "compensation", json.dumps({"for_seq": rec.seq}), outcome
            )
            await self._checkpoint(new_rows=[entry], run_values=dict(attempt=0, failed_step=None))
            elapsed = entry["finished_at"] - entry["started_at"]
            self._step_event(seq, comp.name, "compensation", "succeeded", entry["attempts"], elapsed)
        final = RunStatus.CANCELLED.value if control == "cancel" else RunStatus.FAILED.value
        await self._finish(
            final,
            cause=f"compensated after {cause}",
            error=None if control == "cancel" else _stored_error(self.run, cause),
        )


def _stored_error(run: RunRecord, cause: str) -> BaseException:
    if run.error:
        message = json.loads(run.error).get("message", cause)
        return StepFailedError(f"aborted and compensated: {message}")
    return StepFailedError(f"aborted and compensated: {cause}")


_ROW_FIELDS = STEP_COLUMNS[1:]  # a journal row, without its run_id


def _record(run_id: str, row: dict[str, Any]) -> StepRecord:
    return StepRecord(run_id=run_id, **{f: row.get(f) for f in _ROW_FIELDS})  # type: ignore[arg-type]


def _retry_after(exc: BaseException) -> float:
    """Seconds the failed dependency asked to be left alone (0 if it did not say)."""
    value = exc.details.get("retry_after_s") if isinstance(exc, KeelError) else getattr(exc, "retry_after_s", None)
    try:
        return max(0.0, float(value)) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _usage_columns(usage: Usage) -> dict[str, Any]:
    if not (usage.input_tokens or usage.output_tokens or usage.cost_usd):
        return {}
    return {"tokens_input": usage.input_tokens, "tokens_output": usage.output_tokens, "cost_usd": usage.cost_usd}


def _row_of(rec: StepRecord) -> dict[str, Any]:
    return {f: getattr(rec, f) for f in _ROW_FIELDS}


def _refusal(task: str, **fields: Any) -> LlmResult:
    """The journal entry of a model call that was refused before any answer (budget, guard)."""
    return LlmResult(
        text="",
        model="",
        provider="",
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        route=task,
        request_hash="",
        latency_ms=0.0,
        **fields,
    )
