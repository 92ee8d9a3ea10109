"""edgelab.micro: the course's models in TensorFlow Lite for Microcontrollers, measured."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import flatbuffers
import numpy as np
import pytest
from conftest import REPO, require
from hypothesis import given, settings
from hypothesis import strategies as st

from edgelab import micro, synthetic
from edgelab.errors import ModelError, RuntimeMissingError


@pytest.fixture(scope="module")
def float_model() -> bytes:
    """A small float32 model written without TensorFlow (two 3x3 convolutions)."""
    return synthetic.conv_stack(input_size=8, channels=4, layers=2, in_channels=1)


def with_op(data: bytes, op: str) -> bytes:
    """``data`` with every operator code replaced by the builtin ``op``."""
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    code = getattr(s.BuiltinOperator, op)
    for opcode in model.operatorCodes:
        opcode.builtinCode, opcode.deprecatedBuiltinCode = code, min(code, 127)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# --- boards and the runtime footprint: data with sources ------------------------------------

def test_every_board_figure_has_a_source() -> None:
    """Each board names a source for its core, clock, flash, RAM, FPU, kernels and int8 rule,
    and the three boards of the issue are there."""
    assert set(micro.boards()) == {"raspberry-pi-pico", "arduino-nano-33-ble-sense", "esp32-s3-devkitc-1"}
    for name in micro.boards():
        b = micro.board(name)
        assert set(b.sources) >= {"core", "clock_mhz", "flash_bytes", "ram_bytes", "fpu", "int8_kernels",
                                  "int8_only"}, name
        assert all(len(text) > 20 for text in b.sources.values()), name
        assert 0 < b.ram_bytes < b.flash_bytes <= 16 * 2**20


def test_runtime_footprint_and_published_times_have_sources() -> None:
    """The runtime's flash and RAM figures and every published board timing cite a source."""
    footprint = micro.runtime_footprint()
    assert footprint["flash_bytes"] > 0 and footprint["ram_bytes"] > 0
    assert set(footprint["sources"]) == {"flash_bytes", "ram_bytes"}
    rows = micro.published_inference()
    assert rows and all(r["board"] in micro.boards() and len(r["source"]) > 40 for r in rows)
    assert any(r["ms"] for r in rows), "at least one absolute board timing"


def test_unknown_board_is_refused_with_the_known_names() -> None:
    """A board name that does not exist gets an error listing the boards."""
    with pytest.raises(ValueError, match="known boards: arduino-nano-33-ble-sense"):
        micro.board("raspberry-pi-5")


# --- the fit check: arithmetic, properties, bad input ----------------------------------------

sizes = st.integers(min_value=0, max_value=32 * 2**20)


@settings(max_examples=200, deadline=None)
@given(model=sizes, arena=sizes, code=sizes, ram=sizes, name=st.sampled_from(micro.boards()))
def test_budget_fits_exactly_when_flash_and_ram_suffice(model: int, arena: int, code: int, ram: int,
                                                        name: str) -> None:
    """Flash = model + runtime code, RAM = arena + runtime RAM; it fits iff both are within the
    board's sizes, and the reasons name exactly what overflows."""
    b = micro.board(name)
    plan = micro.budget(model, arena, name, code, ram)
    assert plan.flash_needed == model + code and plan.ram_needed == arena + ram
    assert plan.fits == (model + code <= b.flash_bytes and arena + ram <= b.ram_bytes)
    reasons = " ".join(plan.reasons())
    assert ("flash:" in reasons) == (model + code > b.flash_bytes)
    assert ("RAM:" in reasons) == (arena + ram > b.ram_bytes)


@settings(max_examples=200, deadline=None)
@given(model=sizes, arena=sizes, more=st.integers(min_value=0, max_value=2**20),
       name=st.sampled_from(micro.boards()))
def test_a_bigger_model_or_arena_never_fits_where_a_smaller_did_not(model: int, arena: int, more: int,
                                                                   name: str) -> None:
    """The fit check is monotonic: growing the model or the arena can only lose the fit."""
    small = micro.budget(model, arena, name)
    assert not (micro.budget(model + more, arena, name).fits and not small.fits)
    assert not (micro.budget(model, arena + more, name).fits and not small.fits)


