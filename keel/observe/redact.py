"""Scrubbing text before it reaches a span or a log line; the guard layer installs a better redactor."""

from __future__ import annotations

import re
from collections.abc import Callable

# A floor, not PII detection: what must never reach a trace even before a guard is configured.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Anchored to the start of a run of address characters: unanchored, a long run with no "@" was
    # retried from every position (quadratic: 77 ms for 5,400 characters), on every log line.
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<EMAIL>"),
    (re.compile(r"(?i)\b(?:bearer|basic)\s+[a-z0-9._~+/=-]{8,}"), "<CREDENTIAL>"),
    (re.compile(r"\b(?:sk|pk|rk|xox[abp])-[A-Za-z0-9_-]{12,}\b"), "<API_KEY>"),
    (re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), "<NUMBER>"),
    # International numbers need their "+"; national ones the (555) 555-0100 shape, so dates,
    # versions and ids are left alone.
    (re.compile(r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}\d"), "<PHONE>"),
    (re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"), "<PHONE>"),
)

_redactor: Callable[[str], str] | None = None


def _floor(text: str) -> str:
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text


def scrub(text: str, limit: int = 2000) -> str:
    """The text with PII and secrets masked, cut to `limit` characters."""
    cleaned = _floor(_redactor(text) if _redactor is not None else text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def set_redactor(redactor: Callable[[str], str] | None) -> None:
    """Install a process-wide redactor (the guard layer's PII engine), applied before the floor."""
    global _redactor
    _redactor = redactor
