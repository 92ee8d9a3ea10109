"""The checker: the trusted process that runs a lesson's tests, and the grader's handle on it.

The checker runs in its own sandbox, apart from the student's kernel. It executes only
instructor code from the *source* notebook: the instructor cells the tests need (see
:func:`grader.cells.plan`) and the test cells with their hidden tests. Before each cell the
grader hands it the student's answers that cell reads, as plain data (:mod:`grader.plain`);
a student's function becomes a :class:`StudentFunction` whose calls travel back through
the grader to the student's kernel and return plain data. Nothing the student's code does
can reach the checker's objects, modules or outputs, and the hidden tests never enter the
student's kernel, its history or its outputs.

A test cell's outputs are built here: what it printed (stdout only: warnings and library
log lines never make a check fail) and, if it raised, one error output naming the line, so
a test passes exactly when its code runs to the end.

Protocol: JSON lines. The grader writes ``init``, ``files`` and ``run`` requests on the
checker's stdin; the checker answers each on its stdout, and while a cell runs it may first
send ``call`` requests, each answered by one line.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import io
import json
import os
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from grader.plain import Decoder, PlainDataError, encode, raised, unusable_reason

MAX_STDOUT = 100_000
LINE_LIMIT = 128 * 2**20  # one protocol line (a cell's answers) at most


# --------------------------------------------------------------------------- inside the checker

class StudentFunction:
    """A student's function, called through the grader: plain data in, plain data out."""

    def __init__(self, name: str, checker: _CheckerProcess) -> None:
        self.name = name
        self._checker = checker

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._checker.call(self.name, list(args), kwargs)

    def __repr__(self) -> str:
        return f"<your function {self.name}>"


class _CheckerProcess:
    """The state of the checker process: its namespace and its line to the grader."""

    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader, self.writer = reader, writer
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.modules: frozenset[str] = frozenset()
        self.unusable: dict[str, str] = {}
        self.missing: set[str] = set()
        self.without: tuple[str, ...] = ()  # library functions the student's functions run without

    def send(self, message: dict) -> None:
        self.writer.write(json.dumps(message) + "\n")
        self.writer.flush()

    def receive(self) -> dict:
        line = self.reader.readline()
        if not line:
            raise SystemExit(0)
        return json.loads(line)

    def ref(self, value: Any) -> str | None:
        """The public instructor variable holding ``value``, passed to a student's function by name."""
        return next((k for k, v in self.namespace.items() if v is value and not k.startswith("_")), None)

    def call(self, name: str, args: list, kwargs: dict) -> Any:
        self.send({"op": "call", "name": name, "payload": encode([args, kwargs], refs=self.ref),
                   "without": list(self.without)})
        reply = self.receive()
        if "raised" in reply:
            kind, message = reply["raised"]
            raise raised(str(kind), str(message))
        if "result" not in reply:
            raise RuntimeError(f"{name}(...) gave no result: {str(reply.get('error', ''))[:300]}")
        reason = unusable_reason(reply["result"])
        try:
            if reason is None:
                return Decoder(modules=self.modules).decode(reply["result"])
        except PlainDataError as exc:
            reason = str(exc)
        raise TypeError(f"{name}(...) returned something the grader cannot take as data: {reason}")

    def bind_answers(self, answers: dict[str, str], missing: list[str]) -> None:
        """Put the student's answers (JSON text by name) into the namespace; forget missing ones."""
        for name in missing:
            self.namespace.pop(name, None)
            self.missing.add(name)
            self.unusable.pop(name, None)
        for name, text in answers.items():
            self.missing.discard(name)
            self.unusable.pop(name, None)
            decoder = Decoder(modules=self.modules,
                              function=lambda _qualname, n=name: StudentFunction(n, self))
            reason = unusable_reason(text)
            try:
                value = decoder.decode(text) if reason is None else None
            except PlainDataError as exc:
                reason = str(exc)
            if reason is not None:
                self.namespace.pop(name, None)
                self.unusable[name] = str(reason)[:300]
            else:
                self.namespace[name] = value

    def write_files(self, files: dict[str, str]) -> None:
        """Write the student's files (base64 by relative path) into the working folder."""
        for rel, data in files.items():
            parts = rel.replace("\\", "/").split("/")
            if rel.startswith("/") or ".." in parts or not all(parts):
                continue
            path = os.path.join(*parts)
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(base64.b64decode(data))

    def run(self, index: int, source: str) -> list[dict]:
        """Execute one cell in the namespace; its outputs as nbformat dictionaries."""
        filename = f"<cell {index}>"
        out, err = io.StringIO(), io.StringIO()
        outputs: list[dict] = []
        try:
            code = compile(source, filename, "exec")
            with redirect_stdout(out), redirect_stderr(err):
                exec(code, self.namespace)  # noqa: S102 -- instructor code from the source notebook
        except BaseException as exc:  # noqa: BLE001 -- any failure fails the cell, nothing escapes
            outputs.append(self.error_output(exc, filename, index))
        text = out.getvalue()
        if text:
            if len(text) > MAX_STDOUT:
                text = text[:MAX_STDOUT] + "\n[output truncated by the grader]\n"
            outputs.insert(0, {"output_type": "stream", "name": "stdout", "text": text})
        return outputs

    def error_output(self, exc: BaseException, filename: str, index: int) -> dict:
        ename, evalue = type(exc).__name__, str(exc)
        if isinstance(exc, NameError) and getattr(exc, "name", None) in self.unusable:
            evalue = f"{exc.name} cannot be graded: {self.unusable[exc.name]}"
        elif isinstance(exc, NameError) and getattr(exc, "name", None) in self.missing:
            evalue = (f"name '{exc.name}' is not defined: write your answer in the exercise's cell "
                      "and run it before this check")
        frames = traceback.extract_tb(exc.__traceback__)
        lines = [frame.lineno for frame in frames if frame.filename == filename]
        where = [f"Cell In[{index + 1}], line {lines[-1]}"] if lines else []
        return {"output_type": "error", "ename": ename, "evalue": evalue[:2000],
                "traceback": where + [f"{ename}: {evalue[:2000]}"]}


