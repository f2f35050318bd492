"""A tool's contract: its input and output schemas from its type hints, validated both ways.

The input schema is what a model sees when it may call the tool; the arguments Keel injects
(`creds`, `idempotency_key`) are not part of it and cannot be supplied by a caller.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from keel.engine.retry import RetryPolicy
from keel.errors import (
    CredentialError,
    SandboxUnavailable,
    ToolInputError,
    ToolNotAllowed,
    ToolOutputError,
    ToolResourceLimit,
    UsageError,
)
from keel.tools._egress import parse_network

# Parameters Keel fills in itself: a caller (or a model) supplying one is refused.
INJECTED = ("creds", "idempotency_key")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# `scope` as the issue writes them: verb:resource, bound to the org when a credential is minted.
_SCOPE = re.compile(r"[a-z][a-z0-9_-]*(:[A-Za-z0-9_*.-]+)+")


@dataclass(frozen=True)
class ToolSpec:
    """A function registered with `@app.tool`, with its contract and its limits."""

    fn: Callable[..., Any]
    name: str
    description: str
    input_model: type[BaseModel]
    output: TypeAdapter[Any]
    scopes: tuple[str, ...] = ()
    timeout_s: float = 30.0
    sandbox: bool = True
    network: tuple[str, ...] = ()
    memory_mb: int = 256
    cpu_seconds: int = 10
    compensate: str | Callable[..., Any] | None = None
    retry: RetryPolicy = field(default_factory=lambda: default_retry())
    wants_creds: bool = False
    wants_idempotency_key: bool = False

    def validate_input(self, args: dict[str, Any]) -> dict[str, Any]:
        """The arguments, validated and as JSON values; ToolInputError names each problem."""
        injected = sorted(set(args) & set(INJECTED))
        if injected:
            raise ToolInputError(
                f"tool {self.name!r}: {', '.join(injected)} is supplied by Keel, not by the caller", tool=self.name
            )
        try:
            model = self.input_model.model_validate(args)
        except ValidationError as exc:
            raise ToolInputError(f"tool {self.name!r}: {_problems(exc)}", tool=self.name) from None
        return model.model_dump(mode="json")

    def validate_output(self, value: Any) -> Any:
        """The tool's result, checked against its return type and made JSON."""
        try:
            checked = self.output.validate_python(value)
            return json.loads(self.output.dump_json(checked))
        except ValidationError as exc:
            raise ToolOutputError(
                f"tool {self.name!r} returned a bad result: {_problems(exc)}", tool=self.name
            ) from None

    def model_schema(self) -> dict[str, Any]:
        """What a model is shown: the name, the description, and the JSON schema of the arguments."""
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return {"name": self.name, "description": self.description, "parameters": schema}


def default_retry() -> RetryPolicy:
    """Three attempts for what may pass (a crash, a timeout); none for what cannot (bad input, limits, no sandbox)."""
    return RetryPolicy(
        max_attempts=3,
        non_retryable=(
            ToolInputError,
            ToolOutputError,
            ToolResourceLimit,
            SandboxUnavailable,
            CredentialError,
            ToolNotAllowed,
        ),
    )


def build_spec(fn: Callable[..., Any], *, name: str | None = None, **options: Any) -> ToolSpec:
    """Derive a ToolSpec from a function's signature and type hints; UsageError on what cannot be a tool."""
    tool_name = name or fn.__name__
    if not _NAME.fullmatch(tool_name):
        raise UsageError(f"tool name {tool_name!r}: letters, digits, _ . - only, starting with a letter (max 64)")
    scopes = tuple(options.get("scopes") or ())
    for scope in scopes:
        if not isinstance(scope, str) or not _SCOPE.fullmatch(scope):
            raise UsageError(f"tool {tool_name!r}: scope {scope!r} is not verb:resource (e.g. read:orders)")
    try:
        hints = get_type_hints(fn)
    except Exception as exc:  # noqa: BLE001 - any failure to resolve a hint is the tool author's to fix
        raise UsageError(f"tool {tool_name!r}: its type hints cannot be resolved ({exc})") from None
    fields: dict[str, Any] = {}
    params = inspect.signature(fn).parameters
    for pname, param in params.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise UsageError(f"tool {tool_name!r}: *args/**kwargs cannot be described to a model; name each parameter")
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise UsageError(f"tool {tool_name!r}: positional-only parameters cannot be passed by name")
        if pname in INJECTED:
            continue
        if pname not in hints:
            raise UsageError(f"tool {tool_name!r}: parameter {pname!r} needs a type hint (it is the model's schema)")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (hints[pname], default)
    if "return" not in hints:
        raise UsageError(f"tool {tool_name!r}: declare its return type (the output is validated against it)")
    model = create_model(f"{tool_name}_input", __config__=ConfigDict(extra="forbid"), **fields)
    description = inspect.cleandoc(fn.__doc__ or "").strip() or tool_name
    for key in ("timeout_s", "memory_mb", "cpu_seconds"):
        if key in options and not (isinstance(options[key], int | float) and options[key] > 0):
            raise UsageError(f"tool {tool_name!r}: {key} must be a positive number")
    network = tuple(options.get("network") or ())
    parse_network(network)  # a bad host fails at decoration, not at the first call
    return ToolSpec(
        fn=fn,
        name=tool_name,
        description=description,
        input_model=model,
        output=TypeAdapter(hints["return"]),
        scopes=scopes,
        network=network,
        wants_creds="creds" in params,
        wants_idempotency_key="idempotency_key" in params,
        **{k: v for k, v in options.items() if k not in ("scopes", "network") and v is not None},
    )


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "(arguments)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


__all__ = ["INJECTED", "ToolSpec", "build_spec"]
