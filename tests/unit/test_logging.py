"""Structured logs: what `configure_logging` writes for the records library code emits."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from keel.observe import context as obs_context
from keel.observe.logging import REDACTED, REQUIRED_KEYS, configure_logging, default_event_type

ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ANSI = re.compile(r"\x1b\[")


class Captured:
    """A stream handed to configure_logging, read back as JSON lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def one(self) -> dict[str, Any]:
        records = self.records()
        assert len(records) == 1, self.stream.getvalue()
        return records[0]


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def out() -> Captured:
    captured = Captured()
    configure_logging("DEBUG", "json", captured.stream)
    return captured


@pytest.fixture
def tracer() -> trace.Tracer:
    # A provider of the test's own: the global one is process-wide and can be set only once.
    return TracerProvider().get_tracer("keel-tests")


@pytest.fixture
def in_run() -> Iterator[obs_context.RunScope]:
    scope = obs_context.RunScope(run_id="run-123", workflow="onboard", version="1", org_id=None, user_id=None)
    token = obs_context._current.set(scope)
    yield scope
    obs_context._current.reset(token)


log = logging.getLogger("keel.worker")


# -- the line ------------------------------------------------------------------------------------


def test_a_bare_record_has_exactly_the_required_keys_in_a_stable_order(out: Captured) -> None:
    before = dt.datetime.now(dt.UTC)
    log.warning("lease lost for %s", "run-9")
    after = dt.datetime.now(dt.UTC)

    line = out.one()
    assert list(line) == list(REQUIRED_KEYS)
    assert line["level"] == "warning"
    assert line["message"] == "lease lost for run-9"
    assert line["logger"] == "keel.worker"
    assert line["event_type"] == "worker.log"
    assert line["run_id"] is None and line["trace_id"] is None and line["span_id"] is None
    assert ISO_MS_UTC.match(line["timestamp"]), line["timestamp"]
    stamped = dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert before - dt.timedelta(milliseconds=1) <= stamped <= after


def test_extras_follow_the_required_keys_sorted(out: Captured) -> None:
    log.info("step retried", extra={"event_type": "step.retry", "step": "charge", "attempt": 2, "delay_s": 0.5})
    line = out.one()
    assert list(line) == [*REQUIRED_KEYS, "attempt", "delay_s", "step"]
    assert line["event_type"] == "step.retry"
    assert (line["step"], line["attempt"], line["delay_s"]) == ("charge", 2, 0.5)


def test_every_record_is_one_line_of_json(out: Captured) -> None:
    log.info("a message\nover two lines", extra={"note": "and\na value"})
    log.debug("debug too")
    logging.getLogger("sqlalchemy.engine").error("a third-party logger")
    lines = out.lines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[0]["message"] == "a message\nover two lines"
    assert [r["level"] for r in records] == ["info", "debug", "error"]
    assert all(set(REQUIRED_KEYS) <= set(r) for r in records)


@pytest.mark.parametrize(
    ("logger", "expected"),
    [("keel.worker", "worker.log"), ("keel.engine", "engine.log"), ("keel.cli.worker", "cli.worker.log")],
)
def test_event_type_defaults_to_the_logger_area(out: Captured, logger: str, expected: str) -> None:
    assert default_event_type(logger) == expected
    logging.getLogger(logger).info("something happened")
    logging.getLogger(logger).info("no type given", extra={"event_type": None})
    assert [r["event_type"] for r in out.records()] == [expected, expected]


def test_an_extra_named_event_does_not_replace_the_message(out: Captured) -> None:
    log.info("signal received", extra={"event": "approve"})
    line = out.one()
    assert (line["message"], line["event"]) == ("signal received", "approve")


def test_values_json_cannot_encode_are_rendered_as_strings(out: Captured) -> None:
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    log.info("odd values", extra={"when": when, "tags": {"a"}, "obj": ValueError("nope")})
    line = out.one()
    assert line["when"] == str(when)
    assert line["tags"] == "{'a'}"
    assert line["obj"] == "nope"


def test_level_filters_records(out: Captured) -> None:
    configure_logging("warning", "json", out.stream)
    log.info("dropped")
    log.warning("kept")
    assert [r["message"] for r in out.records()] == ["kept"]


# -- correlation ---------------------------------------------------------------------------------


