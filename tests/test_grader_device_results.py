"""grader.device_results: the class's device reports of lesson 08 for the instructor (text and HTML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgelab import device_results
from grader import device_results as grader_results


def test_report_device_results_summarises_and_writes_the_page(tiny_model: dict, tmp_path: Path) -> None:
    """With device reports in submitted/<student>/<lesson>/, the report names the counts, one line
    per device and variant, and each flagged report; the HTML page holds the table and the flags."""
    lesson = device_results.LESSON
    models = {"float32": tiny_model["path"].read_bytes()}
    device_results.example_class(tmp_path / "submitted", models, lesson=lesson)
    text = grader_results.report_device_results(lesson, tmp_path, html_path=tmp_path / "results.html")
    lines = text.splitlines()
    assert lines[0] == ("device results: 16 students, 16 device reports: 7 on a real device, 2 on an "
                        "emulated ARM root, 3 on a simulated Pi; 4 flagged; 0 without a report")
    assert sum(line.startswith("  FLAGGED ") for line in lines) == 4
    assert any(line.strip().startswith("Raspberry Pi 5 Model B") and "float32" in line for line in lines)
    assert lines[-1] == str(tmp_path / "results.html")
    page = (tmp_path / "results.html").read_text()
    assert "class='edgelab-device-results'" in page and "its CPU is x86_64" in page


def test_no_device_reports_means_no_section(tmp_path: Path) -> None:
    """A lesson whose submissions hold no device report adds nothing to the class report; a course
    without submissions is a clear error when asked directly."""
    (tmp_path / "submitted" / "alice" / "02-latency").mkdir(parents=True)
    assert grader_results.report_device_results("02-latency", tmp_path) == ""
    with pytest.raises(ValueError, match="no submissions in"):
        grader_results.class_results(device_results.LESSON, tmp_path / "elsewhere")