@pytest.mark.parametrize("kwargs, message", [
    ({"model_bytes": -1}, "model_bytes must be an integer ≥ 0"),
    ({"arena_bytes": 1.5}, "arena_bytes must be an integer ≥ 0"),
    ({"runtime_flash_bytes": "22k"}, "runtime_flash_bytes must be an integer"),
    ({"board": 3}, "board must be a Board or one of"),
])
def test_budget_bad_input_names_the_parameter(kwargs: dict, message: str) -> None:
    """Bad budget input raises a ValueError naming the parameter and the accepted range."""
    args = {"model_bytes": 1000, "arena_bytes": 1000, "board": "raspberry-pi-pico", **kwargs}
    with pytest.raises(ValueError, match=message):
        micro.budget(**args)


@settings(max_examples=200, deadline=None)
@given(minimal=st.integers(min_value=1, max_value=2**24), headroom=st.floats(min_value=0, max_value=2),
       alignment=st.sampled_from([1, 4, 8, 16, 32]))
def test_arena_with_headroom_is_the_smallest_aligned_size_with_the_margin(minimal: int, headroom: float,
                                                                         alignment: int) -> None:
    """The recommended arena is a multiple of the alignment, at least minimal x (1 + headroom)
    (to rounding), and less than one alignment step above it."""
    arena = micro.arena_with_headroom(minimal, headroom, alignment)
    assert arena % alignment == 0
    assert arena >= minimal * (1 + headroom) - 1e-6
    assert arena - alignment < max(minimal * (1 + headroom), minimal)


# --- operators --------------------------------------------------------------------------------

