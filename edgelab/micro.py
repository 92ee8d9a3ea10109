"""Microcontroller deployment (TinyML): an int8 ``.tflite`` model in TensorFlow Lite for
Microcontrollers (TFLM), measured, not estimated.

The ``tflite-micro`` package is TFLM's Python interpreter: the same C++ runtime as on the
boards, compiled for this machine. With it this module

* runs a model the way a microcontroller does (:func:`load`: one static *tensor arena* holds
  every tensor the model computes, plus the runtime's own structures);
* finds the arena a model needs (:func:`find_arena`: the smallest that allocates and runs,
  by bisection), next to two estimates it is compared with;
* lists the model's operators and checks them against TFLM's op resolver (:func:`check_ops`),
  with the ``MicroMutableOpResolver`` calls a sketch needs (:func:`resolver_calls`);
* compares TFLM's outputs with LiteRT's on the same inputs (:func:`compare_with_litert`);
* writes the model as a C array, the ``xxd -i`` form a sketch includes (:func:`c_array`), and
  reads one back (:func:`c_array_bytes`);
* checks flash and RAM for the boards in ``data/microcontrollers.json`` (:func:`boards`), with
  the runtime's own code and RAM counted (:func:`budget`, :func:`check_deployment`).

A too-small arena can crash TFLM's C++ code (a segmentation fault, seen with tflite-micro
0.dev20261023), so every trial allocation runs in a probe process (``python -m edgelab.micro``):
a crash there is an answer ("does not allocate"), never a dead notebook kernel. The
interpreter in this process is created only with an arena a probe has seen allocate and run.

Timings taken here are of an x86 CPU running TFLM, not of a board: the published figures for
real boards are in the data file. ``tflite_micro`` is imported inside functions only
(``import edgelab`` stays light).
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from edgelab import _checks, evaluate, quiet
from edgelab.errors import ModelError, RuntimeMissingError

DATA_FILE = "microcontrollers.json"
ALIGNMENT = 16  # bytes: the tensor arena and the model array are declared alignas(16) in a sketch
DEFAULT_HEADROOM = 0.25
MAX_ARENA_BYTES = 64 * 2**20  # no microcontroller in the course has more RAM than this
PROBE_TIMEOUT_S = 120.0
_MISSING_OP = re.compile(r"Didn't find op for builtin opcode '(\w+)'")
_INSTALL_HINT = "install it with `pip install tflite-micro` (or run `make course`)"


# --------------------------------------------------------------------------------- the runtime

def _runtime() -> Any:
    """tflite-micro's Python interpreter module, or a RuntimeMissingError saying how to get it."""
    try:
        with quiet.native_logs_silenced():
            from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:
        raise RuntimeMissingError(f"TensorFlow Lite for Microcontrollers is not installed: "
                                  f"{_INSTALL_HINT} ({exc})") from None
    return runtime


def tflm_version() -> str:
    """The installed ``tflite-micro`` version (a dated development build)."""
    from importlib import metadata

    try:
        return metadata.version("tflite-micro")
    except metadata.PackageNotFoundError:
        raise RuntimeMissingError(f"tflite-micro is not installed: {_INSTALL_HINT}") from None


ModelLike = Union[bytes, str, "os.PathLike[str]", Any]


def _converted(model: ModelLike) -> Any:
    """``model`` (a ConvertedModel, ``.tflite`` bytes or a path) as a checked ConvertedModel:
    empty, truncated or corrupted files raise ModelError before TFLM sees them."""
    from edgelab.convert import ConvertedModel
    from edgelab.runtime import read_model_bytes

    if isinstance(model, ConvertedModel):
        return model
    if isinstance(model, (bytes, bytearray, memoryview, str, os.PathLike)):
        data, label = read_model_bytes(model)
        name = Path(os.fspath(model)).stem if isinstance(model, (str, os.PathLike)) else "model"
        return ConvertedModel(data=data, name=name)  # parses and validates the FlatBuffer
    raise ValueError("model must be an edgelab ConvertedModel, .tflite bytes or a path to a .tflite "
                     f"file; got {type(model).__name__}")


# ---------------------------------------------------------------------------------- the probe

@dataclass(frozen=True)
class Trial:
    """One trial allocation in a probe process: did the model allocate and run with this arena?"""

    arena_bytes: int
    ok: bool
    crashed: bool = False
    log: str = field(default="", repr=False)  # what TFLM wrote to stderr
    allocations: str = field(default="", repr=False)  # its RecordingMicroAllocator report (if ok)


