"""The student's kernel: an IPython kernel in a bubblewrap sandbox, driven by nbclient.

The kernel runs the submission's cells, except its test cells (those run in the checker,
:mod:`grader.checker`). Its outputs are capped (a flood is cut, errors are kept). Answers
leave it only through ``user_expressions``: :func:`grader.plain.export` of each name,
:func:`grader.plain.call` of a student function, :func:`grader.plain.changed_files`; the
grader reads the text that comes back as data, whatever the kernel did to those helpers.
Interrupts travel as messages (the kernel is in its own session, out of reach of signals).
"""

from __future__ import annotations

import ast
import asyncio
import os
import time
from dataclasses import dataclass, field
from queue import Empty
from typing import Any, Callable

TRUNCATED = "\n[output truncated by the grader: {} bytes dropped]\n"


@dataclass
class KernelSandbox:
    """How to start the kernel: the command wrapper, and what the process needs before exec."""

    wrap: Callable[[list[str], dict[str, int]], list[str]]  # (kernel argv, fds) -> sandboxed argv
    open_files: Callable[[], dict[str, int]]  # opens the files to copy into the sandbox, by path
    preexec: Callable[[], None]  # joins the job's cgroups, sets rlimits (runs in the child)
    connection_file: str
    ipc_prefix: str
    owner: tuple[int, int] | None = None  # (uid, gid) the kernel runs as, when not ours
    fds: dict[str, int] = field(default_factory=dict)


def _manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        """A kernel manager whose kernel starts in the sandbox and is interrupted by message."""

        sandbox: KernelSandbox | None = None

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return self.sandbox.wrap(super().format_kernel_cmd(extra_arguments), self.sandbox.fds)

        def write_connection_file(self, **kwargs: Any) -> None:
            super().write_connection_file(**kwargs)
            if self.sandbox.owner is not None:
                os.chown(self.connection_file, *self.sandbox.owner)

    return SandboxKernelManager


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """nbclient with capped outputs and the sandboxed kernel manager."""

        sandbox: KernelSandbox | None = None
        cell_limit = 100_000
        remaining = 1_000_000
        cell_bytes = 0
        dropped = 0

        def create_kernel_manager(self):
            km = _manager_class()(kernel_name="python3", transport="ipc", ip=self.sandbox.ipc_prefix,
                                  connection_file=self.sandbox.connection_file)
            spec = km.kernel_spec_manager.get_kernel_spec("python3")
            spec.interrupt_mode = "message"
            km._kernel_spec = spec
            km.sandbox = self.sandbox
            self.km = km
            return km

        def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001 -- nbclient's signature
            """Keep outputs up to the byte budgets; past them drop text, but keep (shortened) what
            tells a cell failed: errors, stderr and results."""
            content = msg.get("content", {})
            size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
            size += len(str(content.get("traceback", "")))
            if self.cell_bytes + size > min(self.cell_limit, self.remaining):
                keep = msg["msg_type"] in ("error", "execute_result") or content.get("name") == "stderr"
                self.dropped += size
                if not keep:
                    return None
                if "text" in content:
                    content["text"] = str(content["text"])[:1000]
                if "traceback" in content:
                    content["traceback"] = [str(line)[:1000] for line in content["traceback"][-5:]]
                if "data" in content:
                    content["data"] = {"text/plain": str(content["data"].get("text/plain", ""))[:1000]}
            self.cell_bytes += size
            self.remaining -= size
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


class KernelGone(RuntimeError):
    """The kernel died or stopped answering."""


