"""One way to get an interpreter for a ``.tflite`` model.

Backends are tried in this order and the one used is reported:

1. ``ai-edge-litert`` (LiteRT, the successor of TensorFlow Lite; what the course uses),
2. ``tflite-runtime`` (legacy: last release 2.14 in Oct 2023, needs numpy<2 and cannot
   run ops produced by newer converters),
3. ``tensorflow`` (``tf.lite.Interpreter``, deprecated by TensorFlow in favour of LiteRT;
   importing TensorFlow takes seconds, so it is the last resort).

Every problem with a model file becomes one :class:`~edgelab.errors.ModelError` whose
message says what is wrong and what to do.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from edgelab import quiet
from edgelab.errors import ModelError, RuntimeMissingError

ModelSource = Union[str, "os.PathLike[str]", bytes]

TFLITE_IDENTIFIER = b"TFL3"

# (name, distribution, module, attribute) in order of preference.
_CANDIDATES = (
    ("ai-edge-litert", "ai-edge-litert", "ai_edge_litert.interpreter", "Interpreter"),
    ("tflite-runtime", "tflite-runtime", "tflite_runtime.interpreter", "Interpreter"),
    ("tensorflow", "tensorflow", "tensorflow", "lite.Interpreter"),
)
BACKEND_NAMES = tuple(c[0] for c in _CANDIDATES)

_INSTALL_HINT = "install LiteRT with `pip install ai-edge-litert` (or run `make course`)"


@dataclass(frozen=True)
class Backend:
    """An interpreter implementation that imported successfully."""

    name: str
    version: str
    interpreter_class: Any = field(repr=False)


@dataclass(frozen=True)
class BackendStatus:
    """Whether one candidate backend is usable here, and if not, why."""

    name: str
    version: Optional[str]
    usable: bool
    reason: str = ""


def distribution_version(dist: str) -> Optional[str]:
    """The installed version of distribution ``dist`` (e.g. "ai-edge-litert"), or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _numpy_major() -> int:
    import numpy

    return int(numpy.__version__.split(".")[0])


def _try_backend(name: str, dist: str, module: str, attr: str) -> tuple[Optional[Backend], str]:
    version = distribution_version(dist)
    if version is None:
        return None, f"{dist} is not installed"
    if name == "tflite-runtime" and _numpy_major() >= 2:
        # Importing it under numpy 2 fails inside its C extension (`_ARRAY_API not found`).
        return None, (
            f"tflite-runtime {version} is legacy and built for numpy<2 (numpy "
            f"{importlib.metadata.version('numpy')} is installed); use ai-edge-litert instead"
        )
    try:
        with quiet.native_logs_silenced():  # importing TensorFlow logs from C++
            obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # an import of a compiled package can fail in many ways
        return None, f"{dist} {version} is installed but cannot be imported: {exc}"
    return Backend(name=name, version=version, interpreter_class=obj), ""


def backend_status(include_tensorflow: bool = True) -> list[BackendStatus]:
    """Report every candidate backend, usable or not, without importing TensorFlow
    unless ``include_tensorflow`` is true and no lighter backend works."""
    statuses = []
    found = False
    for name, dist, module, attr in _CANDIDATES:
        if name == "tensorflow" and (found or not include_tensorflow):
            version = distribution_version(dist)
            reason = "not imported (a lighter backend is available)" if found else "not checked"
            statuses.append(BackendStatus(name, version, version is not None and found, reason))
            continue
        backend, reason = _try_backend(name, dist, module, attr)
        found = found or backend is not None
        statuses.append(BackendStatus(name, backend.version if backend else distribution_version(dist),
                                      backend is not None, reason))
    return statuses


def find_backend(prefer: Optional[str] = None) -> Backend:
    """Return the first usable backend, or the one named by ``prefer``.

    Raises :class:`RuntimeMissingError` with every candidate's reason when none works.
    """
    if prefer is not None and prefer not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {', '.join(BACKEND_NAMES)}; got {prefer!r}")
    reasons = []
    for name, dist, module, attr in _CANDIDATES:
        if prefer is not None and name != prefer:
            continue
        backend, reason = _try_backend(name, dist, module, attr)
        if backend is not None:
            return backend
        reasons.append(f"{name}: {reason}")
    raise RuntimeMissingError(
        "no usable TFLite interpreter: " + "; ".join(reasons) + f". To fix: {_INSTALL_HINT}."
    )


