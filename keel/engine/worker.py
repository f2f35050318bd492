"""Driving runs: the Engine executes one leased run; the Worker claims runs in a loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import uuid

from keel.config import EngineSettings
from keel.engine.executor import Listener, RunExecution
from keel.engine.ports import Governor, Guard, ModelGateway, ToolRunner
from keel.engine.registry import Registry
from keel.observe import METRICS
from keel.observe.tracing import Tracing
from keel.store import Claim, RunRecord, StepRecord, Store
from keel.types import Clock, RunStatus

log = logging.getLogger("keel.worker")

# While a worker has runs in flight it reads the kill switch this often: at the claim poll's pace
# (0.2 s), about one run in three of a busy worker started one more step after an engage.
KILL_SWITCH_READ_S = 0.05
# The review queue's depth is read at most this often per worker. It feeds a gauge (a dashboard, an
# alert on a backlog of 100), not a control, so a few seconds stale is fine, and a worker's claim
# polls (every 0.2 s) must not each add a COUNT to the database. A worker whose run has just asked
# for a review reads it at once instead.
REVIEW_QUEUE_READ_S = 5.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Engine:
    """Executes leased runs against a store, renewing each lease while the run is driven."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        clock: Clock,
        settings: EngineSettings,
        listeners: list[Listener],
        rng: random.Random | None = None,
        tracing: Tracing | None = None,
        llm: ModelGateway | None = None,
        tools: ToolRunner | None = None,
        guard: Guard | None = None,
        governor: Governor | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.settings = settings
        self.listeners = listeners
        self.rng = rng
        self.tracing = tracing
        self.llm = llm
        self.tools = tools
        self.guard = guard
        self.governor = governor
        self.worker_id = new_worker_id()
        self.draining = False
        self.paused_workflows: set[str] = set()
        self.in_flight = 0  # runs being driven by this engine right now
        self.kill_switch: str | None = None  # why the kill switch is engaged, as last read; None: released
        self._kill_switch_read_at = float("-inf")
        self._review_queue_read_at = float("-inf")

    def _hold_reason(self, run: RunRecord) -> str | None:
        if self.kill_switch is not None:
            return f"kill switch engaged: {self.kill_switch}"
        if self.draining:
            return f"worker {self.worker_id} is shutting down"
        if run.workflow_name in self.paused_workflows:
            return f"workflow {run.workflow_name} is paused"
        return None

    async def refresh_kill_switch(self, max_age: float | None = None) -> str | None:
        """The kill switch, read from the store when the last reading is older than `max_age` (default:
        the poll interval): while it is engaged nothing is claimed and every run holds at its next step
        boundary. None when released."""
        # The loop's monotonic time, not self.clock: a test clock that skips ahead must not stop the reads.
        now = asyncio.get_running_loop().time()
        if now - self._kill_switch_read_at >= (self.settings.poll_interval_s if max_age is None else max_age):
            self._kill_switch_read_at = now
            self.kill_switch = await self.store.akill_switch_reason()
            # Set by every process from the database, so the gauge (max over live processes) is true everywhere.
            METRICS.kill_switch_active.set(0 if self.kill_switch is None else 1)
        return self.kill_switch

    async def refresh_review_queue(self, max_age: float = REVIEW_QUEUE_READ_S) -> None:
        """Set agent_human_review_queue_depth from the store when the last reading is older than `max_age`.
        A failed read is logged and tried again next time: the gauge is no reason to stop a worker."""
        now = asyncio.get_running_loop().time()
        if now - self._review_queue_read_at < max_age:
            return
        self._review_queue_read_at = now
        try:
            depth = await self.store.areview_pending_count()
        except Exception as exc:  # noqa: BLE001 - a gauge reading; the claim loop reports store failures
            log.debug("review queue depth not read: %s", exc, extra={"event_type": "review.queue_depth_failed"})
            return
        # Every process sets it from the database, so the gauge (latest reading wins) is true everywhere.
        METRICS.review_queue_depth.set(depth)

    async def claim(self, limit: int, run_id: str | None = None) -> list[Claim]:
        if await self.refresh_kill_switch() is not None:
            return []
        now = self.clock.time()
        claims = await asyncio.to_thread(
            self.store.claim_runs,
            worker_id=self.worker_id,
            limit=limit,
            versions=self.registry.versions(),
            now=now,
            lease_ttl=self.settings.lease_ttl_s,
            run_id=run_id,
        )
        for c in claims:
            if c.takeover:
                METRICS.lease_takeovers.inc()
                log.info(
                    "took over run %s after its lease lapsed",
                    c.run_id,
                    extra={"event_type": "lease.takeover", "run_id": c.run_id, "worker_id": self.worker_id},
                )
        return claims

    async def drive(self, claim: Claim) -> str:
        """Execute a claimed run until it stops; returns the run's status afterwards."""
        return (await self.execute(claim)).status

    async def execute(
        self, claim: Claim, *, run: RunRecord | None = None, journal: list[StepRecord] | None = None
    ) -> RunExecution:
        """Execute a claimed run until it stops; `run` and `journal` skip the reads when known."""
        run = run or claim.run
        if run is None:
            run = await asyncio.to_thread(self.store.get_run, claim.run_id)
        if journal is None:
            journal = await asyncio.to_thread(self.store.load_journal, claim.run_id)
        workflow = self.registry.workflow(run.workflow_name, run.workflow_version)
        if workflow is None:  # the claim query only offers registered versions
            raise RuntimeError(f"run {run.run_id} needs {run.workflow_name} v{run.workflow_version}, not registered")
        execution = RunExecution(
            store=self.store,
            registry=self.registry,
            claim=claim,
            run=run,
            journal=journal,
            clock=self.clock,
            settings=self.settings,
            listeners=self.listeners,
            should_hold=self._hold_reason,
            rng=self.rng,
            solo=lambda: self.in_flight <= 1,
            tracing=self.tracing,
            worker_id=self.worker_id,
            llm=self.llm,
            tools=self.tools,
            guard=self.guard,
            governor=self.governor,
        )
        heartbeat = asyncio.create_task(self._heartbeat(claim, execution))
        self.in_flight += 1
        try:
            await execution.execute(workflow)
        finally:
            self.in_flight -= 1
            heartbeat.cancel()
        if execution.reviews_requested:
            await self.refresh_review_queue(max_age=0)
        return execution

    async def _heartbeat(self, claim: Claim, execution: RunExecution) -> None:
        interval = self.settings.lease_ttl_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                lost = await self.store.arenew_leases(
                    [claim], worker_id=self.worker_id, now=self.clock.time(), lease_ttl=self.settings.lease_ttl_s
                )
            except Exception:  # noqa: BLE001 - a failed renewal is retried; the fence protects the journal
                log.exception(
                    "lease renewal failed", extra={"event_type": "lease.renew_failed", "run_id": claim.run_id}
                )
                continue
            if lost:
                execution.lease_lost = True
                log.warning("lease lost", extra={"event_type": "lease.lost", "run_id": claim.run_id})
                return
            # A run driven in-process (App.run) has no worker loop reading the kill switch for it.
            # A failed read is retried at the next beat, as a failed renewal is.
            with contextlib.suppress(Exception):
                await self.refresh_kill_switch()
            await self.refresh_review_queue()


