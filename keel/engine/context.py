"""Context: what a workflow function sees; every call is journaled or derived from the journal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from keel.engine.agent import AgentResult, run_agent
from keel.engine.ports import LlmRequest, LlmResult
from keel.errors import UsageError

if TYPE_CHECKING:
    from keel.engine.executor import RunExecution


class Context:
    """The handle a workflow uses to run steps, sleep and wait, replay-safely."""

    def __init__(self, execution: RunExecution) -> None:
        self._x = execution
        self._uuids = 0

    @property
    def run_id(self) -> str:
        return self._x.run.run_id

    @property
    def workflow_name(self) -> str:
        return self._x.run.workflow_name

    @property
    def workflow_version(self) -> str:
        return self._x.run.workflow_version

    @property
    def org_id(self) -> str | None:
        return self._x.run.org_id

    @property
    def user_id(self) -> str | None:
        return self._x.run.user_id

    async def run(self, fn: Callable[..., Any] | str, /, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` as a durable step: executed once, its JSON result journaled and replayed."""
        return await self._x.run_step(fn, args, kwargs)

    async def sleep(self, seconds: float | dt.timedelta) -> None:
        """A durable timer: the run holds no worker while it waits, and survives restarts."""
        if isinstance(seconds, dt.timedelta):
            seconds = seconds.total_seconds()
        await self._x.sleep(float(seconds))

    async def wait_for_signal(self, name: str, timeout: float | dt.timedelta | None = None) -> Any:
        """Wait durably for `app.signal(run_id, name, payload)`; returns the payload.

        Raises SignalTimeoutError when `timeout` seconds pass first.
        """
        if isinstance(timeout, dt.timedelta):
            timeout = timeout.total_seconds()
        return await self._x.wait_for_signal(name, timeout)

    async def llm(
        self,
        task: str,
        prompt: str | None = None,
        *,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        schema: type[BaseModel] | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
        template: str | None = None,
        vars: dict[str, Any] | None = None,
        tags: list[str] | tuple[str, ...] = (),
    ) -> LlmResult:
        """Call a model for `task` (a route of keel.toml) as a durable step; replays never call again.

        Give a `prompt` (one user message), `messages`, or a versioned prompt `template` rendered
        with `vars` (the version the workflow pins with `@app.workflow(prompts={...})`, or
        "name@version"). With `schema` (a pydantic model), the answer is asked for as JSON,
        validated (a wrong answer is sent back for correction, at most twice) and returned as
        `.data`, an instance of the model. `tags` name budgets (`[budgets.tags.NAME]`) the call
        counts against, besides the automatic workflow/route/model/org tags. A budget without room
        raises BudgetExceeded (catch it to return a partial result; the run is flagged).
        Messages may carry a native tool-calling exchange (an assistant turn with "tool_calls", a
        "tool" turn with "tool_call_id" and "name", as `ctx.agent` builds them); without tools to
        call, they reach the model as plain text.
        """
        if sum(x is not None for x in (prompt, messages, template)) != 1:
            raise UsageError("ctx.llm needs exactly one of prompt=, messages= or template=")
        if vars is not None and template is None:
            raise UsageError("vars= goes with template=")
        turns: list[dict[str, Any]] = (
            [{"role": "user", "content": prompt}] if prompt is not None else [dict(m) for m in messages or []]
        )
        for turn in turns:
            check_message(turn)
        if system is not None:
            turns.insert(0, {"role": "system", "content": system})
        if max_tokens < 1:
            raise UsageError("max_tokens must be at least 1")
        if isinstance(tags, str) or not all(isinstance(tag, str) and tag for tag in tags):
            raise UsageError('tags= is a list of non-empty strings: ["tool:search"]')
        validate = None
        json_schema = None
        if schema is not None:
            if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
                raise UsageError("schema= must be a pydantic model class")
            json_schema = schema.model_json_schema()
            validate = schema.model_validate_json
        pinned = None
        if template is not None:
            pinned = self._template(template, vars or {})
        request = LlmRequest(
            messages=turns,
            max_tokens=max_tokens,
            temperature=temperature,
            json_schema=json_schema,
            template=pinned,
        )
        result = await self._x.run_llm(task, request, validate, tuple(tags))
        if schema is not None and not isinstance(result.data, schema):
            # From the journal: the answer was validated when it was made; type it again.
            result = dataclasses.replace(result, data=schema.model_validate(result.data))
        return result

    async def tool(self, name: str, /, **args: Any) -> Any:
        """Call tool `name` as a durable step: allowlisted, validated, credentialed, sandboxed.

        Raises ToolNotAllowed (recorded, never executed) when the workflow's `tools=` does not
        name it, ToolInputError when the arguments do not match its schema.
        """
        return await self._x.run_tool(name, args)

    async def agent(
        self,
        instructions: str,
        input: Any,
        *,
        tools: Sequence[str],
        task: str,
        max_turns: int = 8,
        schema: type[BaseModel] | None = None,
        max_tokens: int = 1024,
        max_invalid: int = 3,
        on_refused: str = "continue",
        protocol: str = "auto",
    ) -> AgentResult:
        """A bounded agent step: the model (route `task`) picks among `tools` until it answers.

        Every model answer and tool call is journaled, so a crash mid-loop resumes without repeating
        them. Stops at `max_turns`, at a budget's hard stop, or after `max_invalid` invalid replies,
        with `.partial` set and `.stopped` saying why. A tool the model names outside `tools` is
        refused and recorded; the model is told (or the loop stops, with on_refused="stop").
        `protocol`: "native" (the provider's own tool calls), "json" (a JSON protocol any model can
        follow) or "auto" (native when the route's primary model's provider has it).
        """
        result = await run_agent(
            self,
            instructions,
            input,
            tools=tools,
            task=task,
            max_turns=max_turns,
            schema=schema,
            max_tokens=max_tokens,
            max_invalid=max_invalid,
            on_refused=on_refused,
            protocol=protocol,
        )
        if result.partial:
            self._x.flags.add("agent_partial")
        return result

    def _template(self, template: str, variables: dict[str, Any]) -> dict[str, Any]:
        name, _, version = template.partition("@")
        if not version:
            workflow = self._x.workflow
            pins = workflow.prompts if workflow is not None else {}
            if name not in pins:
                raise UsageError(
                    f"prompt template {name!r} is not pinned by workflow {self.workflow_name!r} "
                    f'version {self.workflow_version!r}: pin it with @app.workflow(prompts={{"{name}": "VERSION"}}) '
                    f'or ask for "{name}@VERSION"'
                )
            version = pins[name]
        return {"name": name, "version": version, "vars": variables}

    def now(self) -> dt.datetime:
        """The current UTC time, recorded on first execution and the same on every replay."""
        return dt.datetime.fromtimestamp(self._x.now_value(), tz=dt.UTC)

    def uuid(self) -> uuidlib.UUID:
        """A random-looking UUID that is the same on every replay of this run."""
        self._uuids += 1
        digest = hashlib.sha256(f"{self.run_id}/{self._uuids}".encode()).digest()
        return uuidlib.UUID(bytes=digest[:16], version=4)


