"""grader.classgen: a class of honest and hostile submissions with exact expected scores."""

from __future__ import annotations

import nbformat
import pytest

from grader.classgen import ATTACKS, KINDS, PAYLOADS, answer, build, class_kinds, payload
from grader.pipeline import REPO

LESSONS = sorted(p for p in (REPO / "lessons").iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def release_of(source):
    """The student version, as nbgrader's ClearSolutions writes it (stub in solution cells)."""
    nb = nbformat.from_dict(source)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
    return nb


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_expectations_follow_the_notebook(lesson) -> None:
    """Perfect gets every point, blank and attacks none, partial only its first sections."""
    for path in lesson.glob("*.ipynb"):
        source = nbformat.read(str(path), as_version=4)
        release = release_of(source)
        points = {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
                  for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
                  and not c.metadata["nbgrader"].get("solution")}
        assert build("perfect", source, release)[1] == points
        assert set(build("blank", source, release)[1].values()) <= {0.0}
        for kind in ATTACKS:
            nb, expected = build(kind, source, release)
            assert set(expected.values()) <= {0.0}
            nbformat.validate(nb)
        partial = build("partial", source, release, partial_k=1)[1]
        assert 0 < sum(partial.values()) < sum(points.values()) or len(points) < 2


def test_perfect_answers_are_the_solutions_without_markers() -> None:
    """The perfect student's cells hold the source solutions, markers removed."""
    assert answer("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION") == "x = 1\ny = 2"


def test_class_covers_every_kind_and_rejects_bad_sizes() -> None:
    """A class of 30 has every kind; size 0 is a ValueError naming the parameter."""
    assert set(class_kinds(30)) == set(KINDS) and len(class_kinds(30)) == 30
    with pytest.raises(ValueError, match="size"):
        class_kinds(0)
    with pytest.raises(ValueError, match="kind"):
        source = nbformat.read(str(REPO / "lessons" / "00-welcome" / "welcome.ipynb"), as_version=4)
        build("lazy", source, release_of(source))


def test_monkeypatch_targets_the_modules_the_tests_import() -> None:
    """The monkeypatching attack patches what the welcome lesson's tests import (math)."""
    source = nbformat.read(str(REPO / "lessons" / "00-welcome" / "welcome.ipynb"), as_version=4)
    nb, _ = build("monkeypatch", source, release_of(source))
    assert "'math']" in "".join(c.source for c in nb.cells)


def test_fake_values_cover_every_answer_of_the_lesson() -> None:
    """The fake-values attack assigns every answer of lesson 06, and fakes its functions."""
    source = nbformat.read(str(REPO / "lessons" / "06-quantization" / "quantization.ipynb"), as_version=4)
    nb, _ = build("fake_values", source, release_of(source))
    text = "".join(c.source for c in nb.cells)
    assert "'in_scale'" in text and "'dense1_scales'" in text
    functions = ["affine_params", "dequantize_affine", "per_channel_scales", "quantize_affine"]
    assert f"FUNCTIONS = {functions!r}" in text


def test_every_payload_file_is_a_kind_and_fills_its_values() -> None:
    """Each file in grader/payloads is used, and its placeholders are filled."""
    kinds = {p.stem for p in PAYLOADS.glob("*.py") if p.stem != "__init__"}
    assert kinds <= set(KINDS) | {"loop"}
    text = payload("fake_values", VALUES=["b", "a"], FUNCTIONS=[])
    assert "VALUES = ['a', 'b']" in text and "filled in by" not in text
