"""What the engine needs from the services above it, as Protocols: the App plugs implementations in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keel.engine.retry import RetryPolicy


@dataclass(frozen=True)
class LlmRequest:
    """A model call as a workflow asks for it: a task (a route), not a model."""

    messages: list[dict[str, str]]  # [{"role": "system" | "user" | "assistant", "content": ...}]
    max_tokens: int = 1024
    temperature: float | None = None
    json_schema: dict[str, Any] | None = None
    # A versioned prompt template to render as the last user message: {"name", "version", "vars"}.
    template: dict[str, Any] | None = None


@dataclass(frozen=True)
class CallScope:
    """Who a model call is made for: what its budgets and cache are keyed on."""

    run_id: str | None = None
    workflow: str | None = None
    workflow_version: str | None = None
    org_id: str | None = None
    user_id: str | None = None
    # Budget tags the caller adds to the automatic ones (workflow:NAME, route:TASK, model:ID, ...).
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LlmResult:
    """What `ctx.llm` returns, and what the journal keeps of the call (replayed without a network call)."""

    text: str
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    route: str
    request_hash: str
    latency_ms: float
    cached: bool = False
    data: Any = None  # the validated answer when a schema was given
    # Every model tried, in order: {"model", "provider", "outcome": ok|failed|skipped, "reason", "latency_ms"}.
    decisions: list[dict[str, Any]] = field(default_factory=list)
    # The prompt template used, if any: {"name", "version", "sha256"}.
    prompt: dict[str, str] | None = None
    # Set instead of an answer when a budget refused the call: BudgetExceeded's details. The
    # journal keeps the refusal, so a replay raises the same BudgetExceeded at the same point.
    budget_exceeded: dict[str, Any] | None = None

    @property
    def usage(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


class ModelGateway(Protocol):
    """Serves `ctx.llm`: picks a model for the task, falls back, prices and records the call."""

    async def complete(
        self,
        task: str,
        request: LlmRequest,
        *,
        scope: CallScope,
        validate: Callable[[str], Any] | None = None,
    ) -> LlmResult: ...

    def retry_exempt(self) -> tuple[type[BaseException], ...]:
        """Errors that retrying the whole call cannot fix (the request was wrong)."""
        ...


class ToolRunner(Protocol):
    """Serves `ctx.tool`: the registered tools, and one attempt of a call of one of them."""

    def has(self, name: str) -> bool: ...

    def validate(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """The arguments checked against the tool's input schema, as JSON values (ToolInputError)."""
        ...

    def retry_policy(self, name: str) -> RetryPolicy: ...

    def describe(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """What a model is shown of each tool: name, description, JSON schema of its arguments."""
        ...

    async def call(self, name: str, args: dict[str, Any], *, scope: CallScope, step: int, idempotency_key: str) -> Any:
        """Run the tool once with validated `args`; its validated output."""
        ...
