"""grader.plain: answers cross between the student's kernel and the checker as plain data only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgelab.budget import choose_device
from edgelab.stats import ModelStats
from edgelab.tiers import place
from grader.plain import (
    Decoder,
    PlainDataError,
    call,
    changed_files,
    encode,
    export,
    raised,
    unusable_reason,
)

DECODE = Decoder().decode


def roundtrip(value):
    return DECODE(encode(value))


class Anything(float):
    """A float that equals everything (the classic fake answer)."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__
    __le__ = __lt__ = __ge__ = __gt__ = __eq__

    def __sub__(self, other):
        return Anything(0.0)


class FakeArray(np.ndarray):
    """An array subclass whose comparisons always hold."""

    def __eq__(self, other):
        return True


def test_plain_values_round_trip_exactly() -> None:
    """Numbers, strings, bytes, containers, paths, arrays and numpy scalars come back equal and
    of the same type."""
    values = [None, True, 3, -2**70, 0.1, math.inf, -math.inf, 1 + 2j, "é\n", b"\x00\xff", [1, [2]],
              (1, "a"), {1, 2}, frozenset({3}), {"a": 1, 2: (3,), (4, 5): None}, Path("a/b.tflite"),
              np.arange(6, dtype=np.int8).reshape(2, 3), np.float32(0.5), np.int64(7),
              np.array([1.5, np.nan]), np.zeros((0, 4))]
    for value in values:
        back = roundtrip(value)
        assert type(back) is type(value), value
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and back.shape == value.shape
            assert np.array_equal(back, value, equal_nan=True)
        else:
            assert back == value
    assert math.isnan(roundtrip(math.nan))


def test_an_iterator_arrives_as_an_iterator_over_its_items() -> None:
    """iter([...]) crosses as its items and can be consumed once on the other side."""
    back = roundtrip(iter(["x:1", "x:2"]))
    assert list(back) == ["x:1", "x:2"] and list(back) == []


def test_fake_values_arrive_as_plain_ones() -> None:
    """A float subclass that equals everything, or an array subclass, decodes to plain float /
    ndarray: the comparison trick is gone."""
    value = roundtrip(Anything(1.0))
    assert type(value) is float and value != 0.0039 and not value - 1.0
    array = roundtrip(np.arange(3.0).view(FakeArray))
    assert type(array) is np.ndarray and not np.array_equal(array, [9.0, 9.0, 9.0])
    assert type(roundtrip({"k": Anything(2.0)})["k"]) is float


def test_value_classes_are_rebuilt_and_others_refused() -> None:
    """ModelStats, Placement and a DeviceChoice (nested Candidates) come back as themselves; an
    unlisted dataclass is refused."""
    stats = ModelStats("tiny", macs=5, params=4, weight_bytes=4, precision="int8", activation_bytes=8)
    assert roundtrip(stats) == stats
    placement = place(latency_budget_ms=10)
    assert roundtrip(placement) == placement
    choice = choose_device(stats, max_latency_ms=100, max_power_w=1, max_cost_usd=60)
    back = roundtrip(choice)
    assert back == choice and type(back.candidates[0]) is type(choice.candidates[0])

    from dataclasses import dataclass

    @dataclass
    class Secret:
        x: int

    with pytest.raises(PlainDataError, match="not data the tests accept"):
        roundtrip(Secret(1))


@pytest.mark.parametrize("text, match", [
    ('{"__ndarray__": "AAAA", "dtype": "|O8", "shape": [1]}', "dtype"),
    ('{"__ndarray__": "AAAA", "dtype": "<f8", "shape": [5]}', "does not match"),
    ('{"__ndarray__": "!!", "dtype": "<f8", "shape": [0]}', "base64"),
    ('{"__dataclass__": "os:system", "fields": {}}', "not data the tests accept"),
    ('{"__module__": "os"}', "not one this notebook imports"),
    ('{"__function__": "f"}', "function is not data"),
    ('{"__ref__": "target"}', "reference is not data"),
    ('{"x": 1}', "not a tagged value"),
    ('{"__tuple__": [], "__set__": []}', "not a tagged value"),
    ('{"__dict__": [[[1], 2]]}', "dict key"),
    ('{"__float__": "1e400"}', "nan, inf"),
    ("[" * 100 + "]" * 100, "deeper"),
    ("1" * 5000, "digits"),
    ("not json", "JSON"),
])
def test_bad_data_is_refused_with_a_reason(text: str, match: str) -> None:
    """Malformed or dangerous data is a PlainDataError naming what is wrong, never an object."""
    with pytest.raises(PlainDataError, match=match):
        DECODE(text)