def test_resolver_calls_are_the_sketch_method_names() -> None:
    """Op names become MicroMutableOpResolver methods (digits keep their case); bad names are refused."""
    ops = ["CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "DEPTHWISE_CONV_2D", "MEAN"]
    assert micro.resolver_calls(ops) == ["AddConv2D", "AddFullyConnected", "AddMaxPool2D",
                                         "AddDepthwiseConv2D", "AddMean"]
    with pytest.raises(ValueError, match="ops must be builtin operator names"):
        micro.resolver_calls(["conv2d"])


def test_an_op_tflm_lacks_is_named(float_model: bytes) -> None:
    """A model using TILE (no TFLM kernel) is refused by check_ops, find_arena and load, naming
    TILE; without raising, check_ops lists it."""
    data = with_op(float_model, "TILE")
    for call in (micro.check_ops, micro.find_arena, micro.load):
        with pytest.raises(ModelError, match="uses TILE, which TensorFlow Lite for Microcontrollers' op"):
            call(data)
    report = micro.check_ops(data, raise_on_missing=False)
    assert report.missing == ["TILE"] and not report.ok


# --- bad models -------------------------------------------------------------------------------

def test_truncated_and_foreign_files_get_the_course_error(float_model: bytes, tmp_path) -> None:
    """A truncated model, an empty file and a zip are refused with ModelError before TFLM runs."""
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(float_model[: len(float_model) // 2])
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="truncated|corrupted"):
        micro.find_arena(cut)
    with pytest.raises(ModelError, match="is empty"):
        micro.load(empty)
    with pytest.raises(ModelError, match="zip archive"):
        micro.check_ops(b"PK\x03\x04" + bytes(40))
    with pytest.raises(ValueError, match="model must be an edgelab ConvertedModel"):
        micro.find_arena(12345)


def test_a_float_model_is_refused_for_an_int8_only_board(float_model: bytes) -> None:
    """check_deployment refuses a float32 model on an int8-only board, saying to convert to int8."""
    for name in micro.boards():
        assert micro.board(name).int8_only
        with pytest.raises(ModelError, match="not fully int8 .*runs only full-int8 models.*variant='int8'"):
            micro.check_deployment(float_model, name)


def test_a_missing_runtime_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without tflite-micro, running a model raises RuntimeMissingError with the install command."""
    for name in [m for m in sys.modules if m.startswith("tflite_micro")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tflite_micro", None)
    with pytest.raises(RuntimeMissingError, match="pip install tflite-micro"):
        micro.MicroModel(None, 1024)


def test_import_edgelab_micro_does_not_import_tflm_or_tensorflow() -> None:
    """`import edgelab.micro` stays light: no TFLM, TensorFlow or ipywidgets until used."""
    code = ("import sys, edgelab, edgelab.micro; "
            "print(','.join(m for m in ('tflite_micro', 'tensorflow', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == ""


# --- the arena, measured ------------------------------------------------------------------------

def test_the_arena_found_allocates_and_ten_percent_less_does_not(float_model: bytes) -> None:
    """The measured arena allocates and runs; one byte less and 10% less do not; a load with too
    small an arena is refused, naming arena_bytes and the size that works."""
    found = micro.find_arena(float_model)
    assert micro.arena_allocates(float_model, found.minimal_bytes)
    assert not micro.arena_allocates(float_model, found.minimal_bytes - 1)
    assert not micro.arena_allocates(float_model, int(found.minimal_bytes * 0.9))
    assert found.activation_estimate_bytes < found.minimal_bytes < found.default_guess_bytes
    assert "Arena allocation total" in found.allocations
    with pytest.raises(ValueError, match=f"arena_bytes must be at least {found.minimal_bytes:,}"):
        micro.load(float_model, arena_bytes=int(found.minimal_bytes * 0.9))


def test_a_too_small_arena_that_crashes_tflm_does_not_crash_the_caller(float_model: bytes) -> None:
    """Arenas so small that TFLM's C++ code may crash are answered 'does not allocate' (the probe
    process died, not this one)."""
    assert [micro.arena_allocates(float_model, n) for n in (16, 100, 500)] == [False, False, False]


def test_a_model_too_big_for_the_arena_limit_is_refused(float_model: bytes) -> None:
    """find_arena with a limit below what the model needs says it does not allocate."""
    with pytest.raises(ModelError, match="does not allocate in TFLM even with a 1,024-byte arena"):
        micro.find_arena(float_model, max_bytes=1024)


def test_float_model_runs_in_tflm_like_in_litert(float_model: bytes) -> None:
    """TFLM runs the float model to within float rounding of LiteRT on the same inputs."""
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32)
    loaded = micro.load(float_model)
    agreement = micro.compare_with_litert(float_model, x, loaded)
    assert agreement.samples == 5 and agreement.max_abs_diff < 1e-4 and agreement.top1_agreement == 1.0
    with pytest.raises(ValueError, match="x must be numbers of shape \\(n, 8, 8, 1\\)"):
        loaded.predict(np.zeros((2, 4, 4, 1)))


# --- the C array --------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(data=st.binary(min_size=0, max_size=3000),
       name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True))
def test_c_array_round_trips_to_the_same_bytes(data: bytes, name: str) -> None:
    """Any bytes written as a C array read back identical, with their length and alignment."""
    array = micro.c_array(data, name)
    assert micro.c_array_bytes(array.text) == data
    assert array.size_bytes == len(data) and f"const unsigned int {name}_len = {len(data)};" in array.text
    assert array.text.startswith(f"alignas(16) const unsigned char {name}[] = {{")


def test_c_array_matches_xxd(float_model: bytes, tmp_path) -> None:
    """The array's body is byte for byte the one `xxd -i` writes (12 bytes a line, 0x.. lowercase)."""
    require(shutil.which("xxd") is not None, "xxd (Debian package xxd)")
    path = tmp_path / "model.tflite"
    path.write_bytes(float_model)
    xxd = subprocess.run(["xxd", "-i", "model.tflite"], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    body = lambda text: re.search(r"\{\n(.*)\n\}", text, re.S).group(1)  # noqa: E731
    assert body(micro.c_array(path, "model_tflite").text) == body(xxd)
    assert micro.c_array_bytes(xxd) == float_model


def test_c_array_bad_input() -> None:
    """Bad names, alignments and texts get errors naming what is wrong."""
    with pytest.raises(ValueError, match="name must be a C identifier"):
        micro.c_array(b"\x00", "2model")
    with pytest.raises(ValueError, match="alignment must be a power of two"):
        micro.c_array(b"\x00", "m", alignment=12)
    with pytest.raises(ValueError, match="its _len says 5"):
        micro.c_array_bytes("unsigned char m[] = {0x01, 0x02};\nunsigned int m_len = 5;")
    with pytest.raises(ValueError, match="no C array initializer"):
        micro.c_array_bytes("int x = 3;")
    with pytest.raises(ValueError, match="outside 0..255"):
        micro.c_array_bytes("unsigned char m[] = {0x100};")


# --- the course's int8 models ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def course_models(demo_artifacts) -> dict:
    """The course's digits CNN and vibration model, int8, with their test inputs."""
    from edgelab import artifacts

    return artifacts.load(demo_artifacts, ["digits", "vibration"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits", "vibration"])
def test_tflm_runs_the_course_int8_models_like_litert(course_models: dict, name: str) -> None:
    """TFLM runs each course int8 model: the arena is measured (10% less fails), its outputs match
    LiteRT's on 200 test inputs to within one quantization step with the same top-1, and its
    accuracy is LiteRT's."""
    found = course_models[name]
    model, x, y = found.variants["int8"], found.x_test[:200], found.y_test[:200]
    arena = micro.find_arena(model)
    assert not micro.arena_allocates(model, int(arena.minimal_bytes * 0.9))
    loaded = micro.load(model, arena.recommended())
    agreement = micro.compare_with_litert(model, x, loaded)
    print(f"\n{name}: {arena}\n{agreement}")
    assert agreement.max_abs_diff <= 1 and agreement.top1_agreement == 1.0
    assert np.mean(loaded.predict(x).argmax(axis=1) == y) == pytest.approx(model.evaluate(x, y))


@pytest.mark.slow
def test_check_deployment_of_the_course_models(course_models: dict) -> None:
    """Both int8 models deploy on every board (ops, arena and fit checked); a firmware too big
    for the flash and a too-small arena are refused with the reason; the reference MobileNet v2
    int8 does not fit the Nano's flash."""
    for found in course_models.values():
        for name in micro.boards():
            plan = micro.check_deployment(found.variants["int8"], name)
            assert plan.budget.fits and plan.arena_bytes >= plan.arena.minimal_bytes
            assert plan.ops.resolver_calls and not plan.ops.missing
    vibration = course_models["vibration"].variants["int8"]
    with pytest.raises(ModelError, match="cannot fit arduino-nano-33-ble-sense: flash: model"):
        micro.check_deployment(vibration, "arduino-nano-33-ble-sense", runtime_flash_bytes=2**20)
    with pytest.raises(ValueError, match="arena_bytes must be at least"):
        micro.check_deployment(vibration, "raspberry-pi-pico", arena_bytes=1000)
    from edgelab import zoo

    mobilenet = zoo.reference_model("mobilenet-v2-224-int8")
    plan = micro.budget(mobilenet.weight_bytes, mobilenet.activation_bytes, "arduino-nano-33-ble-sense")
    assert not plan.fits and plan.reasons()[0].startswith("flash:")


@pytest.mark.slow
def test_budget_explorer_shows_the_budget(course_models: dict) -> None:
    """The explorer's controls drive budget(): a bigger runtime or another board changes what it shows."""
    vib = course_models["vibration"].variants["int8"]
    arena = micro.find_arena(vib).minimal_bytes
    models = {"vibration int8": {"model_bytes": vib.size_bytes, "arena_bytes": arena}}
    box = micro.budget_explorer(models)
    first, first_png = box.numbers["budget"], box.plot.value
    assert first.fits and first.model_bytes == vib.size_bytes
    assert first == micro.budget_numbers(models, box.controls["board_name"].value, "vibration int8",
                                         box.controls["runtime_code_kb"].value,
                                         box.controls["headroom_percent"].value)
    box.controls["runtime_code_kb"].value = 2000.0  # KB of runtime code: 2 MB does not fit the Nano's flash
    box.controls["board_name"].value = "arduino-nano-33-ble-sense"
    shown = box.numbers["budget"]
    assert not shown.fits and "flash:" in shown.reasons()[0]
    assert "DOES NOT FIT" in box.text.value and box.plot.value != first_png
    json.dumps(shown.as_dict())
