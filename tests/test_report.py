"""edgelab.report: a table and a figure of size / accuracy / latency per variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgelab import bench, report
from edgelab.convert import ConvertedModel


def test_table_and_figure_for_the_four_variants(digits_variants: dict, tmp_path: Path) -> None:
    """Each variant gets a measured row (valid benchmark report) and the figure has three panels."""
    variants = {v: ConvertedModel.load(p) for v, p in digits_variants["paths"].items()}
    rows = report.compare_variants(variants, digits_variants["x_test"], digits_variants["y_test"],
                                   runs=30, warmup_runs=3)
    assert [r["variant"] for r in rows] == ["float32", "dynamic", "float16", "int8"]
    assert rows[0]["size_ratio"] == 1.0 and rows[3]["size_ratio"] <= 0.30
    assert all(bench.validate_report(r["report"]) == [] and r["accuracy"] >= 0.95 for r in rows)
    table = report.format_table(rows)
    assert len(table.splitlines()) == 5 and "int8" in table
    fig = report.plot(rows, "digits CNN")
    assert len(fig.axes) == 3
    fig.savefig(tmp_path / "variants.png")
    assert (tmp_path / "variants.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="variants is empty"):
        report.compare_variants({})