def test_objects_that_are_not_data_are_refused_or_referenced() -> None:
    """An arbitrary object is refused; with a refs function it crosses by name; a function and a
    module cross by name, decoded only when the decoder allows them."""
    with pytest.raises(PlainDataError, match="not plain data"):
        encode(object())
    with pytest.raises(PlainDataError, match="not plain data"):
        encode(np.array([object()]))
    marker = object()
    named = encode([marker], refs=lambda v: "target" if v is marker else None)
    assert json.loads(named) == [{"__ref__": "target"}]
    assert json.loads(encode(math)) == {"__module__": "math"}
    assert Decoder(modules=frozenset({"math"})).decode(encode(math)) is math
    assert Decoder(function=lambda name: ("stand-in", name)).decode(encode(len)) == ("stand-in", "len")


def test_export_notes_why_a_value_is_not_data() -> None:
    """export() of an object gives a note the checker turns into a clear message."""
    note = export(object())
    assert "not plain data" in unusable_reason(note)
    assert unusable_reason(export(1.5)) is None and DECODE(export(1.5)) == 1.5


def test_call_returns_the_result_or_the_exception_as_data() -> None:
    """call() decodes the arguments (references from the namespace), runs, encodes the outcome."""
    namespace = {"offset": 10}

    def add(a, b=0):
        if np.any(np.asarray(a) < 0):
            raise ValueError("a must be >= 0")
        return np.asarray(a) + b

    payload = encode([[np.arange(3)], {"b": 1}])
    assert DECODE(call(add, payload, namespace)).tolist() == [1, 2, 3]
    by_ref = json.dumps([[{"__ref__": "offset"}], {"__dict__": []}])
    assert DECODE(call(add, by_ref, namespace)) == 10
    failed = json.loads(call(add, encode([[-1], {}]), namespace))
    assert failed == {"__raised__": ["ValueError", "a must be >= 0"]}
    missing = json.loads(call(add, json.dumps([[{"__ref__": "nope"}], {"__dict__": []}]), namespace))
    assert missing["__raised__"][0] == "PlainDataError"


def test_a_call_runs_without_the_refused_library_functions() -> None:
    """While a student's function runs without edgelab.quantize.quantize, that function raises
    wherever the student reached it (module attribute or a name imported into the notebook), and
    everything is restored afterwards."""
    from edgelab import quantize

    original = quantize.quantize
    namespace = {"q": quantize.quantize, "quantize": quantize}

    def by_library(x):
        return namespace["q"](x, 0.5, 0)

    def by_module(x):
        return quantize.quantize(x, 0.5, 0)

    def by_hand(x):
        return np.round(np.asarray(x) / 0.5).astype(np.int8)

    payload = encode([[[1.0, 2.0]], {}])
    refused = ("edgelab.quantize.quantize",)
    for shortcut in (by_library, by_module):
        failed = json.loads(call(shortcut, payload, namespace, refused))
        assert failed["__raised__"][0] == "RuntimeError" and "compute it by hand" in failed["__raised__"][1]
    assert DECODE(call(by_hand, payload, namespace, refused)).tolist() == [2, 4]
    assert DECODE(call(by_module, payload, namespace)).tolist() == [2, 4]  # nothing refused: works
    assert quantize.quantize is original and namespace["q"] is original


def test_raised_maps_builtin_exceptions_only() -> None:
    """A student's ValueError is a ValueError in the checker; SystemExit or unknown names are not."""
    assert type(raised("ValueError", "x")) is ValueError
    assert type(raised("SystemExit", "x")).__name__ == "StudentError"
    assert type(raised("MyError", "x")).__name__ == "StudentError"


def test_changed_files_lists_new_and_changed_files_only(tmp_path: Path) -> None:
    """Files come with size, mtime and content; known unchanged ones, links and hidden ones do not."""
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00\x01")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "a.txt")
    first = json.loads(changed_files("{}", str(tmp_path)))
    assert sorted(first) == ["a.txt", "sub/b.bin"]
    known = {k: v[:2] for k, v in first.items()}
    assert json.loads(changed_files(json.dumps(known), str(tmp_path))) == {}
    (tmp_path / "a.txt").write_text("hello again")
    assert list(json.loads(changed_files(json.dumps(known), str(tmp_path)))) == ["a.txt"]


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4),
    max_leaves=20)


@given(plain)
def test_any_nesting_of_plain_values_round_trips(value) -> None:
    """Property: nested plain values come back equal."""
    assert roundtrip(value) == value
