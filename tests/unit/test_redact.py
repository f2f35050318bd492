"""The scrubbing floor applied to span text and log messages before any guard is configured."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from keel.observe import configure_logging
from keel.observe.redact import scrub, set_redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail <EMAIL> now"),
        ("call +1 415 555 0100 today", "call <PHONE> today"),
        ("call (415) 555-0100", "call <PHONE>"),
        ("card 4111 1111 1111 1111 declined", "card <NUMBER> declined"),
        ("Authorization: Bearer abcdefghijk123", "Authorization: <CREDENTIAL>"),
        ("key sk-abcdefghijklmnop1234 leaked", "key <API_KEY> leaked"),
    ],
)
def test_pii_and_credentials_are_masked(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "at 2026-11-27 19:20:54 in v1.2.3",
        "run 8166de70-38f3-4f42-89ae-9c90e39de2ad step 12",
        'File "app.py", line 123, in charge',
        "took 1500.25 ms for 42 tokens",
    ],
)
def test_ordinary_operational_text_is_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_long_text_is_cut() -> None:
    assert scrub("x" * 50, limit=10) == "x" * 10 + "…"


def test_an_installed_redactor_runs_before_the_floor() -> None:
    set_redactor(lambda text: text.replace("Ada Lovelace", "<PERSON>"))
    try:
        assert scrub("Ada Lovelace <ada@example.com>") == "<PERSON> <<EMAIL>>"
    finally:
        set_redactor(None)
    assert scrub("Ada Lovelace") == "Ada Lovelace"


def test_log_messages_and_errors_are_scrubbed() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    try:
        logging.getLogger("keel.test").warning(
            "charge for %s failed", "jane@example.com", extra={"error": "card 4111111111111111 declined"}
        )
    finally:
        logging.getLogger().handlers.clear()
    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "charge for <EMAIL> failed"
    assert line["error"] == "card <NUMBER> declined"


def test_the_floor_is_linear_on_long_runs_without_an_address() -> None:
    """A long run of word characters is scrubbed in time proportional to it (no backtracking)."""
    # The '@' and the digit open every pattern's gate, so the patterns really run over the long run.
    short, long = "x" * 500 + "@ 7", "x" * 50_000 + "@ 7"

    def best(text: str, repeat: int) -> float:
        # The fastest of several timings: a shared machine's pauses only ever add time.
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(repeat):
                scrub(text, limit=1 << 20)
            times.append((time.perf_counter() - t0) / repeat)
        return min(times)

    per_short, per_long = best(short, 100), best(long, 1)
    # 100x the text: about 100x the time when linear, 10,000x when quadratic. A ratio, not a wall-clock limit.
    assert per_long < per_short * 1000
    assert scrub("write to a.b+c@example.co.uk now") == "write to <EMAIL> now"