def _probe_env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != quiet.SHOW_ENV}
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class _Probe:
    """A probe process for one model; restarted after a crash."""

    def __init__(self, data: bytes) -> None:
        self._hello = json.dumps({"model": base64.b64encode(data).decode("ascii")}) + "\n"
        self._proc: Optional[subprocess.Popen] = None

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "edgelab.micro"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=_probe_env())
        assert proc.stdin is not None
        proc.stdin.write(self._hello)
        proc.stdin.flush()
        return proc

    def trial(self, arena_bytes: int, allocations: bool = False) -> Trial:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"arena": arena_bytes, "allocations": allocations}) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            line = ""
        else:
            ready, _, _ = select.select([proc.stdout], [], [], PROBE_TIMEOUT_S)
            if not ready:
                self.close()
                raise ModelError(f"TFLM did not finish allocating a {arena_bytes:,}-byte arena in "
                                 f"{PROBE_TIMEOUT_S:.0f} s: the model is too big for this check")
            line = proc.stdout.readline()
        if not line:  # the C++ code crashed: that arena does not work
            proc.wait()
            self._proc = None
            return Trial(arena_bytes, ok=False, crashed=True)
        answer = json.loads(line)
        return Trial(arena_bytes, bool(answer["ok"]), False, answer.get("log", ""),
                     answer.get("allocations", ""))

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    stream.close()
            self._proc = None


def _serve_probe() -> int:
    """The probe process: read the model, then one arena size per line; for each, allocate and
    invoke once on zeros and answer one JSON line (TFLM's stderr captured into it)."""
    runtime = _runtime()
    hello = sys.stdin.readline()
    if not hello:
        return 0
    data = base64.b64decode(json.loads(hello)["model"])
    for line in sys.stdin:
        request = json.loads(line)
        answer: Dict[str, Any] = {"ok": False}
        with quiet.native_logs_silenced() as log:
            try:
                interpreter = runtime.Interpreter.from_bytes(data, arena_size=int(request["arena"]))
                for i, detail in enumerate(_details(interpreter, "input")):
                    interpreter.set_input(np.zeros(detail["shape"], dtype=detail["dtype"]), i)
                interpreter.invoke()
                answer["ok"] = True
                if request.get("allocations"):
                    sys.stdout.flush()
                    with quiet.native_logs_silenced() as report:
                        interpreter.print_allocations()
                    answer["allocations"] = report.text()
            except (RuntimeError, ValueError):
                pass
        answer["log"] = log.text()[-4000:]
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def _details(interpreter: Any, kind: str) -> List[Dict[str, Any]]:
    """Every input or output detail of a TFLM interpreter (it has no count: index until it fails)."""
    found = []
    get = interpreter.get_input_details if kind == "input" else interpreter.get_output_details
    for i in range(64):
        try:
            found.append(get(i))
        except (RuntimeError, ValueError, IndexError):
            break
    return found


def _missing_ops(log: str) -> List[str]:
    return sorted(set(_MISSING_OP.findall(log)))


def _missing_op_error(missing: Sequence[str], label: str) -> ModelError:
    return ModelError(f"{label} uses {', '.join(missing)}, which TensorFlow Lite for Microcontrollers' op "
                      f"resolver has no kernel for (tflite-micro {tflm_version()}): it cannot run on a "
                      "microcontroller with TFLM. Replace the layer that produces it with one TFLM supports "
                      "(see resolver_calls for the ops it has), or register a custom op.")


# ---------------------------------------------------------------------------------- operators

def model_ops(model: ModelLike) -> List[str]:
    """The builtin operators the model uses, sorted (e.g. ``["CONV_2D", "FULLY_CONNECTED"]``)."""
    return sorted(_converted(model).ops)


