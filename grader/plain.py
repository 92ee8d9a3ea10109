"""Plain data: the only form in which a student's answers reach the tests.

The grader runs a submission in two processes that never share objects: the student's
kernel (untrusted) and the checker (trusted, :mod:`grader.checker`), which runs the
instructor's cells and the tests. Values cross between them as JSON text built from a few
types: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, lists,
tuples, sets, dicts, numpy arrays and scalars of numeric dtypes, paths, and the instances of
a few dataclasses that hold only such values (:data:`VALUE_CLASSES`); an iterator crosses as
its items and arrives as an iterator over them. A student's function
crosses as a name the checker calls back through the grader; an instructor variable passed
to it crosses as a reference the student's kernel resolves in its own namespace.

Decoding is strict and builds fresh objects of exactly these types: whatever class a
student's value had (a ``float`` subclass that compares equal to everything, an array
subclass, an object with ``__eq__`` returning ``True``), the checker only ever sees a plain
``float``, ``ndarray``... The student's side of the protocol (:func:`export`, :func:`call`,
:func:`changed_files`) runs in the student's kernel and may be replaced by the student: its
output is data like any other, decoded with the same limits.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import importlib
import itertools
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any, Callable

MAX_TEXT = 64 * 2**20  # characters of encoded JSON, in either direction
MAX_DEPTH = 40
MAX_INT_DIGITS = 4300  # CPython's own default limit for int <-> str
MAX_ITEMS = 10_000_000  # items of an iterator handed over

# Dataclasses the checker rebuilds from their fields ("module:Class"): the course's value
# types that exercises return or take. Any other object is refused as an answer.
VALUE_CLASSES = frozenset({
    "edgelab.stats:ModelStats",
    "edgelab.devices:Device",
    "edgelab.tiers:Tier",
    "edgelab.tiers:Placement",
    "edgelab.budget:Candidate",
    "edgelab.budget:DeviceChoice",
    "edgelab.deploy.fleet:RolloutReport",
    "edgelab.deploy.fleet:DeviceReport",
})

_DTYPE = re.compile(r"^[<>|=]?[biufc][0-9]{1,2}$")
_TAGS = ("__tuple__", "__iter__", "__set__", "__frozenset__", "__dict__", "__bytes__", "__complex__",
         "__float__", "__ndarray__", "__npscalar__", "__path__", "__dataclass__", "__function__",
         "__module__", "__ref__")


class PlainDataError(ValueError):
    """A value that is not plain data, or text that does not decode to plain data."""


# --------------------------------------------------------------------------- encoding

def encode(value: Any, refs: Callable[[Any], str | None] | None = None) -> str:
    """``value`` as JSON text. ``refs(obj)`` may name an object that is not plain data (an
    instructor variable); it then crosses as a reference. Raises :class:`PlainDataError`."""
    text = json.dumps(_encode(value, refs, 0), allow_nan=True, separators=(",", ":"))
    if len(text) > MAX_TEXT:
        raise PlainDataError(f"the value is {len(text):,} characters as data, over the limit of {MAX_TEXT:,}")
    return text


def _encode(value: Any, refs: Callable[[Any], str | None] | None, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PlainDataError(f"the value is nested deeper than {MAX_DEPTH} levels")
    np = _numpy()
    if value is None or type(value) in (bool, str):
        return value
    if np is not None and isinstance(value, np.ndarray):
        return _encode_array(value, np)
    if np is not None and isinstance(value, np.generic):
        return _encode_scalar(value, np)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [_encode(float(value.real), refs, depth + 1),
                                _encode(float(value.imag), refs, depth + 1)]}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, PurePath):
        return {"__path__": str(value)}
    if isinstance(value, list):
        return [_encode(v, refs, depth + 1) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"__tuple__": [_encode(v, refs, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        tag = "__frozenset__" if isinstance(value, frozenset) else "__set__"
        return {tag: [_encode(v, refs, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, refs, depth + 1), _encode(v, refs, depth + 1)]
                             for k, v in value.items()]}
    if isinstance(value, Iterator) and not isinstance(value, (str, bytes)):
        items = list(itertools.islice(value, MAX_ITEMS + 1))
        if len(items) > MAX_ITEMS:
            raise PlainDataError(f"an iterator of more than {MAX_ITEMS:,} items is not plain data")
        return {"__iter__": [_encode(v, refs, depth + 1) for v in items]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: _encode(getattr(value, f.name), refs, depth + 1)
                  for f in dataclasses.fields(value) if f.init}
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    name = refs(value) if refs is not None else None
    if name is not None:
        return {"__ref__": name}
    if type(value).__name__ == "module":
        return {"__module__": value.__name__}
    if callable(value) and not isinstance(value, type):
        return {"__function__": getattr(value, "__qualname__", "function")}
    raise PlainDataError(f"a {type(value).__name__} is not plain data (numbers, strings, lists, tuples, "
                         "sets, dicts, numpy arrays, paths)")


def _encode_array(value: Any, np: Any) -> dict:
    array = np.asarray(value)
    if array.dtype.kind not in "biufc" or array.dtype.fields is not None:
        raise PlainDataError(f"a numpy array of dtype {array.dtype} is not plain data (numeric dtypes only)")
    array = np.ascontiguousarray(array)
    return {"__ndarray__": base64.b64encode(array.tobytes()).decode(), "dtype": array.dtype.str,
            "shape": list(array.shape)}


def _encode_scalar(value: Any, np: Any) -> dict:
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise PlainDataError(f"a numpy {array.dtype} scalar is not plain data")
    return {"__npscalar__": base64.b64encode(array.tobytes()).decode(), "dtype": array.dtype.str}


# --------------------------------------------------------------------------- decoding

class Decoder:
    """Strict decoding. ``value_classes`` are the dataclasses rebuilt from their fields (None:
    any, as in the student's own kernel);
    ``modules`` the module names a ``__module__`` value may import; ``resolve(name)`` the
    object behind a ``__ref__``; ``function(name)`` the stand-in for a ``__function__``."""

    def __init__(self, value_classes: frozenset[str] | None = VALUE_CLASSES,
                 modules: frozenset[str] = frozenset(), resolve: Callable[[str], Any] | None = None,
                 function: Callable[[str], Any] | None = None) -> None:
        self.value_classes = value_classes
        self.modules = modules
        self.resolve = resolve
        self.function = function

    def decode(self, text: Any) -> Any:
        """The value of JSON ``text``. Raises :class:`PlainDataError` for anything else."""
        if not isinstance(text, str):
            raise PlainDataError(f"expected JSON text, got a {type(text).__name__}")
        if len(text) > MAX_TEXT:
            raise PlainDataError(f"{len(text):,} characters of data, over the limit of {MAX_TEXT:,}")
        try:
            raw = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int)
        except (ValueError, RecursionError) as exc:
            raise PlainDataError(f"not valid JSON: {str(exc)[:200]}") from None
        return self._value(raw, 0)

    def _value(self, raw: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise PlainDataError(f"nested deeper than {MAX_DEPTH} levels")
        if raw is None or type(raw) in (bool, int, float, str):
            return raw
        if type(raw) is list:
            return [self._value(v, depth + 1) for v in raw]
        if type(raw) is not dict or len([k for k in raw if k in _TAGS]) != 1:
            raise PlainDataError("a JSON object that is not a tagged value")
        tag = next(k for k in raw if k in _TAGS)
        body = raw[tag]
        if tag in ("__tuple__", "__iter__", "__set__", "__frozenset__"):
            items = [self._value(v, depth + 1) for v in _list(body, tag)]
            try:
                return _COLLECTIONS[tag](items)
            except TypeError as exc:
                raise PlainDataError(f"{tag}: {exc}") from None
        if tag == "__dict__":
            out = {}
            for pair in _list(body, tag):
                if type(pair) is not list or len(pair) != 2:
                    raise PlainDataError("__dict__ holds [key, value] pairs")
                key = self._value(pair[0], depth + 1)
                try:
                    out[key] = self._value(pair[1], depth + 1)
                except TypeError:
                    raise PlainDataError(f"a {type(key).__name__} cannot be a dict key") from None
            return out
        if tag == "__bytes__":
            return _b64(body)
        if tag == "__complex__":
            parts = [self._value(v, depth + 1) for v in _list(body, tag)]
            if len(parts) != 2 or not all(type(p) is float for p in parts):
                raise PlainDataError("__complex__ holds two floats")
            return complex(*parts)
        if tag == "__float__":
            if body not in ("nan", "inf", "-inf"):
                raise PlainDataError("__float__ is nan, inf or -inf")
            return float(body)
        if tag in ("__ndarray__", "__npscalar__"):
            return self._array(raw, tag)
        if tag == "__path__":
            if type(body) is not str:
                raise PlainDataError("__path__ holds a string")
            return Path(body)
        if tag == "__dataclass__":
            return self._dataclass(raw, depth)
        if tag == "__module__":
            if type(body) is not str or body not in self.modules:
                raise PlainDataError(f"module {str(body)[:80]!r} is not one this notebook imports")
            return importlib.import_module(body)
        if tag == "__function__":
            if self.function is None:
                raise PlainDataError("a function is not data here")
            return self.function(str(body)[:200])
        if self.resolve is None or type(body) is not str:
            raise PlainDataError("a reference is not data here")
        return self.resolve(body)

    def _array(self, raw: dict, tag: str) -> Any:
        import numpy as np

        dtype_text = raw.get("dtype")
        if type(dtype_text) is not str or not _DTYPE.match(dtype_text):
            raise PlainDataError(f"unsupported dtype {str(dtype_text)[:40]!r}")
        dtype = np.dtype(dtype_text)
        data = _b64(raw[tag])
        if tag == "__npscalar__":
            if len(data) != dtype.itemsize:
                raise PlainDataError("scalar size does not match its dtype")
            return np.frombuffer(data, dtype=dtype)[0]
        shape = raw.get("shape")
        if type(shape) is not list or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
            raise PlainDataError("shape must be a list of non-negative ints")
        if math.prod(shape) * dtype.itemsize != len(data):
            raise PlainDataError("array data does not match its shape and dtype")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

    def _dataclass(self, raw: dict, depth: int) -> Any:
        name, fields = raw.get("__dataclass__"), raw.get("fields")
        if type(name) is not str or (self.value_classes is not None and name not in self.value_classes):
            raise PlainDataError(f"a {str(name)[:80]} object is not data the tests accept")
        if type(fields) is not dict:
            raise PlainDataError("__dataclass__ holds its fields in a dict")
        module, _, qualname = name.partition(":")
        cls = getattr(importlib.import_module(module), qualname)
        allowed = {f.name for f in dataclasses.fields(cls) if f.init}
        if set(fields) - allowed:
            raise PlainDataError(f"{qualname} has no field(s) {sorted(set(fields) - allowed)[:5]}")
        values = {k: self._value(v, depth + 1) for k, v in fields.items()}
        try:
            return cls(**values)
        except Exception as exc:  # noqa: BLE001 -- the class refused the fields: not data
            raise PlainDataError(f"{qualname}({', '.join(values)}): {type(exc).__name__}: {exc}") from None


_COLLECTIONS = {"__tuple__": tuple, "__iter__": iter, "__set__": set, "__frozenset__": frozenset}


def _no_constant(name: str) -> float:
    if name == "NaN":
        return math.nan
    if name in ("Infinity", "-Infinity"):
        return math.inf if name == "Infinity" else -math.inf
    raise PlainDataError(f"unknown JSON constant {name}")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise PlainDataError(f"an integer of {len(text)} digits")
    return int(text)


def _list(body: Any, tag: str) -> list:
    if type(body) is not list:
        raise PlainDataError(f"{tag} holds a list")
    return body


def _b64(body: Any) -> bytes:
    if type(body) is not str:
        raise PlainDataError("base64 data must be a string")
    try:
        return base64.b64decode(body.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise PlainDataError("invalid base64 data") from None


def _numpy() -> Any:
    import sys

    return sys.modules.get("numpy")


# --------------------------------------------------------------------------- the student's side

def export(value: Any) -> str:
    """``value`` as data (run in the student's kernel); a value that is not data becomes a
    note saying why, so the checker can tell the student."""
    try:
        return encode(value)
    except (PlainDataError, RecursionError, ValueError, TypeError) as exc:
        return json.dumps({"__unusable__": str(exc)[:300]})


def unusable_reason(text: Any) -> str | None:
    """Why :func:`export` could not make data of a value, if ``text`` is such a note."""
    if not isinstance(text, str) or not text.startswith('{"__unusable__"') or len(text) > 4000:
        return None
    try:
        note = json.loads(text)
    except ValueError:
        return None
    if isinstance(note, dict) and set(note) == {"__unusable__"}:
        return str(note["__unusable__"])[:300]
    return None


def call(function: Any, payload: str, namespace: dict, without: tuple[str, ...] = ()) -> str:
    """Call ``function`` with the arguments in ``payload`` (run in the student's kernel):
    references are names in ``namespace``. ``without`` names library functions
    (``"edgelab.quantize.quantize"``) that raise while the call runs: a by-hand exercise cannot
    be answered by calling them. Returns the result, or the exception raised, as data."""
    def resolve(name: str) -> Any:
        if name not in namespace:
            raise PlainDataError(f"{name} is not defined in your notebook")
        return namespace[name]

    try:
        args, kwargs = Decoder(value_classes=None, resolve=resolve).decode(payload)
        with refused(without, namespace):
            result = function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- the student's exception is the answer
        return json.dumps({"__raised__": [type(exc).__name__, str(exc)[:2000]]})
    return export(result)


class refused:  # noqa: N801 -- used as a context manager, like contextlib's
    """While the block runs, the functions named in ``names`` raise: in their modules, in the
    ``namespace`` and in every loaded module of the same package that holds the same object."""

    def __init__(self, names: tuple[str, ...], namespace: dict) -> None:
        self.names, self.namespace = tuple(names), namespace
        self.undo: list[tuple[dict, str, Any]] = []

    def __enter__(self) -> refused:
        import sys

        for name in self.names:
            module_name, _, attr = str(name).rpartition(".")
            try:
                original = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError, ValueError):
                continue
            stand_in = _unavailable(str(name))
            package = module_name.split(".")[0]
            holders = [self.namespace] + [vars(m) for n, m in list(sys.modules.items())
                                          if m is not None and (n == package or n.startswith(package + "."))]
            for holder in holders:
                for key, value in list(holder.items()):
                    if value is original:
                        self.undo.append((holder, key, value))
                        holder[key] = stand_in
        return self

    def __exit__(self, *exc: object) -> None:
        for holder, key, value in reversed(self.undo):
            holder[key] = value
        self.undo.clear()


def _unavailable(name: str) -> Callable[..., Any]:
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{name} is not available in this exercise: compute it by hand")
    return stand_in


def changed_files(known: str, root: str = ".", max_files: int = 500, max_bytes: int = 64 * 2**20) -> str:
    """Regular files under ``root`` whose (size, mtime) differ from ``known`` (JSON of
    ``{path: [size, mtime_ns]}``), as ``{path: [size, mtime_ns, base64]}`` (run in the
    student's kernel). Hidden folders, symlinks and files past the limits are left out."""
    seen = json.loads(known)
    out: dict[str, list] = {}
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if len(out) >= max_files or os.path.islink(path) or name.startswith("."):
                continue
            try:
                st = os.stat(path)
                stamp = [st.st_size, st.st_mtime_ns]
                if seen.get(rel) == stamp or total + st.st_size > max_bytes:
                    continue
                with open(path, "rb") as fh:
                    data = fh.read(st.st_size + 1)
            except OSError:
                continue
            total += len(data)
            out[rel] = stamp + [base64.b64encode(data).decode()]
    return json.dumps(out)


def raised(name: str, message: str) -> Exception:
    """The exception the checker raises for one a student's function raised: the built-in
    exception of that name (so ``except ValueError`` in a test works), else a
    :class:`StudentError`."""
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    return StudentError(f"{name}: {message}")


class StudentError(Exception):
    """An exception of a class the tests do not know, raised by a student's function."""