class Worker:
    """Claims runnable runs and drives up to `concurrency` of them at a time."""

    def __init__(self, engine: Engine, *, concurrency: int = 8) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.engine = engine
        self.concurrency = concurrency
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._active: dict[str, asyncio.Task[str]] = {}
        self._last_version_check = 0.0

    def stop(self) -> None:
        """Drain: each run stops at its next step boundary and is released for others."""
        self.engine.draining = True
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        eng = self.engine
        log.info(
            "worker started",
            extra={"event_type": "worker.started", "worker_id": eng.worker_id, "concurrency": self.concurrency},
        )
        watcher = asyncio.create_task(self._watch_kill_switch())
        try:
            while not self._stop.is_set():
                await self._refresh_controls()
                free = self.concurrency - len(self._active)
                claims = await eng.claim(free) if free > 0 else []
                for claim in claims:
                    task = asyncio.create_task(eng.drive(claim), name=f"keel-run-{claim.run_id}")
                    self._active[claim.run_id] = task
                    task.add_done_callback(functools.partial(self._done, claim.run_id))
                if claims and len(claims) == free:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), eng.settings.poll_interval_s)
        finally:
            watcher.cancel()
            eng.draining = True
            if self._active:
                await asyncio.gather(*self._active.values(), return_exceptions=True)
            # Drained: the engine is shared by the app (and any later worker), so it must not
            # keep holding every run it drives at its first step boundary.
            eng.draining = False
            log.info("worker stopped", extra={"event_type": "worker.stopped", "worker_id": eng.worker_id})

    def _done(self, run_id: str, task: asyncio.Task[str]) -> None:
        self._active.pop(run_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "run execution crashed",
                exc_info=task.exception(),
                extra={"event_type": "run.crashed", "run_id": run_id},
            )
        self._wake.set()

    async def _watch_kill_switch(self) -> None:
        while True:
            await asyncio.sleep(KILL_SWITCH_READ_S)
            if self._active:
                # A failed read is retried at the next tick; the claim loop reports store failures.
                with contextlib.suppress(Exception):
                    await self.engine.refresh_kill_switch(KILL_SWITCH_READ_S)

    async def _refresh_controls(self) -> None:
        eng = self.engine
        eng.paused_workflows = await asyncio.to_thread(eng.store.paused_workflows)
        await eng.refresh_kill_switch()
        await eng.refresh_review_queue()
        now = eng.clock.time()
        if now - self._last_version_check >= 30.0:
            self._last_version_check = now
            stranded = await asyncio.to_thread(
                eng.store.runs_without_worker, eng.registry.versions(), eng.registry.workflows.keys()
            )
            for name, version, count in stranded:
                log.warning(
                    "%d run(s) of workflow %s version %s are queued but no version %s is registered in this worker",
                    count,
                    name,
                    version,
                    version,
                    extra={"event_type": "worker.version_missing", "workflow": name, "version": version, "runs": count},
                )


__all__ = ["Engine", "RunStatus", "Worker", "new_worker_id"]