def resolver_calls(ops: Sequence[str]) -> List[str]:
    """The ``MicroMutableOpResolver`` methods that register ``ops`` in a sketch, in order:
    ``CONV_2D`` -> ``AddConv2D`` (declare the resolver with ``len(ops)`` slots)."""
    calls = []
    for op in ops:
        if not isinstance(op, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", op):
            raise ValueError(f"ops must be builtin operator names like 'CONV_2D'; got {op!r}")
        calls.append("Add" + "".join(part if part[0].isdigit() else part.capitalize()
                                     for part in op.split("_") if part))
    return calls


@dataclass(frozen=True)
class OpCheck:
    """The model's operators, and whether TFLM's op resolver has a kernel for each."""

    ops: List[str]
    missing: List[str]
    resolver_calls: List[str]

    @property
    def ok(self) -> bool:
        return not self.missing


def check_ops(model: ModelLike, raise_on_missing: bool = True) -> OpCheck:
    """Load the model in TFLM (in a probe process, with a generous arena) and report each op
    TFLM's resolver lacks; with ``raise_on_missing`` a missing op raises ModelError naming it."""
    converted = _converted(model)
    probe = _Probe(converted.data)
    try:
        trial = probe.trial(_generous_arena(converted))
    finally:
        probe.close()
    missing = _missing_ops(trial.log)
    if missing and raise_on_missing:
        raise _missing_op_error(missing, f"model {converted.name!r}")
    ops = sorted(converted.ops)
    return OpCheck(ops=ops, missing=missing, resolver_calls=resolver_calls(ops))


def _generous_arena(converted: Any) -> int:
    return int(min(MAX_ARENA_BYTES, max(64 * 1024, 4 * converted.info.activation_bytes() + 64 * 1024)))


# -------------------------------------------------------------------------------------- arena

@dataclass(frozen=True)
class ArenaSearch:
    """The tensor arena a model needs in TFLM: measured here, next to two estimates.

    ``minimal_bytes`` allocates and runs; one byte less does not. ``activation_estimate_bytes``
    is the peak of the tensors live around one op, read from the file (no runtime structures);
    ``default_guess_bytes`` is what tflite-micro's Python interpreter reserves when it is given
    no size (10x the model). Measured on this 64-bit machine with TFLM's reference kernels: on a
    32-bit board the runtime's structures are smaller, and optimized kernels (CMSIS-NN, ESP-NN)
    may ask for scratch buffers in the arena: keep headroom (:meth:`recommended`)."""

    model: str
    minimal_bytes: int
    activation_estimate_bytes: int
    default_guess_bytes: int
    trials: int
    crashes: int
    allocations: str = field(default="", repr=False)

    def recommended(self, headroom: float = DEFAULT_HEADROOM, alignment: int = ALIGNMENT) -> int:
        """The minimal arena plus ``headroom``, rounded up to a multiple of ``alignment``."""
        return arena_with_headroom(self.minimal_bytes, headroom, alignment)

    def __str__(self) -> str:
        return (f"{self.model}: the smallest arena that allocates is {self.minimal_bytes:,} bytes (measured "
                f"in TFLM, {self.trials} trials); activations alone {self.activation_estimate_bytes:,} B "
                f"(read from the file); tflite-micro's default guess {self.default_guess_bytes:,} B")


def arena_with_headroom(minimal_bytes: int, headroom: float = DEFAULT_HEADROOM,
                        alignment: int = ALIGNMENT) -> int:
    """``ceil(minimal_bytes x (1 + headroom))`` rounded up to a multiple of ``alignment``."""
    minimal = _checks.count("minimal_bytes", minimal_bytes, minimum=1, maximum=MAX_ARENA_BYTES)
    margin = _checks.number("headroom", headroom, minimum=0.0, maximum=10.0)
    align = _checks.count("alignment", alignment, minimum=1, maximum=4096)
    wanted = math.ceil(minimal * (1.0 + margin) - 1e-9)
    return -(-wanted // align) * align


def find_arena(model: ModelLike, max_bytes: int = MAX_ARENA_BYTES) -> ArenaSearch:
    """The smallest tensor arena with which TFLM allocates the model and runs it once (bisection
    over trial allocations in a probe process). A missing op raises ModelError naming it; a
    model that does not allocate within ``max_bytes`` raises ModelError."""
    converted = _converted(model)
    limit = _checks.count("max_bytes", max_bytes, minimum=1024, maximum=MAX_ARENA_BYTES)
    probe = _Probe(converted.data)
    trials: List[Trial] = []

    def works(size: int, allocations: bool = False) -> bool:
        trial = probe.trial(size, allocations)
        trials.append(trial)
        missing = _missing_ops(trial.log)
        if missing:
            raise _missing_op_error(missing, f"model {converted.name!r}")
        return trial.ok

    try:
        high = min(limit, max(1024, 2 * converted.info.activation_bytes()))
        low = 0
        while not works(high):
            if high >= limit:
                last = next((t.log.strip() for t in reversed(trials) if t.log.strip()), "")
                raise ModelError(f"model {converted.name!r} does not allocate in TFLM even with a "
                                 f"{limit:,}-byte arena: it is too big for a microcontroller"
                                 + (f" (TFLM says: {last[-300:]})" if last else ""))
            low, high = high, min(limit, 2 * high)
        while high - low > 1:
            middle = (low + high) // 2
            if works(middle):
                high = middle
            else:
                low = middle
        works(high, allocations=True)
    finally:
        probe.close()
    return ArenaSearch(model=converted.name, minimal_bytes=high,
                       activation_estimate_bytes=converted.info.activation_bytes(),
                       default_guess_bytes=10 * converted.size_bytes, trials=len(trials),
                       crashes=sum(t.crashed for t in trials), allocations=trials[-1].allocations)


def arena_allocates(model: ModelLike, arena_bytes: int) -> bool:
    """Does TFLM allocate the model and run it once with an ``arena_bytes`` arena? (probe)"""
    converted = _converted(model)
    size = _checks.count("arena_bytes", arena_bytes, minimum=1, maximum=MAX_ARENA_BYTES)
    probe = _Probe(converted.data)
    try:
        trial = probe.trial(size)
    finally:
        probe.close()
    missing = _missing_ops(trial.log)
    if missing:
        raise _missing_op_error(missing, f"model {converted.name!r}")
    return trial.ok


# ------------------------------------------------------------------------------- running it

def require_int8(model: ModelLike, target: str = "this microcontroller") -> None:
    """Raise ModelError unless the model is fully int8 (int8 inputs and outputs, no float
    compute): the rule of :func:`edgelab.compat.check_full_int8`, here for a microcontroller."""
    from edgelab import compat

    converted = _converted(model)
    if compat.check_full_int8(converted).ok:
        return
    io = ", ".join(f"{kind} {s.dtype}" for kind, specs in (("input", converted.inputs),
                                                           ("output", converted.outputs)) for s in specs)
    raise ModelError(f"model {converted.name!r} is not fully int8 (it computes in "
                     f"{converted.info.precision()}; {io}) but {target} runs only full-int8 models: its "
                     "optimized kernels are int8. Convert with variant='int8' (full-integer quantization "
                     "with a representative dataset) and deploy that file.")


class MicroModel:
    """A model in TFLM's interpreter in this process, with an arena a probe has seen work.

    Build it with :func:`load`. :meth:`predict` takes preprocessed float inputs and returns float
    outputs (int8 quantization handled with the tensors' own scale and zero point, as
    :mod:`edgelab.evaluate` does for LiteRT); :meth:`invoke` takes the raw input tensor."""

    def __init__(self, converted: Any, arena_bytes: int) -> None:
        runtime = _runtime()
        self.model = converted
        self.arena_bytes = arena_bytes
        with quiet.native_logs_silenced():
            self._interpreter = runtime.Interpreter.from_bytes(converted.data, arena_size=arena_bytes)
            self.inputs = _details(self._interpreter, "input")
            self.outputs = _details(self._interpreter, "output")
        if len(self.inputs) != 1 or not self.outputs:
            raise ModelError(f"model {converted.name!r} has {len(self.inputs)} inputs and "
                             f"{len(self.outputs)} outputs; edgelab.micro runs models with one input and "
                             "at least one output")

    @staticmethod
    def _litert_style(detail: Mapping[str, Any]) -> Dict[str, Any]:
        params = detail.get("quantization_parameters", {})
        scales, zeros = params.get("scales", []), params.get("zero_points", [])
        scale = float(scales[0]) if len(scales) else 0.0
        return {"dtype": detail["dtype"], "quantization": (scale, int(zeros[0]) if len(zeros) else 0)}

    @property
    def input_shape(self) -> tuple:
        return tuple(int(d) for d in self.inputs[0]["shape"])

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one inference on the raw input tensor ``x`` (its dtype and shape); return output 0."""
        detail = self.inputs[0]
        arr = np.asarray(x)
        if arr.shape != self.input_shape or arr.dtype != np.dtype(detail["dtype"]):
            raise ValueError(f"x must be a {np.dtype(detail['dtype']).name} array of shape "
                             f"{self.input_shape}; got {arr.dtype.name} {arr.shape}")
        with quiet.native_logs_silenced():
            try:
                self._interpreter.set_input(arr, 0)
                self._interpreter.invoke()
                return np.array(self._interpreter.get_output(0))
            except RuntimeError as exc:
                raise ModelError(f"TFLM failed to run model {self.model.name!r}: {exc}") from None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Float outputs (one row per sample) for preprocessed float inputs ``x`` of shape
        ``(n, *input_shape[1:])``: each sample quantized, run, and its output dequantized."""
        expected = self.input_shape[1:]
        arr = np.asarray(x)
        if arr.ndim == 0 or tuple(arr.shape[1:]) != expected or len(arr) == 0 or arr.dtype.kind not in "fiu":
            raise ValueError(f"x must be numbers of shape (n, {', '.join(map(str, expected))}) with n >= 1; "
                             f"got {arr.dtype} {arr.shape}")
        q = evaluate.quantize_input(arr, self._litert_style(self.inputs[0]))
        out = self._litert_style(self.outputs[0])
        rows = [evaluate.dequantize_output(self.invoke(q[i:i + 1]), out)[0] for i in range(len(q))]
        return np.stack(rows)

    def raw_outputs(self, x: np.ndarray) -> np.ndarray:
        """The raw output tensors (int8 for an int8 model) for preprocessed float inputs ``x``."""
        q = evaluate.quantize_input(np.asarray(x), self._litert_style(self.inputs[0]))
        return np.stack([self.invoke(q[i:i + 1])[0] for i in range(len(q))])

    def time_invoke(self, runs: int = 200, warmup: int = 20) -> np.ndarray:
        """Milliseconds per ``invoke()`` on THIS machine's CPU (not a board's), ``runs`` times."""
        runs = _checks.count("runs", runs, minimum=1, maximum=100_000)
        warmup = _checks.count("warmup", warmup, minimum=0, maximum=10_000)
        x = np.zeros(self.input_shape, dtype=self.inputs[0]["dtype"])
        for _ in range(warmup):
            self.invoke(x)
        times = np.empty(runs)
        with quiet.native_logs_silenced():
            for i in range(runs):
                self._interpreter.set_input(x, 0)
                start = time.perf_counter()
                self._interpreter.invoke()
                times[i] = (time.perf_counter() - start) * 1000.0
        return times


def load(model: ModelLike, arena_bytes: Optional[int] = None) -> MicroModel:
    """The model in TFLM's interpreter, in this process. With ``arena_bytes=None`` the arena is
    measured (:func:`find_arena`) and given :data:`DEFAULT_HEADROOM`. A given arena is first
    tried in a probe: too small raises ValueError naming ``arena_bytes`` and the smallest size
    that works; an op TFLM lacks raises ModelError."""
    converted = _converted(model)
    if arena_bytes is None:
        arena_bytes = find_arena(converted).recommended()
    elif not arena_allocates(converted, arena_bytes):
        raise _arena_too_small(find_arena(converted).minimal_bytes, converted.name, arena_bytes)
    return MicroModel(converted, int(arena_bytes))


def _arena_too_small(needed: int, model: str, given: Any) -> ValueError:
    return ValueError(f"arena_bytes must be at least {needed:,} for model {model!r} (measured in TFLM); "
                      f"got {given!r}: the arena is too small")


@dataclass(frozen=True)
class Agreement:
    """TFLM's outputs against LiteRT's on the same inputs. For an int8 model ``max_abs_diff`` is
    in steps of the output's quantization (0: bit-identical)."""

    samples: int
    identical: float  # fraction of samples whose raw outputs are all equal
    max_abs_diff: float
    top1_agreement: float  # fraction of samples with the same arg-max

    def __str__(self) -> str:
        return (f"TFLM vs LiteRT on {self.samples} inputs: {self.identical:.1%} identical outputs, "
                f"max difference {self.max_abs_diff:g}, same top-1 on {self.top1_agreement:.1%}")


def compare_with_litert(model: ModelLike, x: np.ndarray, micro: Optional[MicroModel] = None) -> Agreement:
    """Run the same preprocessed inputs ``x`` through TFLM and LiteRT; compare raw outputs."""
    from edgelab.runtime import load_interpreter

    converted = _converted(model)
    micro = micro or load(converted)
    arr = np.asarray(x)
    tflm = micro.raw_outputs(arr)
    loaded = load_interpreter(converted.data)
    detail, out = loaded.input_details[0], loaded.output_details[0]
    q = evaluate.quantize_input(arr, detail)
    rows = []
    with quiet.native_logs_silenced():
        for i in range(len(q)):
            loaded.interpreter.set_tensor(detail["index"], q[i:i + 1])
            loaded.interpreter.invoke()
            rows.append(np.array(loaded.interpreter.get_tensor(out["index"]))[0])
    litert = np.stack(rows)
    diff = np.abs(tflm.astype(np.float64) - litert.astype(np.float64))
    flat_t, flat_l = tflm.reshape(len(tflm), -1), litert.reshape(len(litert), -1)
    same = np.all(diff.reshape(len(arr), -1) == 0, axis=1)
    return Agreement(samples=len(arr), identical=float(np.mean(same)), max_abs_diff=float(diff.max()),
                     top1_agreement=float(np.mean(flat_t.argmax(axis=1) == flat_l.argmax(axis=1))))


# ------------------------------------------------------------------------------------ C array

@dataclass(frozen=True)
class CArray:
    """A model as C source: ``alignas(16) const unsigned char NAME[]`` and ``NAME_len``.
    ``const`` keeps it in flash; ``size_bytes`` is what it takes there (not the text's length)."""

    name: str
    text: str = field(repr=False)
    size_bytes: int
    alignment: int

    def save(self, path: Union[str, os.PathLike]) -> Path:
        target = Path(os.fspath(path))
        target.write_text(self.text)
        return target


_C_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def c_array(model: ModelLike, name: str = "g_model", alignment: int = ALIGNMENT) -> CArray:
    """The model's bytes as a C array in ``xxd -i``'s layout (12 bytes a line, ``0x..``), declared
    ``alignas(alignment) const`` so it stays in flash, aligned as TFLM reads it in place."""
    data = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else _converted(model).data
    if not isinstance(name, str) or not _C_NAME.fullmatch(name):
        raise ValueError(f"name must be a C identifier (letters, digits, _; not starting with a digit); "
                         f"got {name!r}")
    align = _checks.count("alignment", alignment, minimum=1, maximum=4096)
    if align & (align - 1):
        raise ValueError(f"alignment must be a power of two from 1 to 4096; got {alignment!r}")
    raw = data
    lines = ["  " + ", ".join(f"0x{b:02x}" for b in raw[i:i + 12]) for i in range(0, len(raw), 12)]
    body = ",\n".join(lines)
    text = (f"alignas({align}) const unsigned char {name}[] = {{\n{body}\n}};\n"
            f"const unsigned int {name}_len = {len(raw)};\n")
    return CArray(name=name, text=text, size_bytes=len(raw), alignment=align)


_ARRAY = re.compile(r"\[\s*\]\s*=\s*\{(?P<body>[^}]*)\}", re.S)


def c_array_bytes(text: str) -> bytes:
    """The bytes of the first C array in ``text`` (the ``{0x1c, 0x00, ...}`` list, as
    :func:`c_array` or ``xxd -i`` write it), checked against its ``_len`` if there is one."""
    if not isinstance(text, str):
        raise ValueError(f"text must be C source as a str; got {type(text).__name__}")
    match = _ARRAY.search(text)
    if match is None:
        raise ValueError("text holds no C array initializer like `name[] = {0x1c, 0x00, ...};`")
    items = [item.strip() for item in match.group("body").split(",") if item.strip()]
    try:
        values = [int(item, 0) for item in items]
    except ValueError:
        raise ValueError("the C array holds something other than integer literals like 0x1c") from None
    if any(not 0 <= v <= 255 for v in values):
        raise ValueError("the C array holds values outside 0..255: not bytes")
    data = bytes(values)
    declared = re.search(r"_len\s*=\s*(\d+)", text)
    if declared and int(declared.group(1)) != len(data):
        raise ValueError(f"the C array has {len(data):,} bytes but its _len says {int(declared.group(1)):,}: "
                         "the file was cut or edited")
    return data


# ------------------------------------------------------------------------------------- boards

@dataclass(frozen=True)
class Board:
    """A microcontroller board: flash and SRAM in bytes, where each figure comes from."""

    name: str
    description: str
    mcu: str
    core: str
    clock_mhz: float
    flash_bytes: int
    ram_bytes: int
    fpu: str
    int8_kernels: str
    int8_only: bool
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> Dict[str, Any]:
        """The board's figures as plain data (no sources)."""
        return {"name": self.name, "mcu": self.mcu, "core": self.core, "clock_mhz": self.clock_mhz,
                "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes, "fpu": self.fpu,
                "int8_only": self.int8_only}


@lru_cache(maxsize=1)
def _data() -> Dict[str, Any]:
    return json.loads(resources.files("edgelab").joinpath("data", DATA_FILE).read_text(encoding="utf-8"))


def boards() -> List[str]:
    """The microcontroller boards, e.g. ``"raspberry-pi-pico"``."""
    return list(_data()["boards"])


def board(name: str) -> Board:
    """The sourced profile of board ``name`` (see :func:`boards`)."""
    entries = _data()["boards"]
    _checks.profile_name("board", name, entries)
    e = entries[name]
    return Board(name=name, description=e["description"], mcu=e["mcu"], core=e["core"],
                 clock_mhz=e["clock_mhz"], flash_bytes=e["flash_bytes"], ram_bytes=e["ram_bytes"],
                 fpu=e["fpu"], int8_kernels=e["int8_kernels"], int8_only=e["int8_only"],
                 sources=dict(e["sources"]))


def runtime_footprint() -> Dict[str, Any]:
    """The runtime's own flash (code) and RAM, with their sources (lower bounds: see the data)."""
    return dict(_data()["runtime"])


def published_inference() -> List[Dict[str, Any]]:
    """Inference times published for real boards, each with its source (``ms`` may be None)."""
    return [dict(row) for row in _data()["published_inference"]]


def _as_board(value: Union[str, Board]) -> Board:
    if isinstance(value, Board):
        return value
    if isinstance(value, str):
        return board(value)
    raise ValueError(f"board must be a Board or one of {', '.join(boards())}; got {value!r}")


# ------------------------------------------------------------------------------------- budget

@dataclass(frozen=True)
class Budget:
    """Flash and RAM a deployment needs on one board, and whether it fits.

    Flash holds the program: the runtime's code and the model (a const array, read in place).
    RAM holds the tensor arena and the runtime's own stack and globals."""

    board: str
    model_bytes: int
    runtime_flash_bytes: int
    flash_bytes: int
    arena_bytes: int
    runtime_ram_bytes: int
    ram_bytes: int

    @property
    def flash_needed(self) -> int:
        return self.model_bytes + self.runtime_flash_bytes

    @property
    def ram_needed(self) -> int:
        return self.arena_bytes + self.runtime_ram_bytes

    @property
    def flash_free(self) -> int:
        return self.flash_bytes - self.flash_needed

    @property
    def ram_free(self) -> int:
        return self.ram_bytes - self.ram_needed

    @property
    def fits(self) -> bool:
        return self.flash_free >= 0 and self.ram_free >= 0

    def reasons(self) -> List[str]:
        """Why it does not fit (empty when it does)."""
        out = []
        if self.flash_free < 0:
            out.append(f"flash: model {self.model_bytes:,} B + runtime code {self.runtime_flash_bytes:,} B = "
                       f"{self.flash_needed:,} B > {self.flash_bytes:,} B on {self.board}")
        if self.ram_free < 0:
            out.append(f"RAM: arena {self.arena_bytes:,} B + runtime {self.runtime_ram_bytes:,} B = "
                       f"{self.ram_needed:,} B > {self.ram_bytes:,} B on {self.board}")
        return out

    def as_dict(self) -> Dict[str, Any]:
        """The budget as plain data, with the totals."""
        return {"board": self.board, "model_bytes": self.model_bytes,
                "runtime_flash_bytes": self.runtime_flash_bytes, "flash_bytes": self.flash_bytes,
                "arena_bytes": self.arena_bytes, "runtime_ram_bytes": self.runtime_ram_bytes,
                "ram_bytes": self.ram_bytes, "flash_needed": self.flash_needed,
                "ram_needed": self.ram_needed, "fits": self.fits}

    def __str__(self) -> str:
        def row(what: str, need: int, have: int) -> str:
            return f"  {what:<6}{need:>12,} B of {have:>12,} B ({need / have:6.1%})"
        head = f"{self.board}: {'fits' if self.fits else 'DOES NOT FIT'}"
        return "\n".join([head, row("flash", self.flash_needed, self.flash_bytes),
                          row("RAM", self.ram_needed, self.ram_bytes)] + [f"  {r}" for r in self.reasons()])


def budget(model_bytes: int, arena_bytes: int, board: Union[str, Board],
           runtime_flash_bytes: Optional[int] = None, runtime_ram_bytes: Optional[int] = None) -> Budget:
    """Flash = model + runtime code; RAM = arena + runtime RAM; against ``board``'s sizes.
    The runtime's figures default to :func:`runtime_footprint` (sourced lower bounds)."""
    footprint = runtime_footprint()
    dev = _as_board(board)
    return Budget(board=dev.name,
                  model_bytes=_checks.count("model_bytes", model_bytes, minimum=0),
                  runtime_flash_bytes=_checks.count(
                      "runtime_flash_bytes", footprint["flash_bytes"] if runtime_flash_bytes is None
                      else runtime_flash_bytes, minimum=0),
                  flash_bytes=dev.flash_bytes,
                  arena_bytes=_checks.count("arena_bytes", arena_bytes, minimum=0),
                  runtime_ram_bytes=_checks.count(
                      "runtime_ram_bytes", footprint["ram_bytes"] if runtime_ram_bytes is None
                      else runtime_ram_bytes, minimum=0),
                  ram_bytes=dev.ram_bytes)


@dataclass(frozen=True)
class Deployment:
    """Everything :func:`check_deployment` established: the ops, the arena, the budget."""

    model: str
    board: Board
    ops: OpCheck
    arena: ArenaSearch
    arena_bytes: int
    budget: Budget

    def __str__(self) -> str:
        return (f"{self.model} on {self.board.name}: ops {', '.join(self.ops.ops)} (all in TFLM's "
                f"resolver); arena {self.arena_bytes:,} B (measured minimum {self.arena.minimal_bytes:,} B)\n"
                f"{self.budget}")


def check_deployment(model: ModelLike, board: Union[str, Board], arena_bytes: Optional[int] = None,
                     headroom: float = DEFAULT_HEADROOM, runtime_flash_bytes: Optional[int] = None,
                     runtime_ram_bytes: Optional[int] = None) -> Deployment:
    """Can this model be deployed on ``board`` with TFLM? In order: full int8 on an int8-only
    board, every op in TFLM's resolver, the arena measured (``arena_bytes`` if given must
    allocate; else the minimum plus ``headroom``), flash and RAM with the runtime counted.
    Each failure raises: ModelError (float model, missing op, does not fit) or ValueError
    (an ``arena_bytes`` too small, naming the smallest that works)."""
    converted = _converted(model)
    dev = _as_board(board)
    if dev.int8_only:
        require_int8(converted, dev.name)
    ops = check_ops(converted)
    arena = find_arena(converted)
    if arena_bytes is None:
        chosen = arena.recommended(headroom)
    else:
        chosen = _checks.count("arena_bytes", arena_bytes, minimum=1, maximum=MAX_ARENA_BYTES)
        if chosen < arena.minimal_bytes:
            raise _arena_too_small(arena.minimal_bytes, converted.name, arena_bytes)
    plan = budget(converted.size_bytes, chosen, dev, runtime_flash_bytes, runtime_ram_bytes)
    if not plan.fits:
        raise ModelError(f"model {converted.name!r} cannot fit {dev.name}: " + "; ".join(plan.reasons())
                         + ". Shrink the model (int8, fewer or narrower layers) or pick a bigger board.")
    return Deployment(model=converted.name, board=dev, ops=ops, arena=arena, arena_bytes=chosen, budget=plan)


# ----------------------------------------------------------------------------------- explorer

def budget_numbers(models: Mapping[str, Mapping[str, int]], board_name: str, model: str,
                   runtime_code_kb: float, headroom_percent: float) -> Budget:
    """:func:`budget` of model ``model`` of ``models`` (its arena grown by ``headroom_percent``)
    with ``runtime_code_kb`` KB of runtime code, on ``board_name``."""
    entry = models[model]
    arena = arena_with_headroom(int(entry["arena_bytes"]), headroom_percent / 100.0)
    return budget(int(entry["model_bytes"]), arena, board_name, int(round(runtime_code_kb * 1024)))


def budget_explorer(models: Mapping[str, Mapping[str, int]]) -> Any:
    """Pick a board and a model (``{label: {"model_bytes": .., "arena_bytes": ..}}``, the arena
    measured with :func:`find_arena`), move the runtime's code size and the arena headroom, and
    read the flash and RAM budget (:func:`budget`), drawn by :func:`edgelab.figures.memory_map`.
    ``box.numbers["budget"]`` is the Budget shown."""
    import ipywidgets as w

    from edgelab import figures, ui

    if not models:
        raise ValueError("models must map at least one label to {'model_bytes': .., 'arena_bytes': ..}")
    footprint = runtime_footprint()
    controls = {
        "board_name": w.Dropdown(options=boards(), description="board", style=ui.WIDE),
        "model": w.Dropdown(options=list(models), description="model", style=ui.WIDE),
        "runtime_code_kb": w.FloatLogSlider(value=footprint["flash_bytes"] / 1024, base=10, min=1, max=3.5,
                                            step=0.05, description="runtime code (KB)", style=ui.WIDE,
                                            readout_format=".0f"),
        "headroom_percent": w.FloatSlider(value=DEFAULT_HEADROOM * 100, min=0, max=100, step=5,
                                          description="arena headroom (%)", style=ui.WIDE),
    }

    def numbers(**values: Any) -> dict:
        return {"budget": budget_numbers(models, **values)}

    return ui.explorer(controls, numbers, lambda n: figures.memory_map(n["budget"]),
                       lambda n: ui.pre(str(n["budget"])))


if __name__ == "__main__":
    sys.exit(_serve_probe())