_ROLES = ("system", "developer", "user", "assistant", "tool")


def check_message(turn: Mapping[str, Any]) -> None:
    """Refuse a message the gateway and the guard cannot carry faithfully."""
    keys = set(turn)
    role = turn.get("role")
    # Only the keys a role may carry: anything else would be silently dropped on the way out.
    extra = {"tool": {"name", "tool_call_id"}, "assistant": {"tool_calls"}}.get(str(role), set())
    if not ({"role", "content"} <= keys <= {"role", "content", *extra}):
        raise UsageError(
            'each message must be {"role": "system" | "developer" | "user" | "assistant" | "tool", '
            '"content": str} (a tool message may add "name": the tool, and "tool_call_id"; '
            'an assistant message may add "tool_calls")'
        )
    if role not in _ROLES:
        raise UsageError(f"unknown message role {role!r}: system, developer, user, assistant or tool")
    if not isinstance(turn["content"], str):
        raise UsageError("message content must be a string")
    for key in ("name", "tool_call_id"):
        if key in turn and not (isinstance(turn[key], str) and turn[key]):
            raise UsageError(f"a tool message's {key} must be a non-empty string")
    calls = turn.get("tool_calls")
    if "tool_calls" in turn and not (
        isinstance(calls, list)
        and calls
        and all(
            isinstance(call, dict)
            and set(call) == {"id", "name", "arguments"}
            and isinstance(call["id"], str)
            and isinstance(call["name"], str)
            and isinstance(call["arguments"], dict)
            for call in calls
        )
    ):
        raise UsageError('an assistant message\'s tool_calls is a list of {"id": str, "name": str, "arguments": {...}}')