def test_trace_and_span_ids_are_the_active_spans(out: Captured, tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("workflow.run") as run_span:
        log.info("in the run span")
        with tracer.start_as_current_span("step.charge") as step_span:
            log.info("in the step span")
    log.info("after both")

    in_run, in_step, after = out.records()
    run_ctx, step_ctx = run_span.get_span_context(), step_span.get_span_context()
    assert in_run["trace_id"] == format(run_ctx.trace_id, "032x")
    assert in_run["span_id"] == format(run_ctx.span_id, "016x")
    assert in_step["trace_id"] == in_run["trace_id"]
    assert in_step["span_id"] == format(step_ctx.span_id, "016x") != in_run["span_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", in_step["trace_id"]) and re.fullmatch(r"[0-9a-f]{16}", in_step["span_id"])
    assert (after["trace_id"], after["span_id"]) == (None, None)


def test_a_span_made_current_with_use_span(out: Captured, tracer: trace.Tracer) -> None:
    span = tracer.start_span("step.send_email")
    with trace.use_span(span, end_on_exit=True):
        log.info("sending")
    assert out.one()["span_id"] == format(span.get_span_context().span_id, "016x")


def test_an_invalid_span_gives_no_ids(out: Captured) -> None:
    with trace.use_span(trace.INVALID_SPAN):
        log.info("nothing to correlate")
    line = out.one()
    assert (line["trace_id"], line["span_id"]) == (None, None)


def test_run_id_comes_from_the_run_scope(out: Captured, in_run: obs_context.RunScope) -> None:
    log.info("inside the run")
    assert out.one()["run_id"] == "run-123"


def test_an_explicit_run_id_wins_over_the_scope(out: Captured, in_run: obs_context.RunScope) -> None:
    log.warning("lease lost", extra={"run_id": "other-run"})
    assert out.one()["run_id"] == "other-run"


def test_run_id_follows_the_scope_into_tasks_and_threads(out: Captured, in_run: obs_context.RunScope) -> None:
    async def main() -> None:
        await asyncio.create_task(_log_async("from a task"))
        await asyncio.to_thread(log.info, "from a thread")

    asyncio.run(main())
    assert [(r["message"], r["run_id"]) for r in out.records() if r["logger"] == "keel.worker"] == [
        ("from a task", "run-123"),
        ("from a thread", "run-123"),
    ]


async def _log_async(message: str) -> None:
    log.info(message)


# -- secrets -------------------------------------------------------------------------------------

SECRET = "s3cr3t-value-never-logged"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "DB_Password",
        "passwd",
        "client_secret",
        "token",
        "access_token",
        "api_key",
        "apikey",
        "X-Api-Key",
        "Authorization",
        "cookie",
        "Set-Cookie",
        "credentials",
    ],
)
def test_values_under_secret_keys_are_redacted(out: Captured, key: str) -> None:
    log.info("calling the provider", extra={key: SECRET})
    assert SECRET not in out.stream.getvalue()
    assert out.one()[key] == REDACTED


def test_secrets_are_redacted_in_nested_mappings_and_lists(out: Captured) -> None:
    request = {
        "url": "https://api.example.com/v1",
        "headers": {"Authorization": f"Bearer {SECRET}", "Accept": "application/json"},
        "attempts": [{"api_key": SECRET, "status": 401}, ("x", {"password": SECRET})],
    }
    log.info("request failed", extra={"request": request})
    assert SECRET not in out.stream.getvalue()
    assert out.one()["request"] == {
        "url": "https://api.example.com/v1",
        "headers": {"Authorization": REDACTED, "Accept": "application/json"},
        "attempts": [{"api_key": REDACTED, "status": 401}, ["x", {"password": REDACTED}]],
    }
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"  # the caller's object is left alone


def test_structures_too_deep_to_inspect_are_cut_not_leaked(out: Captured) -> None:
    deep: dict[str, Any] = {"password": SECRET}
    for _ in range(20):
        deep = {"next": deep}
    log.info("deep", extra={"payload": deep})
    assert SECRET not in out.stream.getvalue()
    assert "[too deep]" in out.lines()[0]


def test_token_counts_are_not_secrets(out: Captured) -> None:
    counts = {"input_tokens": 120, "output_tokens": 30, "max_tokens": 1024, "tokenizer": "bpe"}
    log.info("model call", extra=counts)
    line = out.one()
    assert {key: line[key] for key in counts} == counts


# -- exceptions ----------------------------------------------------------------------------------


def test_exceptions_are_rendered_in_one_field(out: Captured) -> None:
    try:
        {}["missing"]
    except KeyError:
        log.exception("run execution crashed", extra={"run_id": "run-7"})
    lines = out.lines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "error"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in line["exception"]
    assert list(line)[-1] == "exception"


def test_an_exception_passed_outside_its_handler(out: Captured) -> None:
    exc = RuntimeError("task died")
    log.error("run execution crashed", exc_info=exc)
    assert out.one()["exception"].endswith("RuntimeError: task died")


# -- handler management --------------------------------------------------------------------------


def test_configuring_twice_replaces_keels_handler_and_keeps_the_hosts() -> None:
    host_stream = io.StringIO()
    host = logging.StreamHandler(host_stream)
    logging.getLogger().addHandler(host)
    first, second = Captured(), Captured()
    configure_logging("INFO", "json", first.stream)
    configure_logging("INFO", "json", second.stream)

    log.info("once")
    assert first.lines() == []
    assert [r["message"] for r in second.records()] == ["once"]
    assert host in logging.getLogger().handlers
    assert host_stream.getvalue() == "once\n"


def test_console_format_is_for_people(tracer: trace.Tracer) -> None:
    captured = Captured()
    configure_logging("INFO", "console", captured.stream)
    log.info("step succeeded", extra={"event_type": "step.succeeded", "run_id": "run-1", "api_key": SECRET})
    try:
        raise ValueError("bad input")
    except ValueError:
        log.exception("step failed")
    text = captured.stream.getvalue()
    assert not ANSI.search(text), "no colours on a stream that is not a terminal"
    first = text.splitlines()[0]
    assert "step succeeded" in first and "[keel.worker]" in first
    assert "event_type=step.succeeded" in first and "run_id=run-1" in first
    assert f"api_key={REDACTED}" in first and SECRET not in text
    assert "trace_id" not in first, "unknown correlation ids are left out for people"
    assert "ValueError: bad input" in text


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'xml'"):
        configure_logging("INFO", "xml", io.StringIO())  # type: ignore[arg-type]


def test_importing_keel_configures_no_logging() -> None:
    # A library must not touch its host's logging: only configure_logging does.
    code = (
        "import logging, structlog, keel, keel.observe.logging; "
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers; "
        "assert not structlog.is_configured()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
