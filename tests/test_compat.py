"""edgelab.compat: Edge TPU, op-version and memory checks with actionable messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_edgelab

from edgelab import compat
from edgelab.convert import ConvertedModel


@pytest.fixture(scope="module")
def variants(digits_variants: dict) -> dict:
    return {v: ConvertedModel.load(p) for v, p in digits_variants["paths"].items()}


def test_only_full_int8_passes_the_edge_tpu_check(variants: dict) -> None:
    """float32/dynamic/float16 are refused for the Edge TPU, naming float I/O; int8 passes."""
    for v in ("float32", "dynamic", "float16"):
        report = compat.check_full_int8(variants[v])
        assert not report.ok and "needs int8 inputs and outputs" in str(report)
    ok = compat.check_full_int8(variants["int8"])
    assert ok.ok and "edgetpu_compiler" in ok.warnings[0]


def test_op_versions_against_tflite_runtime_214(variants: dict) -> None:
    """Dynamic-range FULLY_CONNECTED v12 is too new for tflite-runtime 2.14; float32 is fine."""
    bad = compat.check_op_versions(variants["dynamic"])
    assert not bad.ok and "FULLY_CONNECTED version 12" in bad.problems[0]
    assert "up to version 10" in bad.problems[0]
    assert compat.check_op_versions(variants["float32"]).ok
    with pytest.raises(ValueError, match="runtime must be one of"):
        compat.check_op_versions(variants["int8"], "tflite-runtime 1.0")


def test_op_table_has_a_source() -> None:
    """Every runtime table names where its numbers come from."""
    for name, table in compat.runtime_op_tables().items():
        assert "source" in table and len(table["source"]) > 40, name
        assert all(isinstance(v, int) and v >= 1 for v in table["max_versions"].values())


def test_memory_checks(variants: dict) -> None:
    """A 176 KB float model does not fit 128 KB flash; int8 fits a Nano 33 BLE (256 KB RAM, 1 MB flash)."""
    f32, q = variants["float32"], variants["int8"]
    small = compat.check_memory(f32, ram_bytes=64 * 1024, flash_bytes=128 * 1024, target="tiny MCU")
    assert not small.ok and "flash" in small.problems[0] and "tiny MCU" in small.problems[0]
    nano = compat.check_compatibility(q, edgetpu=True, ram_bytes=256 * 1024, flash_bytes=1024 * 1024,
                                      target="Arduino Nano 33 BLE Sense")
    assert nano.ok, str(nano)
    board = compat.check_memory(f32, ram_bytes=100 * 1024)  # Linux board: whole file in RAM
    assert not board.ok and "model plus its activations" in board.problems[0]
    with pytest.raises(ValueError, match="ram_bytes must be a positive number"):
        compat.check_memory(q, ram_bytes=0)
    with pytest.raises(ValueError, match="nothing to check"):
        compat.check_compatibility(q)
    with pytest.raises(ValueError, match="ConvertedModel"):
        compat.check_full_int8(b"bytes")


@pytest.mark.slow
def test_table_matches_the_real_tflite_runtime_214(legacy_python: Path, variants: dict,
                                                   tmp_path: Path) -> None:
    """For the table's ops present in the digits model, the real tflite-runtime 2.14 loads the
    table's max version and refuses max + 1 (models re-packed with that op's version)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from edgelab.flatbuffer import op_name

    limits = compat.runtime_op_tables()["tflite-runtime 2.14"]["max_versions"]
    data = variants["float32"].data
    base = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    names = [op_name(max(c.builtinCode, c.deprecatedBuiltinCode)) for c in base.operatorCodes]
    cases = []
    for k, name in enumerate(names):
        for version in (limits[name], limits[name] + 1):
            model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
            for j, code in enumerate(model.operatorCodes):
                code.version = version if j == k else 1
            builder = flatbuffers.Builder(1024)
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
            path = tmp_path / f"{name}_{version}.tflite"
            path.write_bytes(bytes(builder.Output()))
            cases.append((name, version, str(path)))
    proc = run_edgelab(legacy_python, f"""
        from tflite_runtime.interpreter import Interpreter
        for name, version, path in {cases!r}:
            try:
                Interpreter(model_path=path)
                print(name, version, "ok")
            except Exception as exc:
                print(name, version, "refused" if "Didn't find op" in str(exc) else "other")
    """)
    assert proc.returncode == 0, proc.stderr
    seen = dict(((n, int(v)), r) for n, v, r in (line.split() for line in proc.stdout.splitlines()))
    for name in names:
        assert seen[(name, limits[name])] == "ok", name
        assert seen[(name, limits[name] + 1)] == "refused", name
