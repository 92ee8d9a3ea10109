"""grader.checker: the trusted process runs instructor code and tests on plain data only."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from grader.checker import Checker, CheckerFailed
from grader.pipeline import REPO
from grader.plain import encode


async def start(tmp_path: Path) -> Checker:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-s", "-m", "grader.checker", cwd=tmp_path, env={"PYTHONPATH": str(REPO)},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        limit=2**24)
    checker = Checker(process)
    await checker.init(frozenset({"math"}))
    return checker


def text_of(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs)


def errors(outputs: list[dict]) -> list[dict]:
    return [o for o in outputs if o["output_type"] == "error"]


async def no_calls(name: str, payload: str, deadline: float, without: tuple) -> dict:
    raise AssertionError(f"unexpected call of {name}")


def test_cells_share_a_namespace_and_only_stdout_is_kept(tmp_path: Path) -> None:
    """Instructor cells and tests share names; prints are kept, stderr and warnings never are."""
    async def main():
        checker = await start(tmp_path)
        try:
            await checker.run(0, "import math\nreference = math.sqrt(2)", {}, [], no_calls, 30)
            out = await checker.run(1, "import sys, warnings\nprint('checked', round(reference, 3))\n"
                                       "print('noise', file=sys.stderr)\nwarnings.warn('library noise')",
                                    {}, [], no_calls, 30)
            return out.outputs
        finally:
            await checker.close()
    outputs = asyncio.run(main())
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": "checked 1.414\n"}]


def test_answers_arrive_as_plain_data_and_failures_name_the_line(tmp_path: Path) -> None:
    """An answer is a plain float; a failing hidden assert gives one error output with its line,
    and a missing answer a message saying what to run."""
    async def main():
        checker = await start(tmp_path)
        try:
            passing = await checker.run(3, "assert type(x) is float and x == 0.5", {"x": encode(0.5)}, [],
                                        no_calls, 30)
            failing = await checker.run(4, "y = 1\nassert x == 0.25, 'wrong scale'", {"x": encode(0.5)}, [],
                                        no_calls, 30)
            missing = await checker.run(5, "assert answer", {}, ["answer"], no_calls, 30)
            note = json.dumps({"__unusable__": "a socket"})
            unusable = await checker.run(6, "assert thing", {"thing": note}, [], no_calls, 30)
            return passing.outputs, failing.outputs, missing.outputs, unusable.outputs
        finally:
            await checker.close()
    passing, failing, missing, unusable = asyncio.run(main())
    assert passing == []
    assert errors(failing) == [{"output_type": "error", "ename": "AssertionError", "evalue": "wrong scale",
                                "traceback": ["Cell In[5], line 2", "AssertionError: wrong scale"]}]
    assert "write your answer" in errors(missing)[0]["evalue"]
    assert "thing cannot be graded: a socket" in errors(unusable)[0]["evalue"]


def test_student_functions_are_called_back_with_plain_data(tmp_path: Path) -> None:
    """A student function is called through the grader: arguments and results are data, an
    instructor variable goes by name, a ValueError stays a ValueError."""
    calls = []

    async def on_call(name: str, payload: str, deadline: float, without: tuple) -> dict:
        args, kwargs = json.loads(payload)
        calls.append((name, args, kwargs, without))
        if args[0] == -1:
            return {"raised": ["ValueError", "negative"]}
        return {"result": encode(2.0)}

    async def main():
        checker = await start(tmp_path)
        try:
            await checker.run(0, "target = object()", {}, [], no_calls, 30)
            test = ("assert f(1, scale=0.5) == 2.0\nf(target)\n"
                    "try:\n    f(-1)\nexcept ValueError:\n    pass\n"
                    "else:\n    raise AssertionError('must raise')")
            return (await checker.run(1, test, {"f": encode(len)}, [], on_call, 30,
                                      without=("edgelab.quantize.quantize",))).outputs
        finally:
            await checker.close()
    assert asyncio.run(main()) == []
    assert calls[0] == ("f", [1], {"__dict__": [["scale", 0.5]]}, ("edgelab.quantize.quantize",))
    assert calls[1][1] == [{"__ref__": "target"}]


def test_files_are_data_and_cannot_escape_the_working_folder(tmp_path: Path) -> None:
    """Files sent in land in the checker's folder; absolute and '..' paths are ignored."""
    async def main():
        checker = await start(tmp_path)
        try:
            await checker.send_files({"report.json": b'{"p50": 1}', "../escape.txt": b"x",
                                      "/tmp/abs.txt": b"x", "sub/a.bin": b"\x00"})
            return (await checker.run(0, "import json\nprint(json.load(open('report.json'))['p50'])", {}, [],
                                      no_calls, 30)).outputs
        finally:
            await checker.close()
    assert text_of(asyncio.run(main())) == "1\n"
    assert (tmp_path / "sub" / "a.bin").read_bytes() == b"\x00"
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_student_file_cannot_shadow_a_module(tmp_path: Path) -> None:
    """The checker's working folder is not on sys.path: a module planted there is never found."""
    async def main():
        checker = await start(tmp_path)
        try:
            await checker.send_files({"json_tools_evil.py": b"raise SystemExit('imported!')"})
            return (await checker.run(0, "import importlib.util\n"
                                         "print(importlib.util.find_spec('json_tools_evil'))", {}, [],
                                      no_calls, 30)).outputs
        finally:
            await checker.close()
    assert text_of(asyncio.run(main())) == "None\n"


def test_a_checker_that_stops_is_an_environment_failure(tmp_path: Path) -> None:
    """If the checker process dies, the grader gets CheckerFailed, not a grade."""
    async def main():
        checker = await start(tmp_path)
        try:
            await checker.run(0, "import os\nos._exit(1)", {}, [], no_calls, 30)
        finally:
            await checker.close()
    with pytest.raises(CheckerFailed, match="stopped"):
        asyncio.run(main())
