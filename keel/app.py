"""App: the composition root. Registries, the store, and the engine that drives runs."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import math
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from keel.config import EngineSettings, GovernanceSettings, GuardSettings, TraceSettings, resolve_database_url
from keel.engine import codec
from keel.engine.estimate import (
    HISTORY_RUNS,
    ApprovalRequiredError,
    CostEstimate,
    CostGate,
    EstimateHook,
    check_hook,
    current_user,
    estimate_input,
    gate_for,
)
from keel.engine.ports import CallScope, Governor, GuardPolicy
from keel.engine.registry import OnFailure, Registry, StepDef, WorkflowDef, step_name
from keel.engine.retry import CircuitBreaker, RetryPolicy
from keel.errors import ConfigError, InvalidStateError, KillSwitchEngaged, RunFailedError, StepFailedError, UsageError
from keel.store import Claim, RunRecord, Store, open_store
from keel.types import Clock, RunStatus, SystemClock

if TYPE_CHECKING:
    # Imported when first needed: the executor (with tracing, metrics and logging) and the gateway
    # (Jinja2, HTTP clients) are most of `import keel`, and commands that start no run or model call
    # (`keel estimate`, `keel runs ...`) should not pay for them.
    from keel.engine.executor import Listener
    from keel.engine.worker import Engine, Worker
    from keel.gateway.config import GatewayConfig
    from keel.gateway.gateway import Gateway
    from keel.governance.outbox import Sealer
    from keel.guard.guard import Guard as ScreeningGuard
    from keel.observe.tracing import Tracing
    from keel.tools.toolbox import Toolbox

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("keel.app")


class RunHandle:
    """A started run: its id, its state, and its result when it ends."""

    def __init__(self, app: App, run_id: str, *, created: bool = True, approval: str | None = None) -> None:
        self.app = app
        self.run_id = run_id
        self.created = created  # False when an idempotency key returned an existing run
        # Why the run waits for cost approval (`confirm_above_usd`) when it was started; else None.
        self.approval = approval

    def __repr__(self) -> str:
        return f"RunHandle({self.run_id!r})"

    def status(self) -> str:
        return self.app.store.get_run(self.run_id).status

    def get(self) -> RunRecord:
        return self.app.store.get_run(self.run_id)

    async def result(self, timeout: float | None = None) -> Any:
        """Wait for the run to end and return its result, typed as the workflow declares.

        With no worker running, this drives the run itself in this process, so scripts need
        nothing else; a run awaiting cost approval is waited for until someone approves it.
        Raises RunFailedError if the run failed or was cancelled, StepFailedError if it was
        parked in the dead-letter queue, TimeoutError after `timeout` seconds.
        """
        run = await self.drive(timeout=timeout)
        if run.status == RunStatus.DEAD_LETTER.value:
            err = json.loads(run.error or "{}")
            raise StepFailedError(
                f"run {run.run_id} is parked in the dead-letter queue: {err.get('message', 'step failed')} "
                f"(resume it with `keel runs resume {run.run_id}`)",
                run_id=run.run_id,
            )
        return self.app._outcome(run)

    async def drive(
        self, *, timeout: float | None = None, stop: asyncio.Event | None = None, return_when_held: bool = False
    ) -> RunRecord:
        """Drive the run here whenever it is claimable (else wait for whoever holds it) until it
        ends or parks in the dead-letter queue; the run as it then is.

        Returns early when `stop` is set, or with `return_when_held` while the run or its
        workflow is paused (nothing would claim it). Raises TimeoutError after `timeout` seconds.
        """
        app = self.app
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            run = await asyncio.to_thread(app.store.get_run, self.run_id)
            if run.status in STOPPED or (stop is not None and stop.is_set()):
                return run
            if return_when_held and await asyncio.to_thread(self._held, run):
                return run
            now = app.clock.time()
            if app.registry.workflow(run.workflow_name, run.workflow_version) is not None and (
                run.wake_at is not None and run.wake_at <= now and (run.lease_expires_at or 0) < now
            ):
                claims = await app.engine.claim(1, run_id=self.run_id)
                if claims:
                    await app.engine.drive(claims[0])
                    continue
            # Not claimable yet: a durable timer, a signal, or another process holds the lease.
            poll, recheck = app.settings.poll_interval_s, 1.0
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    raise TimeoutError(f"run {self.run_id} did not finish within {timeout}s")
                poll, recheck = min(poll, left), min(recheck, left)
            if run.wake_at is not None and run.wake_at > now:
                # A durable timer: sleep on the app's clock (a test clock skips ahead at once),
                # but look again within a second of real time for cancels and signals.
                await _wait(app.clock.sleep(run.wake_at - now), recheck, stop)
            else:
                await _wait(asyncio.sleep(poll), poll, stop)

    def _held(self, run: RunRecord) -> bool:
        if run.paused and run.control is None:
            return True
        return run.workflow_name in self.app.store.paused_workflows()


# Where driving a run stops: it ended, or it needs an operator (dead letter).
STOPPED = frozenset(
    {RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value, RunStatus.DEAD_LETTER.value}
)


async def _wait(sleep: Awaitable[None], limit: float, stop: asyncio.Event | None) -> None:
    """Await `sleep` for at most `limit` seconds, or until `stop` is set."""
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(sleep)]
    if stop is not None:
        waiters.append(asyncio.ensure_future(stop.wait()))
    _, pending = await asyncio.wait(waiters, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()


class App:
    """A Keel application: register workflows and steps, start and control runs."""

    def __init__(
        self,
        name: str,
        database_url: str | None = None,
        *,
        clock: Clock | None = None,
        settings: EngineSettings | None = None,
        trace_settings: TraceSettings | None = None,
        gateway: Gateway | GatewayConfig | str | Path | None = None,
        guard: GuardSettings | bool | None = None,
        reveal_policy: Callable[[str, RunRecord], bool] | None = None,
        governor: Governor | GovernanceSettings | bool | None = None,
    ) -> None:
        """`guard`: GuardSettings, False to turn the guard off, None for KEEL_GUARD / KEEL_GUARD_NER.
        `governor`: what judges each tool call before it runs (Cedar policy, risk, human review): a
        Governor, GovernanceSettings, True (on, configured by `[governance]` in keel.toml), False
        (off), or None: on when KEEL_GOVERNANCE=true or keel.toml has a `[governance]` table.
        `reveal_policy(principal, run)` decides who may see a run's redacted values (`reveal`); the
        default lets only the run's own user (the data subject) see them."""
        self.name = name
        self.database_url = resolve_database_url(database_url)
        self.registry = Registry()
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or EngineSettings.from_env()
        self.trace_settings = trace_settings or TraceSettings.from_env()
        self._tracing: Tracing | None = None
        # A Gateway, its config, or a keel.toml path; None: keel.toml / KEEL_CONFIG when first needed.
        self._gateway_source = gateway
        self._gateway: Gateway | None = gateway if _is_gateway(gateway) else None
        self._gateway_loaded = self._gateway is not None
        self.listeners: list[Listener] = []
        self._store: Store | None = None
        self._engine: Engine | None = None
        self._toolbox: Toolbox | None = None
        self._sealer: Sealer | None = None
        if guard is None or guard is True:
            guard = GuardSettings.from_env() if guard is None else GuardSettings()
        self.guard_settings = guard if guard is not False else GuardSettings(enabled=False)
        self._guard: ScreeningGuard | None = None
        self.reveal_policy = reveal_policy or _subject_only
        self._governor_source = governor
        self._governor: Governor | None = None
        self._governor_loaded = False
        self._lock = threading.Lock()

    # -- wiring ----------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.database_url)
        return self._store

    @property
    def tracing(self) -> Tracing | None:
        """This app's tracer provider (span store + OTEL_* exporters); None with KEEL_TRACING=false."""
        if self._tracing is None and self.trace_settings.enabled:
            from keel.observe.tracing import Tracing

            self._tracing = Tracing(sink=self.store.submit_spans, content=self.trace_settings.content)
        return self._tracing

    @property
    def gateway(self) -> Gateway | None:
        """The model gateway serving `ctx.llm`, from keel.toml; None when nothing configures one."""
        if not self._gateway_loaded:
            store = self.store  # outside the lock: opening the store takes it
            loaded_from: Path | None = None
            with self._lock:
                if not self._gateway_loaded:
                    from keel.gateway.config import GatewayConfig, load_config
                    from keel.gateway.gateway import Gateway
                    from keel.gateway.prompts import PromptLibrary

                    source = self._gateway_source
                    if isinstance(source, GatewayConfig):
                        config: GatewayConfig | None = source
                    else:
                        config = load_config(None if isinstance(source, Gateway) else source)
                    if config is not None:
                        self._gateway = Gateway(config, store=store, clock=self.clock, prompts=PromptLibrary.from_env())
                        loaded_from = config.source
                    self._gateway_loaded = True
            if loaded_from is not None:
                self._audit_config(loaded_from)
        return self._gateway

    def _audit_config(self, source: Path | None) -> None:
        """Record which configuration this process runs with: a changed keel.toml shows as a new hash."""
        if source is None:
            return
        from keel.store import outbox

        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        row = outbox.row(
            None,
            self.clock.time(),
            event_type="config.loaded",
            action="config:load",
            actor_kind="system",
            actor_id="keel",
            resource=f"config:{source.name}",
            data={"sha256": digest, "app": self.name},
        )
        self.store.audit_record([row])

    @property
    def guard(self) -> ScreeningGuard | None:
        """The guard every model call passes through (PII to the vault, injections refused); None when off."""
        if not self.guard_settings.enabled:
            return self._guard
        # Rebuilt when the store was replaced (its vault lives in that store). The store is opened
        # outside the lock: opening it takes the same lock.
        store = self.store
        if self._guard is None or self._guard.store is not store:
            with self._lock:
                if self._guard is None or self._guard.store is not store:
                    from keel.guard.guard import Guard as ScreeningGuard
                    from keel.guard.guard import install_log_redactor

                    install_log_redactor()
                    self._guard = ScreeningGuard(store, ner=self.guard_settings.ner)
        return self._guard

    @property
    def governor(self) -> Governor | None:
        """What judges each tool call before it runs (policy, risk, human review); None when governance is off."""
        if not self._governor_loaded:
            store = self.store  # outside the lock: opening the store takes it
            with self._lock:
                if not self._governor_loaded:
                    source = self._governor_source
                    if source is None or source is True or isinstance(source, GovernanceSettings):
                        settings = source if isinstance(source, GovernanceSettings) else GovernanceSettings.from_env()
                        if source is True:
                            settings = replace(settings, enabled=True)
                        if settings.enabled:
                            from keel.governance.governor import KeelGovernor

                            self._governor = KeelGovernor.from_settings(
                                store, settings, egress=self._tool_egress, clock=self.clock
                            )
                    elif source is not False:
                        self._governor = source
                    self._governor_loaded = True
        return self._governor

    def _tool_egress(self, name: str) -> Sequence[str]:
        """The hosts tool `name` may reach (its `network=`): a call of a tool with any is an external call."""
        spec = self._toolbox.specs.get(name) if self._toolbox is not None else None
        return spec.network if spec is not None else ()

    async def reveal(self, run_id: str, text: str, *, principal: str) -> str:
        """`text` (a run's output) with its PII placeholders replaced by the values, for a principal allowed to."""
        run = await asyncio.to_thread(self.store.get_run, run_id)
        if not self.reveal_policy(principal, run):
            raise UsageError(f"{principal!r} may not see the redacted values of run {run_id}")
        guard = self.guard
        if guard is None:
            raise UsageError("the guard is off (KEEL_GUARD=false): there is no vault to reveal from")
        return await guard.reveal(run_id, text)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from keel.engine.worker import Engine

            self._engine = Engine(
                store=self.store,
                registry=self.registry,
                clock=self.clock,
                settings=self.settings,
                listeners=self.listeners,
                tracing=self.tracing,
                llm=self.gateway,
                tools=self._toolbox,
                guard=self.guard if self.gateway is not None else None,
                governor=self.governor,
            )
            self._start_sealer()
        return self._engine

    def _start_sealer(self) -> None:
        """Seal the audit events this app's runs commit into the signed chain, in the background."""
        store = self.store
        if not store.audit_outbox or self._sealer is not None:
            return
        from keel.governance.audit import AuditLog
        from keel.governance.outbox import Sealer

        try:
            audit_log = AuditLog.from_env(store)
        except ConfigError as exc:
            # The events stay in the outbox, committed, until a process with the key seals them.
            log.warning(
                "audit events are queued but not sealed: %s",
                exc.message,
                extra={"event_type": "audit.no_signing_key"},
            )
            return
        self._sealer = Sealer(audit_log).start()

    def close(self) -> None:
        if self._sealer is not None:
            self._sealer.stop()  # seals what this app's runs committed before the store closes
            self._sealer = None
        if self._gateway is not None:
            self._gateway.close()
        if self._tracing is not None:
            # Flush the last spans through the store before it closes.
            self._tracing.shutdown()
            self._tracing = None
        if self._store is not None:
            self._store.close()
            self._store = None
            self._engine = None
            if self._governor is not self._governor_source:
                # A governor built here reads the store that just closed: the next is built on the next store.
                self._governor, self._governor_loaded = None, False

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decorators --------------------------------------------------------------------------

    def workflow(
        self,
        name: str | None = None,
        version: str = "1",
        on_failure: OnFailure = "park",
        prompts: dict[str, str] | None = None,
        estimate: EstimateHook | None = None,
        confirm_above_usd: float | None = None,
        tools: Sequence[str] = (),
        guard: GuardPolicy | dict[str, str] | None = None,
    ) -> Callable[[F], F]:
        """Register an `async def f(ctx, ...)` as a durable workflow.

        `guard` says what the guard does in this workflow's model calls: {"pii": "redact" | "block" |
        "flag" | "allow", "injection": "block" | "flag" | "allow"} (default: redact, block).

        `tools` names the tools (`@app.tool`) it may call, from its code or through a model;
        any other is refused (deny by default).

        `prompts` pins the prompt template versions this workflow version uses: {"triage": "2"}.
        `estimate` is `fn(...) -> CostEstimate | None`, called with the workflow's arguments
        (without ctx) to predict a run's cost; without it (or when it returns None) the cost is
        estimated from past runs of the same version. With `confirm_above_usd`, a run whose
        estimated USD (the point estimate) is above it, or that cannot be estimated, is created
        paused until approved (`app.approve`, `keel runs approve`).
        """
        if on_failure not in ("park", "compensate"):
            raise UsageError(f"on_failure must be 'park' or 'compensate', got {on_failure!r}")
        pins = dict(prompts or {})
        if not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in pins.items()):
            raise UsageError('prompts= maps template names to versions, both strings: {"triage": "2"}')
        if confirm_above_usd is not None and (
            isinstance(confirm_above_usd, bool)
            or not isinstance(confirm_above_usd, (int, float))
            or not math.isfinite(confirm_above_usd)
            or confirm_above_usd < 0
        ):
            raise UsageError(f"confirm_above_usd must be a number of USD >= 0, got {confirm_above_usd!r}")
        if isinstance(tools, str) or not all(isinstance(t, str) and t for t in tools):
            raise UsageError('tools= is a list of tool names: tools=["lookup_order"]')
        policy = _guard_policy(guard)

        def decorate(fn: F) -> F:
            if not inspect.iscoroutinefunction(fn):
                raise UsageError(f"workflow {step_name(fn)} must be an `async def` taking ctx first")
            wf_name = name or fn.__name__
            if estimate is not None:
                check_hook(estimate, fn, wf_name)
            wf = WorkflowDef(
                fn=fn,
                name=wf_name,
                version=str(version),
                on_failure=on_failure,
                prompts=pins,
                estimate=estimate,
                confirm_above_usd=None if confirm_above_usd is None else float(confirm_above_usd),
                tools=tuple(dict.fromkeys(tools)),
                guard=policy,
            )
            self.registry.add_workflow(wf)
            fn.__keel_workflow__ = wf  # type: ignore[attr-defined]
            return fn

        return decorate

    def tool(
        self,
        name: str | None = None,
        *,
        scopes: Sequence[str] = (),
        timeout: float = 30.0,
        sandbox: bool = True,
        network: Sequence[str] = (),
        compensate: str | Callable[..., Any] | None = None,
        memory_mb: int = 256,
        cpu_seconds: int = 10,
        retry: RetryPolicy | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a tool: typed (its hints are its schema), sandboxed, credentialed.

        Each call runs in a fresh sandbox (bubblewrap: no network unless `network` lists hosts, a
        read-only system, a temp dir, CPU/memory limits, `timeout` seconds), with a short-lived
        credential for `scopes` bound to the run's org (the `creds` argument, when declared).
        Workflows name the tools they may call: `@app.workflow(tools=["name"])`.
        """
        from keel.tools.contract import build_spec

        def decorate(fn: F) -> F:
            spec = build_spec(
                fn,
                name=name,
                scopes=list(scopes),
                network=list(network),
                timeout_s=timeout,
                sandbox=sandbox,
                compensate=compensate,
                memory_mb=memory_mb,
                cpu_seconds=cpu_seconds,
                retry=retry,
            )
            self.toolbox.add(spec)
            if compensate is not None:
                undo = compensate if isinstance(compensate, str) else getattr(compensate, "__keel_tool__", None)
                if undo is None:
                    raise UsageError(f"tool {spec.name!r}: compensate= names another tool (its name or function)")
                self._register_tool_compensation(spec.name, undo if isinstance(undo, str) else undo.name)
            fn.__keel_tool__ = spec  # type: ignore[attr-defined]
            return fn

        return decorate

    def _register_tool_compensation(self, tool: str, undo: str) -> None:
        """Steps the engine's compensation finds by name: `tool:NAME` is undone by calling tool `undo`.

        Registered with the App, not at call time, so a worker that only compensates (the run
        was aborted after a crash) knows them without replaying the workflow.
        """
        toolbox = self.toolbox

        async def compensate_tool(args: dict[str, Any], result: Any = None, *, idempotency_key: str) -> Any:
            if not toolbox.has(undo):
                raise UsageError(f"tool {tool!r} is compensated by tool {undo!r}, which is not registered")
            from keel.observe.context import current

            run = current()
            scope = CallScope(
                run_id=run.run_id if run else None,
                workflow=run.workflow if run else None,
                workflow_version=run.version if run else None,
                org_id=run.org_id if run else None,
                user_id=run.user_id if run else None,
            )
            spec = toolbox.specs[undo]
            params = set(spec.input_model.model_fields)
            given = {k: v for k, v in args.items() if k in params}
            if "result" in params:
                # The journal holds what ctx.tool's step returned: {"value": <the tool's output>}.
                given["result"] = result.get("value") if isinstance(result, dict) else result
            step = int(idempotency_key.rsplit(":", 1)[1])
            return await toolbox.call(
                undo, toolbox.validate(undo, given), scope=scope, step=step, idempotency_key=idempotency_key
            )

        async def placeholder(args: dict[str, Any], *, idempotency_key: str) -> Any:
            raise UsageError(f"tool {tool!r} is called with ctx.tool, not ctx.run")

        placeholder.__qualname__ = f"tool:{tool}"
        compensate_tool.__qualname__ = f"tool-undo:{undo}"
        self.registry.add_step(StepDef(fn=compensate_tool, name=f"tool-undo:{undo}"))
        self.registry.add_step(StepDef(fn=placeholder, name=f"tool:{tool}", compensate=f"tool-undo:{undo}"))

    @property
    def has_tools(self) -> bool:
        """Whether any `@app.tool` is registered (without creating the toolbox)."""
        return self._toolbox is not None and bool(self._toolbox.specs)

    @property
    def toolbox(self) -> Toolbox:
        """The tools registered with `@app.tool` (what `ctx.tool` calls)."""
        if self._toolbox is None:
            from keel.tools.toolbox import Toolbox

            self._toolbox = Toolbox(lambda: self.store, self.clock)
        return self._toolbox

    def step(
        self,
        name: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        compensate: str | Callable[..., Any] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> Callable[[F], F]:
        """Register a sync or async function as a durable step with its policies."""
        if timeout is not None and timeout <= 0:
            raise UsageError("step timeout must be positive seconds")

        def decorate(fn: F) -> F:
            sd = StepDef(
                fn=fn,
                name=name or step_name(fn),
                retry=retry or RetryPolicy(),
                timeout=timeout,
                compensate=compensate,
                breaker=breaker,
            )
            self.registry.add_step(sd)
            fn.__keel_step__ = sd  # type: ignore[attr-defined]
            return fn

        return decorate

    def _resolve_workflow(self, workflow: Callable[..., Any] | str | WorkflowDef) -> WorkflowDef:
        if isinstance(workflow, WorkflowDef):
            return workflow
        if isinstance(workflow, str):
            versions = self.registry.workflows.get(workflow)
            if not versions:
                known = ", ".join(sorted(self.registry.workflows)) or "none"
                raise UsageError(f"no workflow named {workflow!r} in app {self.name!r} (registered: {known})")
            return list(versions.values())[-1]
        wf = getattr(workflow, "__keel_workflow__", None)
        if not isinstance(wf, WorkflowDef):
            raise UsageError(f"{step_name(workflow)} is not a workflow: decorate it with @app.workflow()")
        return wf

    # -- starting and waiting ----------------------------------------------------------------

    def start(
        self,
        workflow: Callable[..., Any] | str,
        *args: Any,
        idempotency_key: str | None = None,
        org_id: str | None = None,
        user_id: str | None = None,
        approved_by: str | None = None,
        **kwargs: Any,
    ) -> RunHandle:
        """Enqueue a run; with a used idempotency key, return the run that key started.

        A run of a workflow with `confirm_above_usd` whose estimate is above it is created
        waiting for approval (`handle.approval` says why) unless `approved_by` names who
        approves its cost up front.
        """
        return self._start(
            workflow,
            list(args),
            kwargs,
            idempotency_key=idempotency_key,
            org_id=org_id,
            user_id=user_id,
            target=None,
            approved_by=approved_by,
        )

    def _start(
        self,
        workflow: Callable[..., Any] | str | WorkflowDef,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        approved_by: str | None = None,
        gate: CostGate | None = None,
        **start: Any,
    ) -> RunHandle:
        """`start` with the input as lists, `target` (how to import the run's code) and an
        already computed cost `gate` for the CLI."""
        wf, fields = self._new_run(workflow, args, kwargs, **start)
        if wf.confirm_above_usd is None:
            run_id, created = self.store.create_run(**fields)
            return RunHandle(self, run_id, created=created)
        if gate is None:
            gate = self._gate(wf, fields["input_json"])
        if approved_by is not None and not approved_by.strip():
            raise UsageError("approved_by must name who approves the cost")
        note, hold = gate.note(approved_by)
        run_id, created = self.store.create_run_gated(note=note, hold=hold, **fields)
        if created:
            approval = note if hold else None
        else:  # an idempotency key returned an earlier run, which may itself be waiting
            approval = self.store.awaiting_approval(run_id)
        return RunHandle(self, run_id, created=created, approval=approval)

    def _new_run(
        self,
        workflow: Callable[..., Any] | str | WorkflowDef,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        org_id: str | None = None,
        user_id: str | None = None,
        target: str | None = None,
    ) -> tuple[WorkflowDef, dict[str, Any]]:
        """Validate a start request and build the new run's fields; bad input stores nothing."""
        wf = self._resolve_workflow(workflow)
        input_json = self._input_json(wf, args, kwargs)
        if idempotency_key is not None and not idempotency_key:
            raise UsageError("idempotency_key must not be empty")
        # Every start passes here (start, run, run_sync, `keel run`): one primary-key read per run.
        reason = self.store.kill_switch_reason()
        if reason is not None:
            raise KillSwitchEngaged(
                f"the kill switch is engaged ({reason}): no run may start until two approvers release it "
                "(`keel kill-switch release --by NAME`, twice)",
                reason=reason,
            )
        run_id = str(uuid.uuid4())
        from keel.observe.tracing import new_run_trace

        # Tracing off: no trace context, so no worker records spans for the run under one.
        trace_id, span_id, parent_span_id = new_run_trace(run_id) if self.trace_settings.enabled else (None, None, None)
        return wf, dict(
            run_id=run_id,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_span_id,
            workflow_name=wf.name,
            workflow_version=wf.version,
            input_json=input_json,
            idempotency_key=idempotency_key,
            org_id=org_id,
            user_id=user_id,
            target=target,
            now=self.clock.time(),
        )

    @staticmethod
    def _input_json(wf: WorkflowDef, args: list[Any], kwargs: dict[str, Any]) -> str:
        """The input as stored on the run, after checking it against the workflow's parameters."""
        codec.bind_input(wf.fn, args, kwargs, skip_first=True)
        return codec.dumps({"args": args, "kwargs": kwargs}, what=f"the input of workflow {wf.name!r}")

    def handle(self, run_id: str) -> RunHandle:
        self.store.get_run(run_id)
        return RunHandle(self, run_id)

    async def run(
        self,
        workflow: Callable[..., Any] | str,
        *args: Any,
        idempotency_key: str | None = None,
        org_id: str | None = None,
        user_id: str | None = None,
        approved_by: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start a run and drive it here to its end (or wait for whoever holds it); its result.

        A run that must wait for cost approval (`confirm_above_usd`) is created waiting and
        ApprovalRequiredError is raised at once, with its `run_id` in `details`, instead of
        waiting for an approver who may never come; `approved_by` approves it up front.
        """
        if self._resolve_workflow(workflow).confirm_above_usd is not None:
            handle = await asyncio.to_thread(
                self._start,
                workflow,
                list(args),
                kwargs,
                idempotency_key=idempotency_key,
                org_id=org_id,
                user_id=user_id,
                target=None,
                approved_by=approved_by,
            )
            if handle.approval is not None:
                raise self._approval_required(handle.run_id, handle.approval)
            return await handle.result()
        wf, fields = self._new_run(
            workflow, list(args), kwargs, idempotency_key=idempotency_key, org_id=org_id, user_id=user_id, target=None
        )
        engine = self.engine
        # A new run is created already leased to this process, so it starts without a claim
        # and with nothing to read back: its journal is empty and its row is what we wrote.
        run_id, created = await self.store.acreate_run(
            **fields, lease_owner=engine.worker_id, lease_ttl=self.settings.lease_ttl_s, inline=engine.in_flight == 0
        )
        if created:
            # Let other callers' runs start, so the engine sees them in flight and groups
            # its commits with theirs instead of writing inline.
            await asyncio.sleep(0)
            now = fields["now"]
            record = RunRecord(
                run_id=run_id,
                workflow_name=wf.name,
                workflow_version=wf.version,
                status=RunStatus.RUNNING.value,
                input=fields["input_json"],
                result=None,
                error=None,
                idempotency_key=idempotency_key,
                org_id=org_id,
                user_id=user_id,
                target=None,
                created_at=now,
                updated_at=now,
                wake_at=now,
                lease_owner=engine.worker_id,
                lease_expires_at=now + self.settings.lease_ttl_s,
                fencing_token=1,
                step_count=0,
                attempt=0,
                failed_step=None,
                paused=False,
                control=None,
                trace_id=fields["trace_id"],
                span_id=fields["span_id"],
                parent_span_id=fields["parent_span_id"],
            )
            execution = await engine.execute(Claim(run_id, 1, False), run=record, journal=[])
            if RunStatus(execution.status).terminal:
                return self._outcome(
                    replace(record, status=execution.status, result=execution.result_json, error=execution.error_json)
                )
        return await RunHandle(self, run_id, created=created).result()

    def run_sync(self, workflow: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> Any:
        """`run` for scripts that have no event loop."""
        return asyncio.run(self.run(workflow, *args, **kwargs))

    # -- cost estimates and approval -----------------------------------------------------------

    async def estimate(
        self, workflow: Callable[..., Any] | str | WorkflowDef, *args: Any, **kwargs: Any
    ) -> CostEstimate | None:
        """What a run with this input is expected to cost (arguments as for `start`); None
        when there is nothing to estimate from (no hook, no succeeded runs of this version)."""
        return await asyncio.to_thread(self.estimate_sync, workflow, *args, **kwargs)

    def estimate_sync(
        self, workflow: Callable[..., Any] | str | WorkflowDef, *args: Any, **kwargs: Any
    ) -> CostEstimate | None:
        """`estimate` for code that has no event loop."""
        return self._estimate(workflow, list(args), kwargs)[0]

    def _estimate(
        self,
        workflow: Callable[..., Any] | str | WorkflowDef,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        history_runs: int = HISTORY_RUNS,
    ) -> tuple[CostEstimate | None, str]:
        """(estimate or None, why there is none), the input validated as `start` validates it."""
        wf = self._resolve_workflow(workflow)
        input_json = self._input_json(wf, args, kwargs)
        return estimate_input(self.store, wf, input_json, history_runs=history_runs)

    def cost_gate(self, workflow: Callable[..., Any] | str | WorkflowDef, *args: Any, **kwargs: Any) -> CostGate | None:
        """The `confirm_above_usd` decision a run with this input would get; None without a threshold."""
        return self._cost_gate(workflow, list(args), kwargs)

    def _cost_gate(
        self, workflow: Callable[..., Any] | str | WorkflowDef, args: list[Any], kwargs: dict[str, Any]
    ) -> CostGate | None:
        """`cost_gate` with the input as lists (no argument name can clash with `workflow`)."""
        wf = self._resolve_workflow(workflow)
        if wf.confirm_above_usd is None:
            return None
        return self._gate(wf, self._input_json(wf, args, kwargs))

    def _gate(self, wf: WorkflowDef, input_json: str) -> CostGate:
        estimate, reason = estimate_input(self.store, wf, input_json)
        gate = gate_for(wf, estimate, reason)
        assert gate is not None  # only called for workflows with confirm_above_usd
        return gate

    def approve(self, run_id: str, *, by: str | None = None) -> RunRecord:
        """Approve the cost of a run waiting for it, recording who (default: the OS user); it
        then starts like any queued run."""
        who = by if by is not None else current_user()
        if not who.strip():
            raise UsageError("approve(by=...) must name who approves")
        try:
            return self.store.approve_run(run_id, cause=f"{self.store.APPROVAL_GIVEN} by {who}", now=self.clock.time())
        except InvalidStateError:
            run = self.store.get_run(run_id)
            if run.paused and not RunStatus(run.status).terminal:
                raise InvalidStateError(
                    f"run {run_id} was paused by an operator, not held for cost approval: unpause it instead",
                    run_id=run_id,
                ) from None
            raise

    def awaiting_approval(self, run_id: str) -> str | None:
        """Why a run waits for cost approval (the recorded cause); None when it does not."""
        return self.store.awaiting_approval(run_id)

    def _approval_required(self, run_id: str, cause: str) -> ApprovalRequiredError:
        return ApprovalRequiredError(
            f"run {run_id} was not started: {cause}. Approve it with app.approve({run_id!r}) or "
            f"`keel runs approve {run_id}`, or pass approved_by= to approve the cost up front",
            run_id=run_id,
            cause=cause,
        )

    def _outcome(self, run: RunRecord) -> Any:
        if run.status == RunStatus.SUCCEEDED.value:
            wf = self.registry.workflow(run.workflow_name, run.workflow_version)
            value = codec.loads(run.result)
            return codec.revive(value, codec.return_type(wf.fn)) if wf else value
        err = json.loads(run.error or "{}")
        raise RunFailedError(
            f"run {run.run_id} {run.status}: {err.get('message') or 'cancelled by operator'}",
            run_id=run.run_id,
            status=run.status,
            error_type=err.get("type"),
        )

    def signal(self, run_id: str, name: str, payload: Any = None) -> None:
        """Deliver a signal to a run; a run waiting for it wakes up."""
        self.store.send_signal(
            run_id, name, codec.dumps(payload, what=f"the payload of signal {name!r}"), now=self.clock.time()
        )

    # -- workers -----------------------------------------------------------------------------

    def worker(self, concurrency: int = 8) -> Worker:
        """A worker over this app's registered workflows; `await worker.run()` to start it."""
        from keel.engine.worker import Worker

        return Worker(self.engine, concurrency=concurrency)

    # -- operator controls ---------------------------------------------------------------------

    def resume(self, run_id: str) -> RunRecord:
        """Retry a dead-lettered run's failed step with a fresh attempt budget."""
        return self.store.resume(run_id, now=self.clock.time())

    def abort(self, run_id: str) -> RunRecord:
        """Compensate a dead-lettered run's completed steps in reverse order; it ends failed."""
        return self.store.request_control(
            run_id, "abort", allowed_from=[RunStatus.DEAD_LETTER.value], now=self.clock.time()
        )

    def cancel(self, run_id: str) -> RunRecord:
        """Stop a run at its next step boundary, compensating completed steps; it ends cancelled."""
        allowed = [s.value for s in RunStatus if not s.terminal and s != RunStatus.COMPENSATING]
        return self.store.request_control(run_id, "cancel", allowed_from=allowed, now=self.clock.time())

    def pause(self, run_id: str) -> RunRecord:
        return self.store.set_paused(run_id, True, now=self.clock.time())

    def unpause(self, run_id: str) -> RunRecord:
        # Deny by default: a run held for cost approval starts only with an approval on record.
        if self.store.awaiting_approval(run_id) is not None:
            raise InvalidStateError(
                f"run {run_id} is awaiting cost approval, not paused by an operator: approve it "
                f"(app.approve / `keel runs approve {run_id}`) or cancel it",
                run_id=run_id,
            )
        return self.store.set_paused(run_id, False, now=self.clock.time())

    def pause_workflow(self, name: str) -> None:
        self.store.set_workflow_paused(name, True, now=self.clock.time())

    def unpause_workflow(self, name: str) -> None:
        self.store.set_workflow_paused(name, False, now=self.clock.time())


def _is_gateway(obj: object) -> TypeGuard[Gateway]:
    if obj is None or isinstance(obj, (str, Path)):
        return False  # nothing, or a keel.toml path: no need to import the gateway to know
    from keel.gateway.gateway import Gateway

    return isinstance(obj, Gateway)


__all__ = ["App", "RunHandle"]


def _subject_only(principal: str, run: RunRecord) -> bool:
    """The default reveal policy: only the run's own user sees the values they gave (deny otherwise)."""
    return run.user_id is not None and principal == run.user_id


def _guard_policy(guard: GuardPolicy | dict[str, str] | None) -> GuardPolicy:
    if guard is None:
        return GuardPolicy()
    if isinstance(guard, GuardPolicy):
        return guard
    if not isinstance(guard, dict) or not set(guard) <= {"pii", "injection", "prompt_leak"}:
        raise UsageError('guard= is a GuardPolicy or {"pii": ..., "injection": ..., "prompt_leak": ...}')
    try:
        return GuardPolicy(**guard)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"guard=: {exc}") from None