def read_model_bytes(model: ModelSource) -> tuple[bytes, str]:
    """Read and sanity-check a ``.tflite`` model; return its bytes and a label for messages."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, label = bytes(model), "the model bytes"
    else:
        path = Path(os.fspath(model)).expanduser()
        label = str(path)
        if not path.exists():
            raise ModelError(f"model file not found: {label}. Check the path, or convert a "
                             "model first (see lesson 05).")
        if path.is_dir():
            raise ModelError(f"{label} is a directory (a SavedModel?), not a .tflite file. "
                             "Convert it to TFLite first (see lesson 05).")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model file {label}: {exc.strerror}") from None
    check_tflite_bytes(data, label)
    return data, label


def check_tflite_bytes(data: bytes, label: str = "the model") -> None:
    """Raise :class:`ModelError` unless ``data`` starts like a TFLite flatbuffer."""
    if len(data) == 0:
        raise ModelError(f"{label} is empty (0 bytes): the conversion or copy did not "
                         "finish. Convert or copy the model again.")
    if data[:2] == b"PK":
        kind = "a zip archive (a Keras .keras file?)"
    elif data[:8] == b"\x89HDF\r\n\x1a\n":
        kind = "an HDF5 file (a Keras .h5 file?)"
    elif len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        kind = "not a TFLite flatbuffer (no 'TFL3' identifier)"
    else:
        (root,) = struct.unpack_from("<I", data, 0)
        if root + 4 > len(data):
            raise ModelError(f"{label} is truncated ({len(data)} bytes): copy or convert the "
                             "model again.")
        return
    raise ModelError(f"{label} is {kind}, not a .tflite model. Convert it with "
                     "edgelab's converter (lesson 05) and pass the .tflite file.")


_OP_VERSION = re.compile(r"Didn't find op for builtin opcode '(\w+)' version '(\d+)'")


def _explain_load_failure(exc: Exception, label: str, backend: Backend, size: int) -> ModelError:
    text = str(exc)
    match = _OP_VERSION.search(text)
    if match:
        op, version = match.groups()
        return ModelError(
            f"{label} needs op {op} version {version}, which {backend.name} {backend.version} "
            f"does not have (the model was converted by a newer TensorFlow). To fix: "
            f"{_INSTALL_HINT}, or convert the model with a TensorFlow as old as the runtime.")
    if "Flatbuffer" in text or "flatbuffer" in text or "allocation is null" in text:
        return ModelError(f"{label} is truncated or corrupted ({size} bytes; {backend.name} "
                          f"says: {text.strip()}). Copy or convert the model again.")
    return ModelError(f"{backend.name} {backend.version} cannot load {label}: {text.strip()}")


@dataclass
class LoadedModel:
    """An interpreter with its tensors allocated, and where it came from."""

    interpreter: Any
    backend: Backend
    source: str
    size_bytes: int

    @property
    def input_details(self) -> list[dict]:
        return self.interpreter.get_input_details()

    @property
    def output_details(self) -> list[dict]:
        return self.interpreter.get_output_details()


def validate_structure(data: bytes, label: str = "the model") -> bool:
    """Check that a model's FlatBuffer parts refer to each other consistently (tensor, buffer
    and op indices in range, sane shapes and quantization) before the C++ runtime sees it.

    Needs LiteRT's schema module; returns False (not checked) where it is not installed,
    True if the model passed. A bad model raises :class:`ModelError`."""
    try:
        from edgelab.flatbuffer import parse_model, schema
        schema()
    except (ImportError, RuntimeMissingError):
        return False
    parse_model(data, label)
    return True


def load_interpreter(model: ModelSource, *, num_threads: Optional[int] = None,
                     backend: Optional[str] = None, validate: bool = True,
                     reference_kernels: bool = False) -> LoadedModel:
    """Load a ``.tflite`` model (a path or its bytes) with the best available backend.

    ``num_threads`` (>= 1) is passed to the interpreter; ``backend`` forces one of
    :data:`BACKEND_NAMES`. With ``validate`` (the default) the FlatBuffer's structure is
    checked first (:func:`validate_structure`), so corrupted files are refused before they
    reach the C++ runtime. ``reference_kernels`` uses TFLite's reference kernels (no XNNPACK):
    slower, but their integer results are the same on every CPU. Any problem with the model
    raises :class:`ModelError`.
    """
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"num_threads must be an integer >= 1 or None; got {num_threads!r}")
    data, label = read_model_bytes(model)
    chosen = find_backend(backend)
    if validate:
        validate_structure(data, label)
    # LiteRT logs from C++ to fd 2 ("Created TensorFlow Lite XNNPACK delegate for CPU" when the
    # first tensors are allocated): silenced; if loading fails, the lines go with the ModelError.
    with quiet.native_logs_silenced():
        try:
            options = {}
            if reference_kernels:
                resolver = importlib.import_module(chosen.interpreter_class.__module__).OpResolverType
                options["experimental_op_resolver_type"] = resolver.BUILTIN_REF
            interpreter = chosen.interpreter_class(model_content=data, num_threads=num_threads, **options)
            interpreter.allocate_tensors()
            interpreter.get_input_details()  # decodes names and quantization: can fail on corrupt files
            interpreter.get_output_details()
        except (ValueError, RuntimeError) as exc:
            raise _explain_load_failure(exc, label, chosen, len(data)) from None
        except Exception as exc:  # e.g. UnicodeDecodeError from a damaged tensor name
            raise ModelError(f"{label} is truncated or corrupted ({len(data)} bytes; {chosen.name} says: "
                             f"{type(exc).__name__}: {str(exc).strip()[:200]}). Copy or convert the model "
                             "again.") from None
    return LoadedModel(interpreter=interpreter, backend=chosen, source=label, size_bytes=len(data))
