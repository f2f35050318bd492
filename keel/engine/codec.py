"""JSON in and out of the journal: pydantic models and dataclasses, typed on the way back.

Nothing is ever pickled: a value that is not JSON-representable fails at the step that made it.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from keel.errors import InputValidationError, SerializationError


def _jsonable(obj: Any) -> Any:
    # Called by json.dumps for what it cannot encode itself. A bare set has no JSON form and
    # would come back as a list (pydantic would convert it silently), so it fails like any
    # other non-JSON value; models, dataclasses, datetimes... go through pydantic.
    if isinstance(obj, (set, frozenset)):
        raise TypeError(f"{type(obj).__name__} is not JSON")
    return to_jsonable_python(obj)


def dumps(value: Any, *, what: str) -> str:
    """Encode `value` as compact JSON, or raise SerializationError naming `what` produced it."""
    try:
        return json.dumps(value, default=_jsonable, separators=(",", ":"), ensure_ascii=False)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SerializationError(
            f"{what} is not JSON-serializable ({type(value).__name__}): return JSON types, "
            "pydantic models or dataclasses",
            what=what,
        ) from exc


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@functools.lru_cache(maxsize=4096)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


@functools.lru_cache(maxsize=4096)
def return_type(fn: Callable[..., Any]) -> Any:
    """The declared return type of `fn`, or inspect.Signature.empty when it has none."""
    try:
        hints = get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations mean "untyped", not an error
        return inspect.Signature.empty
    return hints.get("return", inspect.Signature.empty)


def revive(value: Any, tp: Any) -> Any:
    """Turn stored JSON back into the declared type (a model, a dataclass...), else as-is."""
    if tp is inspect.Signature.empty or tp is Any or tp is None or tp is type(None):
        return value
    try:
        return _adapter(tp).validate_python(value)
    except (ValidationError, TypeError):
        return value


@functools.lru_cache(maxsize=1024)
def _parameters(fn: Callable[..., Any], skip_first: bool) -> tuple[inspect.Signature, dict[str, Any]]:
    # Cached: every start and every execution of a run binds its input, and inspecting a
    # signature and resolving its annotations costs more than a checkpoint.
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if skip_first:
        params = params[1:]
    try:
        hints = get_type_hints(fn)
    except Exception:  # noqa: BLE001 - untyped parameters are passed through unchanged
        hints = {}
    return sig.replace(parameters=params), hints


def bind_input(
    fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], *, skip_first: bool
) -> tuple[list[Any], dict[str, Any]]:
    """Check `args`/`kwargs` against `fn`'s parameters and coerce each to its annotation."""
    sig, hints = _parameters(fn, skip_first)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise InputValidationError(f"input does not match {fn.__name__}{sig}: {exc}") from None
    out_args: list[Any] = []
    out_kwargs: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        tp = hints.get(name)
        if tp is not None and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            try:
                value = _adapter(tp).validate_python(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise InputValidationError(f"input {name!r} of {fn.__name__}: {first['msg']}", parameter=name) from None
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            out_args.append(value)
        elif param.kind == param.VAR_POSITIONAL:
            out_args.extend(value)
        elif param.kind == param.VAR_KEYWORD:
            out_kwargs.update(value)
        else:
            out_kwargs[name] = value
    return out_args, out_kwargs