class StudentKernel:
    """One submission's kernel, restartable, with capped outputs."""

    def __init__(self, nb: Any, sandbox: KernelSandbox, cell_seconds: float, cell_bytes: int,
                 notebook_bytes: int, workdir: str) -> None:
        self.client = _client_class()(
            nb, timeout=int(cell_seconds), allow_errors=True, interrupt_on_timeout=True,
            startup_timeout=120, kernel_name="python3", shutdown_kernel="immediate",
            error_on_timeout={"ename": "CellTimeoutError",
                              "evalue": f"cell ran longer than {cell_seconds:g} s",
                              "traceback": [f"CellTimeoutError: cell ran longer than {cell_seconds:g} s"]},
            iopub_timeout=10, raise_on_iopub_timeout=False, resources={"metadata": {"path": workdir}})
        self.client.sandbox = sandbox
        self.client.cell_limit = cell_bytes
        self.client.remaining = notebook_bytes
        self.client.on_cell_executed = self._on_cell_executed
        self.sandbox = sandbox
        self.cell_seconds = cell_seconds
        self.helper = ""

    async def start(self, helper: str) -> None:
        """Start a fresh kernel and import the data helper under the name ``helper``."""
        client = self.client
        client.km = client.create_kernel_manager()
        self.sandbox.fds = self.sandbox.open_files()
        try:
            await client.async_start_new_kernel(cwd="/", stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL,
                                                pass_fds=tuple(self.sandbox.fds.values()),
                                                preexec_fn=self.sandbox.preexec)
        finally:
            for fd in self.sandbox.fds.values():
                os.close(fd)
            self.sandbox.fds = {}
        await client.async_start_new_kernel_client()
        reply = await self._request({"code": f"import grader.plain as {helper}"}, 60)
        if reply.get("status") != "ok":
            raise KernelGone(f"the kernel could not import the grader's data helper: {reply.get('evalue')}")
        self.helper = helper

    async def stop(self) -> None:
        """Shut the kernel down (now)."""
        if self.client.km is not None:
            try:
                await self.client._async_cleanup_kernel()
            except Exception:  # noqa: BLE001 -- already gone
                pass

    async def alive(self) -> bool:
        km = self.client.km
        return km is not None and bool(await _ensure(km.is_alive()))

    async def execute(self, cell: Any, index: int) -> None:
        """Execute one cell (outputs capped); raises :class:`KernelGone` if the kernel died, or
        if the cell ran past its time and the kernel did not come back after the interrupt."""
        self.client.cell_bytes = self.client.dropped = 0
        try:
            await self.client.async_execute_cell(cell, index, execution_count=index + 1)
        except asyncio.CancelledError:
            _reraise_if_cancelled()
            raise KernelGone("the kernel was stopped") from None
        except Exception as exc:  # noqa: BLE001 -- DeadKernelError and friends
            raise KernelGone(f"{type(exc).__name__}: {exc}") from None
        if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            try:
                await self._request({"code": ""}, 5)
            except (KernelGone, TimeoutError):
                raise KernelGone("the cell ran past its time and ignored the interrupt") from None
        if self.client.dropped:
            from nbformat.v4 import new_output

            note = TRUNCATED.format(self.client.dropped)
            cell.outputs.append(new_output("stream", name="stdout", text=note))

    def _on_cell_executed(self, cell: Any, cell_index: int, execute_reply: dict) -> None:
        """An error reply with no error output (a swallowed traceback) still counts as an error."""
        from nbformat.notebooknode import NotebookNode

        content = (execute_reply or {}).get("content", {})
        if content.get("status") == "error" and not any(o.output_type == "error" for o in cell.outputs):
            cell.outputs.append(NotebookNode(output_type="error", ename=content.get("ename", "Error"),
                                             evalue=content.get("evalue", ""),
                                             traceback=content.get("traceback") or []))

    async def expressions(self, expressions: dict[str, str], seconds: float) -> dict[str, tuple[bool, str]]:
        """Evaluate ``expressions`` (name -> Python expression) in the kernel's namespace; for
        each, (ok, text): the text of a string result, or the error's name and message."""
        reply = await self._request({"code": "", "user_expressions": expressions}, seconds)
        results = reply.get("user_expressions") or {}
        out: dict[str, tuple[bool, str]] = {}
        for key in expressions:
            result = results.get(key) or {}
            if result.get("status") == "ok":
                out[key] = (True, _string_result(result.get("data", {}).get("text/plain", "")))
            else:
                out[key] = (False, f"{result.get('ename', 'Error')}: {str(result.get('evalue', ''))[:500]}")
        return out

    async def _request(self, content: dict, seconds: float) -> dict:
        """Send a silent execute request and wait for its reply; interrupt past ``seconds``,
        and give up (KernelGone) if the kernel does not answer the interrupt."""
        kc = self.client.kc
        if kc is None:
            raise KernelGone("no kernel")
        msg_id = kc.execute(content.get("code", ""), silent=True, store_history=False,
                            user_expressions=content.get("user_expressions"), allow_stdin=False)
        deadline = time.monotonic() + seconds
        interrupted = False
        while True:
            try:
                msg = await _ensure(kc.shell_channel.get_msg(timeout=0.5))
            except asyncio.CancelledError:
                _reraise_if_cancelled()
                raise KernelGone("the kernel was stopped") from None
            except Empty:
                if not await self.alive():
                    raise KernelGone("the kernel died") from None
                if time.monotonic() > deadline:
                    if interrupted:
                        raise KernelGone(f"the kernel did not answer within {seconds:g} s") from None
                    await _ensure(self.client.km.interrupt_kernel())
                    interrupted, deadline = True, time.monotonic() + 10
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                content = msg.get("content", {})
                if interrupted and content.get("status") != "ok":
                    raise TimeoutError(f"it ran longer than {seconds:g} s")
                return content


def _reraise_if_cancelled() -> None:
    """A CancelledError from a channel that :meth:`StudentKernel.stop` closed is the kernel going
    away; one aimed at this task (it is being cancelled) must go on up."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


def _string_result(text: str) -> str:
    """The string a user expression returned (its repr comes back as text/plain)."""
    if not isinstance(text, str) or text[:1] not in ("'", '"', "("):
        return ""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return ""
    return value if isinstance(value, str) else ""


async def _ensure(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
