"""Will this converted model run there? Checks with messages a learner can act on.

* :func:`check_full_int8`: an Edge TPU (Coral) runs only fully integer-quantized models
  (int8 inputs, outputs and compute), and they must then go through ``edgetpu_compiler``.
* :func:`check_op_versions`: each op of a ``.tflite`` file has a version; an older runtime
  refuses ops newer than it knows. The limits of a runtime come from a data file
  (``edgelab/data/tflite_runtime_ops.json``) that says where they come from.
* :func:`check_memory`: the model's file against a device's flash (or storage), and its
  weights plus working memory against RAM. The device's sizes are numbers you pass.

:func:`check_compatibility` runs those that apply and returns a :class:`CompatReport`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Dict, List, Optional

OP_TABLE_FILE = "tflite_runtime_ops.json"


@dataclass
class CompatReport:
    """Problems (the model will not run) and warnings (it may not, or was not checked)."""

    target: str
    problems: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.target}: {'OK' if self.ok else 'NOT COMPATIBLE'}"
        lines = [head] + [f"  PROBLEM: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def runtime_op_tables() -> Dict[str, Dict[str, Any]]:
    """The known runtimes' highest op versions, each with its ``source``."""
    text = resources.files("edgelab").joinpath("data", OP_TABLE_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _info(model: Any) -> Any:
    info = getattr(model, "info", None)
    if info is None:
        raise ValueError("model must be an edgelab.convert.ConvertedModel (convert() or "
                         "ConvertedModel.load()); got " + type(model).__name__)
    return info


def check_full_int8(model: Any) -> CompatReport:
    """Edge TPU rule: int8 inputs and outputs, and no float tensor computed at run time."""
    info = _info(model)
    report = CompatReport("Edge TPU (full int8)")
    for kind, tensors in (("input", info.input_tensors()), ("output", info.output_tensors())):
        for t in tensors:
            if t.dtype not in ("int8", "uint8"):
                report.problems.append(
                    f"{kind} {t.name!r} is {t.dtype}: the Edge TPU needs int8 inputs and outputs. Convert "
                    "with variant='int8' (full-integer quantization with a representative dataset)")
    floats = sorted({op.name for op in info.operators for i in op.outputs
                     if i >= 0 and info.tensors[i].dtype in ("float32", "float16")})
    if floats:
        report.problems.append(f"ops computing in float: {', '.join(floats)}. The Edge TPU runs only "
                               "int8 ops; these would fall back to the CPU. Use the int8 variant")
    if report.ok:
        report.warnings.append("full int8: the Edge TPU can run it after `edgetpu_compiler model.tflite` "
                               "(compilation is a separate step, not checked here)")
    return report


def check_op_versions(model: Any, runtime: str = "tflite-runtime 2.14") -> CompatReport:
    """Compare the model's op versions with the highest ones ``runtime`` supports."""
    tables = runtime_op_tables()
    if runtime not in tables:
        raise ValueError(f"runtime must be one of {', '.join(sorted(tables))}; got {runtime!r}")
    limits = tables[runtime]["max_versions"]
    report = CompatReport(runtime)
    for op, version in _info(model).op_versions.items():
        if op not in limits:
            report.warnings.append(f"{op} v{version} is not in edgelab's table for {runtime}: not checked")
        elif version > limits[op]:
            report.problems.append(
                f"{op} version {version} is newer than {runtime} supports (up to version {limits[op]}): "
                f"it will refuse to load the model. Use ai-edge-litert on the device, or a converter as "
                f"old as the runtime")
    return report


def _check_size(name: str, value: Optional[int]) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        raise ValueError(f"{name} must be a positive number of bytes or None; got {value!r}")


def check_memory(model: Any, ram_bytes: Optional[int] = None, flash_bytes: Optional[int] = None,
                 runtime_overhead_bytes: int = 0, target: str = "device") -> CompatReport:
    """Does the model fit? File vs ``flash_bytes``; weights + activations + overhead vs ``ram_bytes``.

    On a Linux board the whole file is loaded into RAM; on a microcontroller the weights stay in
    flash and RAM holds the activations (the "tensor arena") plus ``runtime_overhead_bytes``.
    Pass ``flash_bytes`` for a microcontroller: then weights are counted against flash only.
    """
    _check_size("ram_bytes", ram_bytes)
    _check_size("flash_bytes", flash_bytes)
    if not isinstance(runtime_overhead_bytes, int) or runtime_overhead_bytes < 0:
        raise ValueError(f"runtime_overhead_bytes must be an integer >= 0; got {runtime_overhead_bytes!r}")
    info = _info(model)
    size = len(model.data)
    activations = info.activation_bytes()
    report = CompatReport(target)
    if flash_bytes is not None and size > flash_bytes:
        report.problems.append(f"the model file is {size:,} bytes but {target} has {flash_bytes:,} bytes of "
                               f"flash ({size / flash_bytes:.1f}x too big): quantize (int8 is ~4x smaller) "
                               "or use a smaller architecture")
    if ram_bytes is not None:
        need = activations + runtime_overhead_bytes + (0 if flash_bytes is not None else size)
        if need > ram_bytes:
            where = "activations" if flash_bytes is not None else "the model plus its activations"
            report.problems.append(f"{where} need about {need:,} bytes but {target} has {ram_bytes:,} bytes "
                                   "of RAM")
        elif need > 0.8 * ram_bytes:
            report.warnings.append(f"the model uses {need / ram_bytes:.0%} of {target}'s RAM: little is left "
                                   "for the application")
    return report


def check_compatibility(model: Any, runtime: Optional[str] = None, edgetpu: bool = False,
                        ram_bytes: Optional[int] = None, flash_bytes: Optional[int] = None,
                        target: str = "device") -> CompatReport:
    """Run the checks that apply and merge them into one report for ``target``."""
    merged = CompatReport(target)
    parts = []
    if edgetpu:
        parts.append(check_full_int8(model))
    if runtime is not None:
        parts.append(check_op_versions(model, runtime))
    if ram_bytes is not None or flash_bytes is not None:
        parts.append(check_memory(model, ram_bytes, flash_bytes, target=target))
    if not parts:
        raise ValueError("nothing to check: pass runtime=, edgetpu=True, ram_bytes= or flash_bytes=")
    for part in parts:
        merged.problems += [f"[{part.target}] {p}" for p in part.problems]
        merged.warnings += [f"[{part.target}] {w}" for w in part.warnings]
    return merged
