"""What the engine needs from the services above it, as Protocols: the App plugs implementations in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keel.engine.retry import RetryPolicy


@dataclass(frozen=True)
class LlmRequest:
    """A model call as a workflow asks for it: a task (a route), not a model."""

    # [{"role": "system" | "user" | "assistant" | "tool", "content": ...}]; "tool" is a tool's output,
    # untrusted data that the guard scans and spotlights. A native tool-calling turn carries more:
    # an assistant turn "tool_calls" ([{"id", "name", "arguments"}]), the tool turn answering one
    # "tool_call_id" and "name". A tool turn without "tool_call_id" travels as user content.
    messages: list[dict[str, Any]]
    max_tokens: int = 1024
    temperature: float | None = None
    json_schema: dict[str, Any] | None = None
    # A versioned prompt template to render as the last user message: {"name", "version", "vars"}.
    template: dict[str, Any] | None = None
    # A template already rendered into `messages` (so the guard screened it): {"name", "version", "sha256"}.
    rendered: dict[str, str] | None = None
    # Set by the guard when it replaced PII with placeholders: such a request is never cached.
    pii: bool = False
    # Tools the model may call natively: [{"name", "description", "parameters": JSON schema}].
    tools: list[dict[str, Any]] | None = None


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
    # What the guard found on the way in and out (counts, types, scores; never the values):
    # {"pii": {TYPE: n}, "injection": [{"source", "score", "decision", "reasons"}], "flagged": bool}.
    guard: dict[str, Any] | None = None
    # The tools the model asked to call natively, in order: [{"id", "name", "arguments": {...}}].
    tool_calls: list[dict[str, Any]] | None = None

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

    def render(self, request: LlmRequest) -> LlmRequest:
        """The request with its prompt template (if any) rendered into its messages."""
        ...

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


GuardAction = str  # see GuardPolicy


@dataclass(frozen=True)
class GuardPolicy:
    """What a workflow does with the guard's findings (`@app.workflow(guard=...)`)."""

    # PII in a model's input: "redact" (placeholders; the values go to the encrypted vault),
    # "block" (refuse the call), "flag" (send as is, flag the run for review) or "allow" (send, record).
    pii: GuardAction = "redact"
    # A likely prompt injection in user or tool text, or in a model's answer: "block" (refuse),
    # "flag" (go on, flag the run for review) or "allow" (go on, record).
    injection: GuardAction = "block"
    # An answer that gives away the call's system or developer text, by reciting it or a secret it keeps
    # (keel.guard.leak): "block", "flag" or "allow". A workflow whose system prompt carries documents
    # the answer may quote sets "flag".
    prompt_leak: GuardAction = "block"

    def __post_init__(self) -> None:
        if self.pii not in ("redact", "block", "flag", "allow"):
            raise ValueError(f"guard pii policy must be redact, block, flag or allow, got {self.pii!r}")
        if self.injection not in ("block", "flag", "allow"):
            raise ValueError(f"guard injection policy must be block, flag or allow, got {self.injection!r}")
        if self.prompt_leak not in ("block", "flag", "allow"):
            raise ValueError(f"guard prompt_leak policy must be block, flag or allow, got {self.prompt_leak!r}")


class Guard(Protocol):
    """Screens what enters and leaves a model call: PII redaction, injection detection, output scanning."""

    async def inbound(
        self, request: LlmRequest, *, scope: CallScope, policy: GuardPolicy
    ) -> tuple[LlmRequest, dict[str, Any]]:
        """The request as the model may see it, and a report of what was found (raises GuardBlocked)."""
        ...

    async def outbound(
        self, result: LlmResult, *, scope: CallScope, policy: GuardPolicy, report: dict[str, Any]
    ) -> LlmResult:
        """The answer as the workflow may see it, with the whole call's report attached (raises GuardBlocked)."""
        ...


@dataclass(frozen=True)
class AuditRecord:
    """One event for the audit log, queued by the engine and written in the transaction that commits what it records.

    The engine writes it to an outbox with the checkpoint (so the record is exactly as durable as the
    state change), and the governance layer seals outbox rows into the signed chain in batches.
    `data` must not hold raw PII or secrets; string values are scrubbed again before sealing.
    """

    event_type: str  # "run.state", "llm.call", "tool.call", "policy.decision", "review.decision", ...
    action: str  # "tool:refund", "llm:summarise", "running->succeeded"
    actor_kind: str = "agent"  # user | agent | system
    actor_id: str = ""  # defaults to the run's workflow name
    resource: str | None = None
    decision: str | None = None
    policy_version: str | None = None
    risk_score: int | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ActionRequest:
    """A sensitive action a run is about to take (today: a tool call), as the governor judges it."""

    action: str  # "tool:NAME"
    args: dict[str, Any]  # the validated arguments
    scope: CallScope  # the run, workflow, org and user it is taken for
    step: int  # the journal position of the decision: stable across replays


@dataclass(frozen=True)
class ActionDecision:
    """The governor's verdict on one action: what happens, why, under which policy, at what risk."""

    decision: str  # "allow" | "deny" | "review" (a human must approve) | "block" (only a two-person override)
    risk_score: int  # 0-100
    policy_version: str | None = None
    reasons: tuple[str, ...] = ()
    data: dict[str, Any] | None = None  # anything else worth journaling and auditing (no raw PII)


class Governor(Protocol):
    """Decides, before a sensitive action, whether policy and risk allow it (keel.governance implements it)."""

    async def decide(self, request: ActionRequest) -> ActionDecision: ...
