"""The device agent: stand-alone (no edgelab, Python >= 3.9) and its atomic `current` switch."""

from __future__ import annotations

import ast
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading

from conftest import require

from edgelab import deploy
from edgelab.deploy.releases import AGENT_FILES


def test_shipped_files_need_no_edgelab_and_parse_as_python_3_9() -> None:
    """agent.py, bench.py and collect.py parse with Python 3.9's grammar and never import edgelab."""
    for name, path in AGENT_FILES.items():
        tree = ast.parse(path.read_text(), filename=name, feature_version=(3, 9))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert "edgelab" not in imported, name
        outside = imported - set(sys.stdlib_module_names) - {"numpy", "bench", "collect", "ai_edge_litert",
                                                               "tflite_runtime", "tqdm"}
        assert not outside, f"{name} imports {outside}"


def test_agent_runs_on_python_3_9_without_numpy(tmp_path) -> None:
    """On a bare Python 3.9 the agent reports the device and says what is missing."""
    found = sorted(glob.glob("/root/.pyenv/versions/3.9*/bin/python3.9")) or \
        [p for p in [shutil.which("python3.9")] if p]
    require(bool(found), "a Python 3.9 interpreter (pyenv's 3.9 on this machine image)")
    sim = deploy.simulated_target("raspberry-pi-4", scale=1.0, home=tmp_path, python=found[0])
    info = sim.info()
    assert info["python"].startswith("3.9.") and info["runtime"] is None
    assert "pip install numpy ai-edge-litert" in info["runtime_error"]


def load_agent():
    spec = importlib.util.spec_from_file_location("edgelab_device_agent", AGENT_FILES["agent.py"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_switch_is_atomic_for_readers(tmp_path) -> None:
    """While `current` flips 300 times between two releases, a reader never finds it missing."""
    agent = load_agent()
    device = agent.Device(str(tmp_path / "dev"))
    for sha in ("a" * 64, "b" * 64):
        (device.releases / sha).mkdir()
        (device.releases / sha / "model.tflite").write_bytes(sha.encode())
    device.switch("a" * 64)
    done, misses, reads = threading.Event(), [0], [0]

    def reader() -> None:
        path = device.current_link / "model.tflite"
        while not done.is_set():
            reads[0] += 1
            if not os.path.exists(path):
                misses[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(300):
        device.switch(("a" if i % 2 else "b") * 64)
    done.set()
    thread.join()
    assert reads[0] > 0 and misses[0] == 0
    assert os.readlink(device.current_link) == os.path.join("releases", "a" * 64)
    assert not [p for p in device.root.iterdir() if p.name.endswith(".tmp")]


def test_stalled_upload_gives_up_and_leaves_no_release(tmp_path) -> None:
    """An upload whose link goes silent (no EOF) ends after --idle-timeout; nothing is kept."""
    data = os.urandom(50_000)
    sha = hashlib.sha256(data).hexdigest()
    argv = [sys.executable, str(AGENT_FILES["agent.py"]), "--root", str(tmp_path / "dev"), "receive",
            "--sha256", sha, "--size", str(len(data)), "--idle-timeout", "0.5"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    proc.stdin.write(data[:20_000])
    proc.stdin.flush()
    out = proc.stdout.read()  # stdin stays open: the agent must give up by itself
    proc.stdin.close()
    answer = json.loads(out.decode().splitlines()[-1])
    assert proc.wait(timeout=10) == 2 and answer["kind"] == "upload-incomplete"
    assert "stalled" in answer["error"] and "20000 of 50000" in answer["error"]
    assert not list((tmp_path / "dev" / "releases").iterdir())
    assert not list((tmp_path / "dev" / "incoming").iterdir())
