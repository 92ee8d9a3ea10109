"""edgelab.device_results: a class's device reports, checked and tabled by device and variant."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgelab import bench, device_report, device_results

HONEST = {"pi5": "Raspberry Pi 5 Model B", "pi4": "Raspberry Pi 4 Model B", "emulated": "emulated aarch64",
          "simulated": "simulated raspberry-pi-4"}


@pytest.fixture(scope="module")
def generated_class(tiny_model: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A generated class whose students submit the tiny model as float32 and its dynamic-range variant."""
    folder = tmp_path_factory.mktemp("class")
    models = {"float32": tiny_model["path"].read_bytes(), "dynamic": tiny_model["dynamic_path"].read_bytes()}
    plan = device_results.example_class(folder, models, seed=3)
    return {"folder": folder, "plan": plan, "results": device_results.collect(folder, lesson=None)}


def test_every_generated_report_is_a_valid_benchmark_report(generated_class: dict) -> None:
    """The generated reports follow the edgelab.benchmark/1 schema (they exercise the real checks)."""
    paths = sorted(generated_class["folder"].glob("*/device_report_*.json"))
    assert len(paths) == 2 * len(generated_class["plan"]) == 32
    for path in paths:
        assert bench.validate_report(json.loads(path.read_text())) == [], path


def test_inconsistent_reports_are_flagged_each_for_its_reason(generated_class: dict) -> None:
    """A 'real Pi' with an x86 CPU, a p50 under the Pi's peak, a model nobody built and a fake Pi 4
    are flagged with their reason; honest real, emulated and simulated reports are not."""
    plan, results = generated_class["plan"], generated_class["results"]
    reasons = {"x86-claims-pi": ["its CPU is x86_64 (not ARM)"],
               "too-fast": ["faster than a raspberry-pi-5 can possibly run this model"],
               "foreign-model": [device_results.NO_MATCH],
               "fake-pi4": ["it has 2 CPU cores; a Raspberry Pi 4 has 4", "25.0 GiB of memory",
                            "no device tree"]}
    for entry in results.entries:
        what = plan[entry.student]
        if what in reasons:
            assert not entry.counted, (what, entry)
            for reason in reasons[what]:
                assert any(reason in flag for flag in entry.flags), (what, reason, entry.flags)
        else:
            assert entry.counted and entry.flags == [], (what, entry)
            assert entry.device.startswith(HONEST[what]), (what, entry)
    assert len(results.flagged) == 2 * len(reasons)


def test_kinds_and_summary_count_students(generated_class: dict) -> None:
    """Real devices are counted by student (4 Pi 5 + 3 Pi 4), apart from emulated and simulated ones."""
    results = generated_class["results"]
    assert results.real_devices() == 7
    assert results.summary() == ("16 students, 32 device reports: 7 on a real device, 2 on an emulated ARM "
                                 "root, 3 on a simulated Pi; 8 flagged; 0 without a report")
    kinds = {e.kind for e in results.entries if e.counted}
    assert kinds == {device_report.REAL, device_report.EMULATED, device_report.SIMULATED}


def test_table_groups_by_device_and_variant_with_medians(generated_class: dict) -> None:
    """Each row is the median p50 and p95 (from the raw timings) and the mean accuracy of its reports."""
    results = generated_class["results"]
    rows = device_results.table(results)
    assert [r.kind for r in rows] == sorted((r.kind for r in rows), key=device_results.KIND_ORDER.get)
    pi5 = next(r for r in rows if r.device == "Raspberry Pi 5 Model B" and r.variant == "float32")
    mine = [e for e in results.entries if e.counted and e.device == pi5.device and e.variant == "float32"]
    assert pi5.reports == pi5.students == 4 == len(mine)
    assert pi5.p50_ms == pytest.approx(float(np.median([e.p50_ms for e in mine])))
    assert pi5.accuracy == pytest.approx(float(np.mean([e.accuracy for e in mine])))
    folder = generated_class["folder"]
    report = json.loads((folder / mine[0].student / "device_report_float32.json").read_text())
    assert mine[0].p95_ms == pytest.approx(float(np.percentile(report["samples_ms"], 95)))
    assert pi5.p95_ms == pytest.approx(float(np.median([e.p95_ms for e in mine])))
    only = device_results.table(results, variant="dynamic", kind="simulated")
    assert [(r.device, r.variant, r.reports) for r in only] == [("simulated raspberry-pi-4", "dynamic", 3)]
    html = device_results.table_html(rows)
    assert html.count("<tr>") == len(rows) + 1 and "SIMULATED (an estimate)" in html
    assert "no report counts" in device_results.table_html([])


