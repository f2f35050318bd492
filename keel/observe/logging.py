"""Structured logs: stdlib log records rendered as JSON lines (or for people) by a handler the host installs.

Library code logs with `logging.getLogger("keel.<area>")` and passes structured data in `extra`, with an
`event_type` key naming the event. Nothing here runs at import time: a library must not reconfigure its
host's logging, so rendering happens only once the host calls `configure_logging`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from keel.observe.context import active_span_context, current_run_id
from keel.observe.redact import scrub

LogFormat = Literal["json", "console"]

REDACTED = "[redacted]"

# The keys every JSON line carries, in this order; the record's other fields follow, sorted by key.
REQUIRED_KEYS = ("timestamp", "level", "event_type", "message", "logger", "run_id", "trace_id", "span_id")
_CORRELATION_KEYS = ("run_id", "trace_id", "span_id")
# Long, multi-line fields go last so that a line stays readable from its start.
_TRAILING_KEYS = ("exception", "stack")

# `token(?!s|izer)`: `input_tokens` and `max_tokens` are counts every model call logs, not credentials.
_SECRET_KEY = re.compile(r"password|passwd|secret|token(?!s|izer)|api_?key|authorization|cookie|credential")
# Deep enough for any payload worth logging; below it a container is cut rather than left unredacted,
# which also stops a cyclic structure from recursing forever.
_MAX_DEPTH = 8
_TOO_DEEP = "[too deep]"


class _KeelHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs; its class is how a second call recognises it."""


def configure_logging(level: str = "INFO", fmt: LogFormat = "json", stream: TextIO | None = None) -> None:
    """Render every log record on `stream` (stderr by default) as one JSON line, or for people."""
    if fmt not in ("json", "console"):
        raise ValueError(f"log format must be 'json' or 'console', got {fmt!r}")
    handler = _KeelHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(_formatter(fmt, handler.stream))
    root = logging.getLogger()
    root.setLevel(level.upper())
    for old in [h for h in root.handlers if isinstance(h, _KeelHandler)]:
        root.removeHandler(old)  # the host's own handlers stay; only Keel's previous one is replaced
        old.close()
    root.addHandler(handler)


def _formatter(fmt: LogFormat, stream: TextIO) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        colors = _isatty(stream) and "NO_COLOR" not in os.environ
        renderer = structlog.dev.ConsoleRenderer(colors=colors, event_key="message")
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            _message,
            structlog.stdlib.ExtraAdder(),
            _timestamp_and_level,
            structlog.stdlib.add_logger_name,
            _event_type,
            _correlation,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            # Last: it rebuilds containers, and structlog recognises `exc_info` only as the tuple.
            _redact_secrets,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _order if fmt == "json" else _drop_unknown_correlation,
            renderer,
        ],
    )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stream-like object
        return False


# -- processors: (logger, method name, event dict) -> event dict ----------------------------------


def _message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Moved before the extras are lifted, so an extra called `event` cannot overwrite the message.
    event_dict["message"] = event_dict.pop("event", "")
    return event_dict


def _timestamp_and_level(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    record: logging.LogRecord = event_dict["_record"]
    # The record's own time, not the formatting time: the two differ when a handler runs late.
    when = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
    event_dict["timestamp"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event_dict["level"] = record.levelname.lower()
    return event_dict


def default_event_type(logger_name: str) -> str:
    """The event type of a record that names none: `keel.worker` -> `worker.log`."""
    return f"{logger_name.removeprefix('keel.')}.log"


def _event_type(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    if not event_dict.get("event_type"):
        event_dict["event_type"] = default_event_type(event_dict["logger"])
    return event_dict


def _correlation(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # An explicit extra wins: a worker logs about runs it is not executing in its own context.
    span = active_span_context()
    if span.is_valid:
        event_dict.setdefault("trace_id", format(span.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span.span_id, "016x"))
    if "run_id" not in event_dict:
        event_dict["run_id"] = current_run_id()
    # Present even when unknown, so that log pipelines can rely on the keys.
    for key in _CORRELATION_KEYS:
        event_dict.setdefault(key, None)
    return event_dict


def is_secret_key(key: str) -> bool:
    """Whether a field called `key` may hold a secret (`X-Api-Key`, `db_password`, `access_token`...)."""
    return _SECRET_KEY.search(key.lower().replace("-", "_")) is not None


def redact(value: Any, _depth: int = 0) -> Any:
    """`value` with the values under secret-looking keys replaced, in nested mappings and sequences too."""
    if isinstance(value, Mapping | list | tuple) and _depth >= _MAX_DEPTH:
        return _TOO_DEEP
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, _depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, _depth + 1) for v in value]
    return value


# Free text may quote user data (an exception's message does): it is scrubbed of PII and
# credentials by the same floor (or installed guard redactor) that protects spans.
_FREE_TEXT = ("message", "error", "exception")


def _redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key, value in event_dict.items():
        if key.startswith("_"):
            continue  # structlog's own bookkeeping (the record), not data
        if is_secret_key(key):
            event_dict[key] = REDACTED
        elif key in _FREE_TEXT and isinstance(value, str):
            event_dict[key] = scrub(value, limit=20_000)
        else:
            event_dict[key] = redact(value)
    return event_dict


def _order(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    head = {key: event_dict.pop(key, None) for key in REQUIRED_KEYS}
    tail = {key: event_dict.pop(key) for key in _TRAILING_KEYS if key in event_dict}
    return {**head, **dict(sorted(event_dict.items())), **tail}


def _drop_unknown_correlation(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # People reading a terminal gain nothing from `trace_id=None` on every line.
    for key in _CORRELATION_KEYS:
        if event_dict.get(key) is None:
            event_dict.pop(key, None)
    return event_dict


__all__ = [
    "REDACTED",
    "REQUIRED_KEYS",
    "LogFormat",
    "configure_logging",
    "default_event_type",
    "is_secret_key",
    "redact",
]
