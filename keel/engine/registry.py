"""Definitions of workflows and steps, as the decorators record them."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from keel.engine.ports import GuardPolicy
from keel.engine.retry import CircuitBreaker, RetryPolicy
from keel.errors import UsageError

log = logging.getLogger("keel.engine")

OnFailure = Literal["park", "compensate"]


@dataclass(frozen=True)
class StepDef:
    """A function run as a durable step, with its policies."""

    fn: Callable[..., Any]
    name: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    compensate: str | Callable[..., Any] | None = None
    breaker: CircuitBreaker | None = None

    # Cached: asked on every call of the step, and inspect.signature is slow.
    @functools.cached_property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    @functools.cached_property
    def wants_idempotency_key(self) -> bool:
        params = inspect.signature(self.fn).parameters
        return "idempotency_key" in params and params["idempotency_key"].kind in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )


@dataclass(frozen=True)
class WorkflowDef:
    """An async workflow function, pinned to a name and version."""

    fn: Callable[..., Any]
    name: str
    version: str
    on_failure: OnFailure = "park"
    # Prompt template versions this workflow version uses: {"triage": "2"}.
    prompts: dict[str, str] = field(default_factory=dict)
    # `fn(*args, **kwargs) -> CostEstimate | None` (the workflow's parameters without ctx), for
    # `keel estimate` and the cost gate; None: estimate from past runs.
    estimate: Callable[..., Any] | None = None
    # A run whose estimated USD (the point estimate) is above this waits for approval.
    confirm_above_usd: float | None = None
    # The tools this workflow may call (from its code or through a model); any other is refused.
    tools: tuple[str, ...] = ()
    # What the guard does with PII and likely injections in this workflow's model calls.
    guard: GuardPolicy = field(default_factory=GuardPolicy)


class Registry:
    """Workflows by (name, version) and steps by name and by function."""

    def __init__(self) -> None:
        self.workflows: dict[str, dict[str, WorkflowDef]] = {}
        self.steps: dict[str, StepDef] = {}
        self._steps_by_fn: dict[Callable[..., Any], StepDef] = {}

    def add_workflow(self, wf: WorkflowDef) -> None:
        versions = self.workflows.setdefault(wf.name, {})
        existing = versions.get(wf.version)
        if existing is not None and existing.fn is not wf.fn and origin(existing.fn) != origin(wf.fn):
            raise UsageError(f"workflow {wf.name!r} version {wf.version!r} is registered twice")
        versions[wf.version] = wf

    def add_step(self, step: StepDef) -> None:
        existing = self.steps.get(step.name)
        if existing is not None and existing.fn is not step.fn and origin(existing.fn) != origin(step.fn):
            raise UsageError(f"step name {step.name!r} is used by two functions; give one an explicit name=")
        self.steps[step.name] = step
        self._steps_by_fn[step.fn] = step

    def step_for(self, fn: Callable[..., Any] | str) -> StepDef:
        """The registered step for `fn`; an undecorated function runs with default policies."""
        if isinstance(fn, str):
            try:
                return self.steps[fn]
            except KeyError:
                raise UsageError(f"no step named {fn!r} is registered") from None
        found = self._steps_by_fn.get(fn)
        if found is not None:
            return found
        if not callable(fn):
            raise UsageError(f"ctx.run() needs a function, got {type(fn).__name__}")
        step = StepDef(fn=fn, name=step_name(fn))
        self.add_step(step)
        return step

    def workflow(self, name: str, version: str) -> WorkflowDef | None:
        return self.workflows.get(name, {}).get(version)

    def versions(self) -> list[tuple[str, str]]:
        return [(n, v) for n, vs in self.workflows.items() for v in vs]

    def compensation_for(self, step: StepDef) -> StepDef | None:
        if step.compensate is None:
            return None
        return self.step_for(step.compensate)


def step_name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn)))


def origin(fn: Callable[..., Any]) -> tuple[str, str]:
    # The same source function imported twice (a file loaded as a script and as a module)
    # is one definition, not a clash.
    return (getattr(fn, "__qualname__", ""), getattr(getattr(fn, "__code__", None), "co_filename", ""))
