"""The journal codec: JSON only, typed on the way back, input checked against the signature."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import json
from typing import Any

import pytest
from pydantic import BaseModel

from keel import InputValidationError, SerializationError
from keel.engine import codec


class Item(BaseModel):
    name: str
    qty: int = 1


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Opaque:
    pass


def test_dumps_is_compact_json() -> None:
    assert codec.dumps({"a": [1, 2.5, None, True], "b": "é"}, what="v") == '{"a":[1,2.5,null,true],"b":"é"}'
    assert codec.dumps((1, 2), what="v") == "[1,2]"
    assert codec.dumps(None, what="v") == "null"


def test_dumps_models_dataclasses_and_datetimes() -> None:
    assert json.loads(codec.dumps(Item(name="pen", qty=3), what="v")) == {"name": "pen", "qty": 3}
    assert json.loads(codec.dumps([Point(1, 2)], what="v")) == [{"x": 1, "y": 2}]
    assert json.loads(codec.dumps({"when": dt.datetime(2026, 1, 2, 3, 4, 5)}, what="v")) == {
        "when": "2026-01-02T03:04:05"
    }


@pytest.mark.parametrize(
    "value",
    [Opaque(), {"nested": [Opaque()]}, {1, 2}, frozenset({"a"}), {"tags": {"x"}}, lambda: None],
    ids=["instance", "nested-instance", "set", "frozenset", "nested-set", "function"],
)
def test_non_json_values_raise_serialization_error(value: Any) -> None:
    with pytest.raises(SerializationError, match="the result of step 'demo' is not JSON-serializable") as info:
        codec.dumps(value, what="the result of step 'demo'")
    assert info.value.details == {"what": "the result of step 'demo'"}
    assert info.value.code == "workflow.serialization"


def test_loads() -> None:
    assert codec.loads(None) is None
    assert codec.loads('{"a":1}') == {"a": 1}


def test_return_type_and_revive() -> None:
    def make_item() -> Item: ...
    def make_point() -> Point: ...
    def make_dt() -> dt.datetime: ...
    def untyped(): ...
    def returns_none() -> None: ...

    item = codec.revive({"name": "pen"}, codec.return_type(make_item))
    assert isinstance(item, Item) and item == Item(name="pen", qty=1)
    assert codec.revive({"x": 1, "y": 2}, codec.return_type(make_point)) == Point(1.0, 2.0)
    assert codec.revive("2026-01-02T03:04:05", codec.return_type(make_dt)) == dt.datetime(2026, 1, 2, 3, 4, 5)
    assert codec.return_type(untyped) is inspect.Signature.empty
    assert codec.revive({"name": "pen"}, codec.return_type(untyped)) == {"name": "pen"}
    assert codec.revive(None, codec.return_type(returns_none)) is None
    assert codec.revive([1], Any) == [1]
    # A stored value that no longer fits the annotation comes back as stored, not as an error.
    assert codec.revive({"unexpected": True}, Item) == {"unexpected": True}


def test_round_trip_is_typed() -> None:
    def make() -> list[Item]: ...

    text = codec.dumps([Item(name="a"), Item(name="b", qty=2)], what="v")
    assert codec.revive(codec.loads(text), codec.return_type(make)) == [Item(name="a"), Item(name="b", qty=2)]


async def _wf(ctx, n: int, item: Item, *, label: str = "x", **extra: Any) -> None: ...


def test_bind_input_coerces_to_annotations() -> None:
    args, kwargs = codec.bind_input(_wf, ["3", {"name": "pen"}], {"label": "y", "other": 1}, skip_first=True)
    assert args == [3, Item(name="pen")]
    assert kwargs == {"label": "y", "other": 1}


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ([], {}, "input does not match"),
        ([1], {}, "input does not match"),
        ([1, {"name": "pen"}, "extra"], {}, "input does not match"),
        (["one", {"name": "pen"}], {}, "input 'n'"),
        ([1, {"qty": 2}], {}, "input 'item'"),
    ],
)
def test_bind_input_rejects_bad_input(args: list, kwargs: dict, match: str) -> None:
    with pytest.raises(InputValidationError, match=match):
        codec.bind_input(_wf, args, kwargs, skip_first=True)
