"""RFC 8785 canonical JSON: the standard's vectors, and the json-module fast path against the reference writer."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from keel.errors import UsageError
from keel.governance import canonical


def _reference(value: Any) -> str:
    """The element-by-element writer, which `dumps` uses when the fast path does not apply."""
    out: list[str] = []
    canonical._write(value, out)
    return "".join(out)


# RFC 8785 appendix B: IEEE 754 bit patterns and their canonical text.
NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@pytest.mark.parametrize(("bits", "expected"), NUMBERS)
def test_rfc8785_numbers(bits: str, expected: str) -> None:
    value = _double(bits)
    assert canonical.dumps(value) == expected
    assert canonical.dumps([value]) == f"[{expected}]"
    assert canonical.dumps({"n": value}) == f'{{"n":{expected}}}'


def test_rfc8785_example() -> None:
    """Section 3.2.2's input (parsed as JSON) and its canonical form."""
    raw = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], '
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical.dumps(json.loads(raw)) == expected


def test_rfc8785_key_order_is_by_utf16_code_units() -> None:
    """Section 3.2.3: the emoji (surrogates D83D DE00) sorts before U+FB33, unlike by code point."""
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    text = canonical.dumps({k: i for i, k in enumerate(keys)})
    assert list(json.loads(text)) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_the_fast_path_takes_common_audit_data() -> None:
    data = {"args": {"order": 7, "fields": ["status", "eta"]}, "summary": "in transit", "cost_usd": 0.00042}
    assert canonical._plain(data)
    assert canonical.dumps(data) == _reference(data)
    assert canonical.dumps(data) == (
        '{"args":{"fields":["status","eta"],"order":7},"cost_usd":0.00042,"summary":"in transit"}'
    )


@pytest.mark.parametrize(
    "value",
    [1.0, -0.0, 1e-05, 1e16, 0.0001, 9999999999999998.0, {"é": 1}, {"k": 1.5e-7}, {1: "a"}, [True, 2.0]],
)
def test_values_the_fast_path_leaves_to_the_reference_agree(value: Any) -> None:
    if isinstance(value, dict) and any(not isinstance(k, str) for k in value):
        with pytest.raises(UsageError):
            canonical.dumps(value)
        return
    assert canonical.dumps(value) == _reference(value)


def test_refusals_are_unchanged() -> None:
    for bad in (math.nan, math.inf, {"a": -math.inf}, {"s": "\ud800"}, {"o": object()}, {2: "x"}):
        with pytest.raises(UsageError):
            canonical.dumps(bad)


class _Str(str):
    pass


class _Int(int):
    def __str__(self) -> str:
        return "forty-two"


def test_subclasses_take_the_reference_path() -> None:
    assert not canonical._plain({"a": _Int(42)})
    assert not canonical._plain({_Str("k"): 1})
    assert canonical.dumps({"a": _Int(42)}) == _reference({"a": _Int(42)})


# -- generated values -----------------------------------------------------------------------------

_CHARS = 'aZ09 _-."\\/\x00\x01\x1f\x7f\t\n\r\b\féü€日\u2028\ufb33\U0001f600'


def _string(rng: random.Random) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 12)))


def _key(rng: random.Random) -> str:
    if rng.random() < 0.8:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABC_-0129") for _ in range(rng.randint(0, 6)))
    return _string(rng)


def _float(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.3:
        while True:
            value: float = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
            if math.isfinite(value):
                return value
    if pick < 0.6:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 22)
    if pick < 0.8:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    return float(rng.choice([0.0001, 0.00009999999999999999, 1e16, 9999999999999998.0, 1e15 + 0.5, 1e-4 * 3, 5e-5]))


def _value(rng: random.Random, depth: int) -> Any:
    pick = rng.random()
    if depth < 3 and pick < 0.25:
        return {_key(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    if depth < 3 and pick < 0.4:
        items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return tuple(items) if rng.random() < 0.2 else items
    if pick < 0.6:
        return _string(rng)
    if pick < 0.75:
        return rng.choice([0, 1, -1, 2**53, -(2**53), 2**64 + 7, rng.randint(-(10**6), 10**6)])
    if pick < 0.9:
        return _float(rng)
    return rng.choice([None, True, False])


@pytest.mark.parametrize("seed", range(5))
def test_dumps_equals_the_reference_writer_on_generated_values(seed: int) -> None:
    rng = random.Random(seed)
    fast = 0
    for _ in range(2000):
        value = {_key(rng): _value(rng, 1) for _ in range(rng.randint(0, 6))}
        fast += canonical._plain(value)
        try:
            expected = _reference(value)
            expected.encode("utf-8")
        except UsageError:
            continue
        assert canonical.dumps(value) == expected, value
    # Both paths are exercised.
    assert 100 < fast < 1900
