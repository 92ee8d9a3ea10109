"""edgelab.bench: the benchmark protocol and its JSON report, on a real LiteRT interpreter."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgelab import bench, load_interpreter

BENCH_FILE = Path(bench.__file__)


def test_module_imports_only_stdlib_and_numpy() -> None:
    """Module-level imports are the stdlib and numpy only, and never edgelab."""
    tree = ast.parse(BENCH_FILE.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    assert names - stdlib == {"numpy"}


def test_runs_as_a_copied_file_without_edgelab(tiny_model: dict, tmp_path: Path) -> None:
    """A copy of bench.py next to a script benchmarks a model with edgelab blocked from import."""
    shutil.copy(BENCH_FILE, tmp_path / "bench.py")
    script = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'edgelab':
            raise ImportError('edgelab is not installed on this device')
sys.meta_path.insert(0, Block())
import json, bench
from ai_edge_litert.interpreter import Interpreter
data = open({str(tiny_model['path'])!r}, 'rb').read()
it = Interpreter(model_content=data, num_threads=1)
it.allocate_tensors()
report = bench.run_benchmark(it, model_name='tiny', model_bytes=data, warmup_runs=2, runs=20,
                             num_threads=1, simulated=False, profile='rpi5')
assert bench.validate_report(report) == [], bench.validate_report(report)
assert 'edgelab' not in sys.modules
print(json.dumps(report))
"""
    (tmp_path / "agent.py").write_text(script)
    proc = subprocess.run([sys.executable, "-E", str(tmp_path / "agent.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["runtime"]["backend"] == "ai-edge-litert"
    assert report["device"]["profile"] == "rpi5"


def test_report_follows_the_schema(tiny_model: dict, tmp_path: Path) -> None:
    """A real run yields every schema field with consistent values, and round-trips as JSON."""
    data = tiny_model["path"].read_bytes()
    loaded = load_interpreter(data, num_threads=2)
    report = bench.run_benchmark(loaded.interpreter, model_name="tiny", model_bytes=data,
                                 warmup_runs=3, runs=50, num_threads=2, accuracy=0.5)
    assert bench.validate_report(report) == []
    assert report["schema"] == "edgelab.benchmark/1"
    assert report["model"] == {"name": "tiny", "sha256": hashlib.sha256(data).hexdigest(),
                               "size_bytes": len(data)}
    assert report["settings"] == {"warmup_runs": 3, "runs": 50, "num_threads": 2}
    assert report["runtime"]["backend"] == loaded.backend.name
    assert report["runtime"]["version"] == loaded.backend.version
    lat = report["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert lat["min"] <= lat["mean"] <= lat["max"]
    assert report["peak_memory_bytes"] > 10 * 2**20  # a Python process with numpy and LiteRT
    assert report["accuracy"] == 0.5 and report["device"]["simulated"] is False
    bench.write_report(report, tmp_path / "r.json")
    assert bench.read_report(tmp_path / "r.json") == json.loads(json.dumps(report))


def test_given_inputs_are_used_and_checked(tiny_model: dict) -> None:
    """Inputs the caller gives are set on the interpreter; a wrong shape or dtype is refused."""
    loaded = load_interpreter(tiny_model["path"])
    bench.run_benchmark(loaded.interpreter, model_name="t", model_sha256="0" * 64, model_size_bytes=1,
                        warmup_runs=0, runs=1, inputs=[tiny_model["x"]])
    out = loaded.interpreter.get_tensor(loaded.output_details[0]["index"])
    np.testing.assert_allclose(out, tiny_model["y"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"inputs\[0\] must have shape \(1, 64\) and dtype float32"):
        bench.run_benchmark(loaded.interpreter, model_name="t", model_bytes=b"x",
                            inputs=[tiny_model["x"].astype("float64")])
    with pytest.raises(ValueError, match="one array per model input"):
        bench.run_benchmark(loaded.interpreter, model_name="t", model_bytes=b"x", inputs=[])


def test_bad_settings_name_the_parameter(tiny_model: dict) -> None:
    """Bad runs, warm-up, threads, accuracy or model description raise ValueError naming them."""
    it = load_interpreter(tiny_model["path"]).interpreter
    cases = [({"runs": 0}, "runs must be an integer from 1"),
             ({"warmup_runs": -1}, "warmup_runs must be an integer from 0"),
             ({"runs": 2.5}, "runs must be"), ({"num_threads": 0}, "num_threads"),
             ({"accuracy": 1.5}, "accuracy must be a fraction")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            bench.run_benchmark(it, model_name="t", model_bytes=b"x", **kwargs)
    with pytest.raises(ValueError, match="pass model_bytes, or both sha256 and size_bytes"):
        bench.run_benchmark(it, model_name="t")


def test_latency_stats_match_numpy() -> None:
    """Percentiles and moments are numpy's over the samples, converted to milliseconds."""
    samples = [1_000_000 * k for k in range(1, 101)]
    stats = bench.latency_stats(samples)
    assert stats["min"] == 1.0 and stats["max"] == 100.0 and stats["mean"] == 50.5
    assert stats["p50"] == pytest.approx(50.5) and stats["p90"] == pytest.approx(90.1)
    assert stats["p99"] == pytest.approx(99.01)
    assert stats["std"] == pytest.approx(np.std(np.arange(1, 101)))
    with pytest.raises(ValueError, match="at least one"):
        bench.latency_stats([])


def test_time_invokes_measures_the_call() -> None:
    """Each sample is the duration of one call (a call that sleeps 2 ms takes >= 2 ms)."""
    import time

    samples = bench.time_invokes(lambda: time.sleep(0.002), 5)
    assert len(samples) == 5 and min(samples) >= 2_000_000


def test_validate_report_lists_problems() -> None:
    """A broken report gets one readable problem per defect."""
    problems = bench.validate_report({"schema": "other", "latency_ms": {}, "timestamp": "yesterday"})
    text = "\n".join(problems)
    assert "schema must be 'edgelab.benchmark/1'" in text
    assert "model must be an object" in text and "latency_ms.p50 is missing" in text
    assert "timestamp must be an ISO-8601" in text and "accuracy is missing" in text
    with pytest.raises(ValueError, match="not a valid benchmark report"):
        bench.write_report({"schema": "x"}, "/nonexistent/r.json")


def test_progress_bar_keeps_all_samples(tiny_model: dict, capsys: pytest.CaptureFixture) -> None:
    """With a tqdm progress bar the run still records exactly `runs` timings."""
    it = load_interpreter(tiny_model["path"]).interpreter
    report = bench.run_benchmark(it, model_name="tiny", model_bytes=b"x", warmup_runs=1, runs=120,
                                 progress=True)
    assert report["settings"]["runs"] == 120
    assert "benchmark tiny" in capsys.readouterr().err


def test_summarize_table(tiny_model: dict) -> None:
    """The summary table has a header and one row per report."""
    it = load_interpreter(tiny_model["path"]).interpreter
    report = bench.run_benchmark(it, model_name="tiny", model_bytes=b"x", runs=5, num_threads=None)
    lines = bench.summarize([report, report]).splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == "model" and lines[1].startswith("tiny")
