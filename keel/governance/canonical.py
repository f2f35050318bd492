"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for the audit log's hashes.

An auditor must be able to recompute every entry's hash with their own tools, so the bytes hashed
are a published standard rather than whatever `json.dumps` happens to print: RFC 8785 output,
UTF-8. In short: no whitespace; object keys sorted by their UTF-16 code units; strings with only
`"`, `\\` and control characters escaped (`\\b \\t \\n \\f \\r`, others as lowercase `\\u00xx`),
everything else (non-ASCII included) written as itself; numbers as ECMAScript prints them
(`1.0` is `1`, `1e-7` is `1e-7`, `1e21` is `1e+21`). Python's own float repr differs from
ECMAScript's only in layout (same shortest round-trip digits), which `_number` converts.

Integers are written with all their digits; keep them within ±2**53 for other implementations to
agree (JSON numbers are doubles to them). NaN and infinities are refused, as RFC 8785 refuses them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from keel.errors import UsageError

# The C-accelerated string encoder of `json.dumps(..., ensure_ascii=False)`: RFC 8785's escaping.
encode_string: Callable[[str], str] = json.encoder.encode_basestring


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError("audit data cannot hold NaN or infinity (RFC 8785 has no encoding for them)")
    if value == 0:
        return "0"
    # Below 2**53 an integral double's digits are all exact, so they are its shortest form too;
    # above, ECMAScript pads the shortest digits with zeros (2**68 is 295147905179352830000).
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    # The value is 0.DIGITS x 10**point, as in ECMAScript's Number::toString.
    point = len(digit_tuple) + int(exponent)
    k = len(digits)
    prefix = "-" if sign else ""
    if k <= point <= 21:
        return prefix + digits + "0" * (point - k)
    if 0 < point <= 21:
        return prefix + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return prefix + "0." + "0" * (-point) + digits
    e = point - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{prefix}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key in sorted(value, key=_key_order):
            if not first:
                out.append(",")
            first = False
            out.append(encode_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise UsageError(
            f"audit data must be JSON values (str, int, float, bool, None, dict, list), not {type(value).__name__}"
        )


def _key_order(key: object) -> bytes:
    if not isinstance(key, str):
        raise UsageError(f"audit data object keys must be strings, not {type(key).__name__}")
    return _utf16_key(key)


# The C encoder of the json module writes what `_write` writes for the values `_plain` accepts.
_encode_plain: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False, allow_nan=False
).encode


def _plain(value: Any) -> bool:
    """Whether `_encode_plain` gives RFC 8785 for `value`: exact JSON types, ASCII keys, simple floats.

    ASCII keys sort the same by code point (Python) as by UTF-16 unit (RFC 8785). A float that is
    not integral, with 1e-4 <= |x| < 1e16, has a repr in plain positional form with the shortest
    round-trip digits, which is ECMAScript's form too; other floats (1.0, 1e-05, 1e+16) differ.
    Subclasses are refused: their str() or items() may not be the base type's.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    if kind is float:
        return 1e-4 <= abs(value) < 1e16 and not value.is_integer()
    return False


def dumps(value: Any) -> str:
    """`value` as RFC 8785 canonical JSON text (encode it as UTF-8 to hash it)."""
    if _plain(value):
        text = _encode_plain(value)
    else:
        out: list[str] = []
        _write(value, out)
        text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("audit data holds a lone surrogate, which UTF-8 cannot encode") from None
    return text


__all__ = ["dumps", "encode_string"]
