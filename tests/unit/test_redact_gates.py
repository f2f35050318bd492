"""The scrubbing floor's gates (patterns skipped when they cannot match) change no output."""

from __future__ import annotations

import random
import re
import sys

import pytest

from keel.observe import redact

# Pieces that make each pattern match, nearly match, or trip over its edges, mixed with prose.
_PIECES = [
    "jane.doe+x@example.co.uk", "a@b", "x@y.z", "@", "user@-host.io", "Bearer abcdefghijk123", "BASIC  dXNlcjpwYXNz",
    "bearer short", "baſic abcdefghijkl", "Bearer\tabc.def/ghi=", "sk-abcdefghijklmnop1234", "pk-short", "xoxb-123456789012-x",
    "rk_abcdefghijklmnop", "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "٤١١١٤١١١٤١١١٤١١١",
    "+1 415 555 0100", "+44 (20) 7946 0958", "+", "(415) 555-0100", "415.555.0100", "415-555-0100",
    "2026-11-27 19:20:54", "v1.2.3", "8166de70-38f3-4f42-89ae-9c90e39de2ad", "１２３４５６７８９０１２３", "the parcel",
    "is in transit", "about the bill", " ", "  ", "-", "--", ".", ",", "\n", "é", "日本", "KELVIN K", "x" * 40,
]  # fmt: skip


def _reference(text: str) -> str:
    """Every pattern, in order, as the floor ran before it had gates."""
    for pattern, mask in redact._PATTERNS:
        text = pattern.sub(mask, text)
    return text


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = rng.choices(_PIECES, k=rng.randint(1, 8))
        seps = rng.choices(["", " ", "-", "+", "@", ":", "\n", "b", "1"], k=len(parts))
        out.append("".join(p + s for p, s in zip(parts, seps, strict=True)))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_the_gated_floor_matches_running_every_pattern(seed: int) -> None:
    texts = _texts(seed, 2500)
    masked = 0
    for text in texts:
        expected = _reference(text)
        assert redact._floor(text) == expected, text
        masked += expected != text
    # The generated texts exercise the masks, not only the skips.
    assert masked > len(texts) // 4


def test_every_masked_case_of_the_redaction_tests_is_masked_the_same() -> None:
    for text in [
        "mail jane.doe+x@example.co.uk now",
        "call +1 415 555 0100 today",
        "call (415) 555-0100",
        "card 4111 1111 1111 1111 declined",
        "Authorization: Bearer abcdefghijk123",
        "key sk-abcdefghijklmnop1234 leaked",
        "at 2026-11-27 19:20:54 in v1.2.3",
        "run 8166de70-38f3-4f42-89ae-9c90e39de2ad step 12",
        "write to a.b+c@example.co.uk now",
        "Ada Lovelace <ada@example.com>",
    ]:
        assert redact._floor(text) == _reference(text)


def test_only_b_and_B_match_the_credential_patterns_first_letter() -> None:
    """What the credential gate's [bB] rests on: no other code point folds to "b" under re.IGNORECASE."""
    first = re.compile(r"(?i)b")
    found = [c for c in range(sys.maxunicode + 1) if first.match(chr(c))]
    assert found == [ord("B"), ord("b")]


def test_the_digit_gate_agrees_with_the_patterns_digits() -> None:
    digit = re.compile(r"\d")
    for c in range(sys.maxunicode + 1):
        ch = chr(c)
        assert redact._has_digit(f"a{ch}b") == (digit.match(ch) is not None)
