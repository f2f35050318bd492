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

_DIGIT = re.compile(r"\d")  # Unicode decimal digits, as the patterns' \d
# The credential pattern's words, same flags: its first letter folds only from "b" and "B"
# (tests/unit/test_redact_gates.py checks every code point), so the search can start on a class.
_CREDENTIAL_WORD = re.compile(r"[bB](?i:earer|asic)")

_redactor: Callable[[str], str] | None = None


def _has_digit(text: str) -> bool:
    if text.isascii():  # ten C substring scans instead of a Unicode category test per character
        return any(d in text for d in "0123456789")
    return _DIGIT.search(text) is not None


def _floor(text: str) -> str:
    # Each pattern runs only when the text holds what any match of it must contain (its literal
    # "@", "-" or "+", a digit, the credential words): a pattern skipped would have found nothing,
    # so the output is the one running them all gives, for a few substring scans on plain prose
    # instead of six regex scans. The masks hold no digit, so text without one keeps none.
    email, credential, api_key, number, intl_phone, phone = _PATTERNS
    if "@" in text:
        text = email[0].sub(email[1], text)
    if _CREDENTIAL_WORD.search(text) is not None:
        text = credential[0].sub(credential[1], text)
    if "-" in text:
        text = api_key[0].sub(api_key[1], text)
    if _has_digit(text):
        text = number[0].sub(number[1], text)
        if "+" in text:
            text = intl_phone[0].sub(intl_phone[1], text)
        text = phone[0].sub(phone[1], text)
    return text


def scrub(text: str, limit: int = 2000) -> str:
    """The text with PII and secrets masked, cut to `limit` characters."""
    cleaned = _floor(_redactor(text) if _redactor is not None else text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def set_redactor(redactor: Callable[[str], str] | None) -> None:
    """Install a process-wide redactor (the guard layer's PII engine), applied before the floor."""
    global _redactor
    _redactor = redactor