def main() -> int:
    """The checker process: answer the grader's requests until it closes the line."""
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]  # the student's files are data only
    reader = os.fdopen(os.dup(0), "r", encoding="utf-8")
    writer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # C libraries and stray writes must not reach the protocol
        os.dup2(null, fd)
    sys.stdin = io.StringIO()
    checker = _CheckerProcess(reader, writer)
    while True:
        try:
            message = checker.receive()
        except SystemExit:
            return 0
        op = message.get("op")
        if op == "init":
            checker.modules = frozenset(message.get("modules", []))
            checker.send({"ok": True})
        elif op == "files":
            checker.write_files(message.get("files", {}))
            checker.send({"ok": True})
        elif op == "run":
            checker.bind_answers(message.get("answers", {}), message.get("missing", []))
            checker.without = tuple(str(n) for n in message.get("without", []))
            checker.send({"done": True, "outputs": checker.run(int(message["index"]), message["source"])})
        else:
            checker.send({"error": f"unknown request {op!r}"})


# --------------------------------------------------------------------------- the grader's side

class CheckerFailed(RuntimeError):
    """The checker stopped, or an instructor cell ran past its time: an environment problem."""


OnCall = Callable[[str, str, float, tuple], Awaitable[dict]]


@dataclass
class CellOutcome:
    """A cell the checker ran: its outputs and how long it took."""

    outputs: list[dict]
    seconds: float

    @property
    def failed(self) -> bool:
        return any(o.get("output_type") == "error" for o in self.outputs)


class Checker:
    """The grader's handle on a running checker process (started by the sandbox)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._stderr = b""
        self._drain = asyncio.ensure_future(self._read_stderr())

    async def _read_stderr(self) -> None:
        if self.process.stderr is None:
            return
        while chunk := await self.process.stderr.read(4096):
            self._stderr = (self._stderr + chunk)[-4000:]

    def _why(self) -> str:
        text = self._stderr.decode(errors="replace").strip()
        return f"; it said: {text[-1500:]}" if text else ""

    async def _send(self, message: dict) -> None:
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            await self.process.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise CheckerFailed(f"the checker stopped ({exc}){self._why()}") from None

    async def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=max(remaining, 0.01))
        except asyncio.TimeoutError:
            raise CheckerFailed("the checker ran past the cell time limit") from None
        except ValueError as exc:  # a line over the limit
            raise CheckerFailed(f"the checker sent an oversized line ({exc})") from None
        if not line:
            await asyncio.sleep(0.1)
            raise CheckerFailed(f"the checker stopped{self._why()}")
        return json.loads(line)

    async def _request(self, message: dict, seconds: float) -> dict:
        await self._send(message)
        return await self._receive(time.monotonic() + seconds)

    async def init(self, modules: frozenset[str], seconds: float = 60) -> None:
        """Tell the checker which modules a student's module answer may name."""
        await self._request({"op": "init", "modules": sorted(modules)}, seconds)

    async def send_files(self, files: dict[str, bytes], seconds: float = 60) -> None:
        """Copy files (bytes by relative path) into the checker's working folder."""
        if files:
            encoded = {rel: base64.b64encode(data).decode() for rel, data in files.items()}
            await self._request({"op": "files", "files": encoded}, seconds)

    async def run(self, index: int, source: str, answers: dict[str, str], missing: list[str],
                  on_call: OnCall, seconds: float, without: tuple[str, ...] = ()) -> CellOutcome:
        """Run one cell; answer its calls of student functions with ``on_call(name, payload,
        deadline, without)`` (``without``: the library functions those calls run without). Past
        ``seconds`` every further call is refused (the test then fails); a checker that does not
        finish a few seconds after that has stopped working."""
        start = time.monotonic()
        deadline = start + seconds
        await self._send({"op": "run", "index": index, "source": source, "answers": answers,
                          "missing": missing, "without": list(without)})
        while True:
            message = await self._receive(max(deadline, time.monotonic()) + 15)
            if message.get("op") == "call":
                if time.monotonic() >= deadline:
                    reply = {"raised": ["TimeoutError", f"the checks ran longer than {seconds:g} s"]}
                else:
                    refused = tuple(str(n) for n in message.get("without", []))
                    reply = await on_call(str(message.get("name")), str(message.get("payload")), deadline,
                                          refused)
                await self._send(reply)
            elif message.get("done"):
                return CellOutcome(outputs=list(message.get("outputs", [])), seconds=time.monotonic() - start)
            else:
                raise CheckerFailed(f"unexpected message from the checker: {str(message)[:200]}")

    async def close(self) -> None:
        """Stop the checker process."""
        if self.process.returncode is None:
            try:
                self.process.stdin.close()
                await asyncio.wait_for(self.process.wait(), timeout=5)
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                pass
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._drain.cancel()


if __name__ == "__main__":
    sys.exit(main())