def test_collect_reads_the_lesson_folder_of_each_submission(tiny_model: dict, tmp_path: Path) -> None:
    """In nbgrader's layout (<student>/<lesson>/) a student without a report is listed, an unreadable
    report is flagged, and a folder that is not there is a clear error."""
    models = {"float32": tiny_model["path"].read_bytes()}
    device_results.example_class(tmp_path / "submitted", models, lesson=device_results.LESSON)
    (tmp_path / "submitted" / "late" / device_results.LESSON).mkdir(parents=True)
    broken = tmp_path / "submitted" / "student01" / device_results.LESSON / "device_report_int8.json"
    broken.write_text("{not json")
    results = device_results.collect(tmp_path / "submitted")
    assert results.without_reports == ["late"]
    bad = next(e for e in results.entries if e.file == broken.name)
    assert not bad.counted and "not JSON" in bad.problems[0]
    with pytest.raises(ValueError, match="folder must be a folder of submissions"):
        device_results.collect(tmp_path / "nothing")


def test_dashboard_reacts_to_its_menus(generated_class: dict) -> None:
    """The dashboard's table follows the variant and device-kind menus; flagged reports are listed."""
    box = device_results.dashboard(generated_class["folder"], lesson=None)
    everything = list(box.result)
    box.controls["variant"].value = "dynamic"
    assert box.result and all(r.variant == "dynamic" for r in box.result)
    assert len(box.result) < len(everything)
    box.controls["measured by"].value = "real"
    assert {r.kind for r in box.result} == {"real"}
    assert "edgelab-device-flags" in box.children[-1].value and "x86_64" in box.children[-1].value


def test_dashboard_ignores_forged_widget_state(generated_class: dict) -> None:
    """What a page sends beyond a menu choice (new options, a rewritten table) is ignored in the kernel."""
    box = device_results.dashboard(generated_class["folder"], lesson=None)
    menu, view = box.controls["variant"], box.children[2]
    shown = view.value
    menu.set_state({"_options_labels": ["forged"], "description": "forged"})
    view.set_state({"value": "<script>alert(1)</script>"})
    assert menu.description == "variant" and "forged" not in menu.options
    assert view.value == shown


@pytest.mark.slow
def test_the_class_results_page_in_a_browser(tiny_model: dict, tmp_path: Path) -> None:
    """Served by Voila for a generated class (nbgrader's layout, EDGELAB_CLASS_RESULTS), the page
    shows real, emulated and simulated rows, the flagged reports with their reasons, and its table
    follows the variant menu, without JavaScript errors or error outputs."""
    from browser import CHROMIUM, SCREENSHOTS, chromium, close, open_demo, voila_server
    from conftest import require

    require(Path(CHROMIUM).exists(), "Debian chromium (/usr/bin/chromium)")
    models = {"float32": tiny_model["path"].read_bytes(), "dynamic": tiny_model["dynamic_path"].read_bytes()}
    device_results.example_class(tmp_path / "submitted", models, lesson=device_results.LESSON)
    env = {device_results.CLASS_ENV: str(tmp_path / "submitted")}
    with voila_server(env=env) as server, chromium() as browser:
        page, errors, _ = open_demo(browser, f"{server.url}/voila/render/device_results.ipynb")
        table = page.locator(".edgelab-device-results")
        before = table.inner_text()
        for row in ("Raspberry Pi 5 Model B", "Raspberry Pi 4 Model B", "emulated aarch64",
                    "simulated raspberry-pi-4", "float32", "dynamic"):
            assert row in before, row
        assert "7 on a real device" in page.locator(".edgelab-device-summary").inner_text()
        flags = page.locator(".edgelab-device-flags").inner_text()
        assert "its CPU is x86_64" in flags and "matches no model in the submission" in flags
        page.locator("select").first.select_option("dynamic")
        page.wait_for_function("old => document.querySelector('.edgelab-device-results').innerText !== old",
                               arg=before, timeout=20_000)
        after = table.inner_text()
        assert "dynamic" in after and "float32" not in after
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "device-results.png"), full_page=True)
        assert "Traceback" not in page.inner_text("body") and errors == [], errors
        close(page)


def test_dashboard_without_a_class_or_demo_models_says_how_to_build_them(tmp_path: Path, monkeypatch) -> None:
    """With no class folder and no demo models, the page is one line naming the build command."""
    monkeypatch.delenv(device_results.CLASS_ENV, raising=False)
    monkeypatch.setenv("EDGELAB_DEMO_ARTIFACTS", str(tmp_path / "none"))
    page = device_results.dashboard()
    assert "class='edgelab-missing'" in page.value and "python -m edgelab.artifacts" in page.value
