"""Admission limits for the demo gallery's Voila (loaded by voila.py in this folder).

Every visit to ``/voila/render/...`` starts a kernel that runs the notebook (seconds of CPU),
so the server decides, before starting one, whether it can afford it:

* per client address: one page loading at a time, and at most ``client_burst`` renders
  at once, then one more every ``client_refill_s`` seconds (429 "too many pages");
* in all: at most ``max_renders`` notebooks executing at once (default: one less than the CPU
  count, at least one, so a core stays free for visitors already on a page); a visit past
  that waits up to ``queue_wait_s`` seconds for a turn, at most ``max_waiting`` waiting; the
  client that asked for fewest pages in the last 10 minutes goes first (ties: the latest to
  arrive, so a visitor arriving during a flood is not queued behind it); past those, or when
  a better-placed visit takes its place, a 503 "busy" page;
* a client that asked for ``flood_requests`` pages or more in the last ``flood_window_s``
  seconds is *flooding*: a render of it gives way to a waiting visit of a client that is not
  (its kernel is killed and its page ends), and waits for ``page_load_s`` seconds after such a
  visitor's page was served (its widgets come up in the browser meanwhile, talking to the
  kernel), so a visitor neither waits behind a script nor shares the CPU with it while the page
  comes up;
* at most ``max_kernels`` kernels alive (default 4 per CPU): a kernel whose page was served
  but whose browser never connected is *unclaimed* (a script, a crawler) and is shut down
  ``unclaimed_after_s`` seconds after its page was served, at once when room is needed.

The 429 and 503 pages say when to retry (``Retry-After``) and reload themselves then. A visit
is admitted (or refused) when the request is being authenticated (:class:`DemoIdentityProvider`),
before Voila reads the notebook or builds the page: a refusal costs the server almost nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import html
import inspect
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Optional

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import Finish
from traitlets import Float, Int, default
from voila.handler import VoilaHandler

BUSY_PAGE = Template((Path(__file__).resolve().parent / "busy.html").read_text())
BUSY = "Many people are loading demos right now."
PREEMPT_AFTER_S = 0.2  # a waiting visit checks for a flooding render to replace this much later
RANK_WINDOW_S = 600.0  # requests counted when ranking waiting clients
_CURRENT = contextvars.ContextVar("edgelab_demo_render", default=None)


class Refused(Exception):
    """A visit the server will not render now: ``status`` 429 or 503, retry after ``seconds``."""

    def __init__(self, status: int, message: str, seconds: int) -> None:
        super().__init__(message)
        self.status, self.seconds = status, max(1, int(seconds))


@dataclass(eq=False)
class Visit:
    """One request to render a notebook, from admission until its response is finished."""

    client: str
    handler: Any
    arrived: float
    kernel_id: Optional[str] = None
    turn: Optional[asyncio.Future] = None  # set while waiting for a render slot
    preempted: bool = False  # gave way to a visit of a client that is not flooding


@dataclass
class Client:
    """Render tokens and recent requests of one client address."""

    tokens: float
    updated: float
    requests: list = field(default_factory=list)  # times it asked for a page, last RANK_WINDOW_S


def refuse_page(handler: Any, refused: Refused) -> Finish:
    """Set ``handler``'s status and Retry-After for ``refused``; the Finish to raise with the page."""
    handler.set_status(refused.status)
    handler.set_header("Retry-After", str(refused.seconds))
    handler.set_header("Content-Type", "text/html; charset=UTF-8")
    return Finish(BUSY_PAGE.substitute(message=html.escape(str(refused)), seconds=refused.seconds))


class DemoKernelManager(AsyncMappingKernelManager):
    """Voila's kernel manager with the admission limits above (configure it on the command line,
    e.g. ``--DemoKernelManager.max_kernels=8``)."""

    max_kernels = Int(config=True, help="kernels alive at most (default 4 per CPU)")
    max_renders = Int(config=True, help="notebooks executing at once (default CPUs - 1, at least 1)")
    max_waiting = Int(8, config=True, help="visits waiting for a render slot at most")
    queue_wait_s = Float(15.0, config=True, help="seconds a visit waits for a render slot")
    client_burst = Int(20, config=True, help="renders one client address may start in a row")
    client_refill_s = Float(3.0, config=True, help="seconds for one more render of a client")
    flood_requests = Int(3, config=True, help="pages asked for in flood_window_s that make a client flooding")
    flood_window_s = Float(10.0, config=True, help="seconds over which flood_requests are counted")
    page_load_s = Float(5.0, config=True,
                        help="seconds after a visitor's page was served before floods render again")
    unclaimed_after_s = Float(10.0, config=True,
                              help="seconds after its page was served that a never-connected kernel ends")

    @default("max_kernels")
    def _default_max_kernels(self) -> int:
        return 4 * (os.cpu_count() or 1)

    @default("max_renders")
    def _default_max_renders(self) -> int:
        return max(1, (os.cpu_count() or 1) - 1)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clients: dict[str, Client] = {}
        self._rendering: list[Visit] = []
        self._waiting: list[Visit] = []
        self._starting = 0
        self._served: dict[str, float] = {}  # kernel id -> when its page was served
        self._owner: dict[str, str] = {}  # kernel id -> the client address it was started for
        self._regrant: Optional[asyncio.TimerHandle] = None
        self._claimed: set[str] = set()  # kernels a browser connected to

    # -- admission, before anything is read or rendered --

    async def admit_visit(self, handler: Any) -> None:
        """Admit the render ``handler`` asks for and wait for its turn; raise the Finish that
        answers with the 429 or 503 page if it cannot be rendered now."""
        try:
            await self._take_turn(self.admit(handler))
        except Refused as refused:
            raise refuse_page(handler, refused) from None

    def admit(self, handler: Any) -> Visit:
        """Check ``handler``'s client against its limits and register the visit (raises
        :class:`Refused`); the visit ends when the response is finished or the client leaves."""
        now = time.monotonic()
        client_ip = handler.request.remote_ip or "unknown"
        client = self._clients.setdefault(client_ip, Client(self.client_burst, now))
        client.requests = [t for t in client.requests if t > now - RANK_WINDOW_S] + [now]
        if any(v.client == client_ip for v in self._rendering + self._waiting):
            raise Refused(429, "A page of yours is still loading: one page at a time, please.", 2)
        client.tokens = min(self.client_burst, client.tokens + (now - client.updated) / self.client_refill_s)
        client.updated = now
        if client.tokens < 1:
            wait = math.ceil((1 - client.tokens) * self.client_refill_s)
            raise Refused(429, "Too many pages from your address in a short time.", wait)
        client.tokens -= 1
        visit = Visit(client_ip, handler, now)
        _CURRENT.set(visit)
        on_finish, on_close = handler.on_finish, handler.on_connection_close

        def finished() -> None:
            self._end(visit)
            on_finish()

        def closed() -> None:
            self._end(visit)
            on_close()

        handler.on_finish, handler.on_connection_close = finished, closed
        return visit

    def _rank(self, visit: Visit) -> tuple:
        """Waiting visits are served lowest rank first: the client's requests in the last
        RANK_WINDOW_S seconds (a client asking again and again falls back), then the latest
        arrival."""
        since = time.monotonic() - RANK_WINDOW_S
        return sum(1 for t in self._clients[visit.client].requests if t > since), -visit.arrived

    async def _take_turn(self, visit: Visit) -> None:
        """Return once ``visit`` holds a render slot; raise Refused if none comes in time."""
        if len(self._rendering) < self.max_renders and not self._waiting:
            self._rendering.append(visit)
            return
        if len(self._waiting) >= self.max_waiting:
            worst = max(self._waiting + [visit], key=self._rank)
            if worst is visit:
                raise Refused(503, BUSY, 5)
            self._waiting.remove(worst)
            worst.turn.set_exception(Refused(503, BUSY, 5))
        visit.turn = asyncio.get_running_loop().create_future()
        self._waiting.append(visit)
        # decided a moment later: a script's first request is not yet seen as flooding
        asyncio.get_running_loop().call_later(PREEMPT_AFTER_S, self._preempt_for, visit)
        try:
            await asyncio.wait_for(asyncio.shield(visit.turn), timeout=self.queue_wait_s)
        except asyncio.TimeoutError:
            raise Refused(503, BUSY, 5) from None
        finally:
            if visit in self._waiting:
                self._waiting.remove(visit)

    def _flooding(self, client_ip: str) -> bool:
        since = time.monotonic() - self.flood_window_s
        return sum(1 for t in self._clients[client_ip].requests if t > since) >= self.flood_requests

    def _preempt_for(self, visit: Visit) -> None:
        """If ``visit`` still waits and its client is not flooding, stop the latest render of a
        flooding client (its kernel is shut down) and give the slot out again."""
        if visit not in self._waiting or self._flooding(visit.client):
            return
        flooding = [v for v in self._rendering if self._flooding(v.client)]
        if not flooding:
            return
        victim = max(flooding, key=lambda v: v.arrived)
        self.log.info("A render for %s (flooding) gives way to a visit from %s", victim.client, visit.client)
        victim.preempted = True
        self._rendering.remove(victim)
        if victim.kernel_id is not None:  # its page is streaming: end it, and its kernel
            victim.handler.request.connection.close()
            if victim.kernel_id in self._kernels:  # killed: its CPU is the visitor's at once
                asyncio.ensure_future(self.shutdown_kernel(victim.kernel_id, now=True))
        self._end(victim)

    def _end(self, visit: Visit) -> None:
        """The visit's response is finished (or its client left): free its slot, note when its page
        was served, give the slot to the best-ranked waiting visit."""
        if visit in self._rendering:
            self._rendering.remove(visit)
            if visit.kernel_id is not None:
                self._served.setdefault(visit.kernel_id, time.monotonic())
        if visit in self._waiting:
            self._waiting.remove(visit)
            if not visit.turn.done():
                visit.turn.set_exception(Refused(503, "The visitor left.", 1))
        self._grant()

    def _loading_visitor(self) -> float:
        """Seconds left until the page of a visitor that is not flooding, served less than
        ``page_load_s`` ago, stops holding floods back (0: no such page). Its browser connecting
        does not end the hold: the widgets come up after that, with the kernel's answers."""
        now = time.monotonic()
        left = [t + self.page_load_s - now for k, t in self._served.items()
                if k in self._owner and not self._flooding(self._owner[k])]
        return max([0.0] + left)

    def _grant(self) -> None:
        """Give free render slots to the best-ranked waiting visits; a flooding client's waits while
        a visitor's page is loading (checked again after the wait)."""
        self._regrant = None
        while len(self._rendering) < self.max_renders and self._waiting:
            best = min(self._waiting, key=self._rank)
            hold = self._loading_visitor() if self._flooding(best.client) else 0.0
            if hold > 0:
                if self._regrant is None:
                    self._regrant = asyncio.get_running_loop().call_later(hold, self._grant)
                return
            self._waiting.remove(best)
            self._rendering.append(best)
            best.turn.set_result(None)

    # -- kernels --

    def _unclaimed(self, within_s: float = 0.0) -> list[str]:
        """Kernels whose page was served over ``unclaimed_after_s`` ago (or will be within
        ``within_s`` seconds) and no browser connected to, oldest first."""
        deadline = time.monotonic() - self.unclaimed_after_s + within_s
        for kernel_id in [k for k in self._served if k not in self._kernels]:
            del self._served[kernel_id]
            self._owner.pop(kernel_id, None)
        return sorted((k for k, t in self._served.items() if t <= deadline and k not in self._claimed),
                      key=self._served.get)

    async def _make_room(self, patience_s: float) -> None:
        """Return once one more kernel fits under ``max_kernels`` (reserved: ``_starting``),
        shutting unclaimed kernels down, waiting up to ``patience_s`` for one to become
        unclaimed; raise Refused if none can go."""
        deadline = time.monotonic() + patience_s
        while len(self._kernels) + self._starting >= self.max_kernels:
            unclaimed = self._unclaimed()
            if unclaimed:
                self.log.info("Shutting down unclaimed kernel %s to make room", unclaimed[0])
                await self.shutdown_kernel(unclaimed[0])
            elif self._unclaimed(within_s=deadline - time.monotonic()):
                await asyncio.sleep(0.25)
            else:
                raise Refused(503, "The demo server has as many visitors as it can hold.", 30)
        self._starting += 1

    async def start_kernel(self, **kwargs: Any) -> str:
        """Start a kernel for the visit being rendered in this task, within ``max_kernels``."""
        visit = _CURRENT.get()
        try:
            await self._make_room(self.queue_wait_s)
            kernel_id = None
            try:
                if visit is None or not visit.preempted:
                    kernel_id = await super().start_kernel(**kwargs)
            finally:
                self._starting -= 1
            if visit is not None:
                visit.kernel_id = kernel_id
                if kernel_id is not None:
                    self._owner[kernel_id] = visit.client
                if visit.preempted:  # it gave way before or while its kernel started
                    if kernel_id is not None:
                        await self.shutdown_kernel(kernel_id, now=True)
                    raise Refused(503, BUSY, 5)
        except Refused as refused:
            if visit is None:
                raise
            raise refuse_page(visit.handler, refused) from None
        return kernel_id

    def notify_connect(self, kernel_id: str) -> None:
        self._claimed.add(kernel_id)
        super().notify_connect(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Unclaimed kernels go after ``unclaimed_after_s``; the others as Jupyter culls them."""
        if kernel_id in self._unclaimed():
            self.log.info("Culling unclaimed kernel %s (no browser connected)", kernel_id)
            await self.shutdown_kernel(kernel_id)
            return
        await super().cull_kernel_if_idle(kernel_id)


class DemoIdentityProvider(PasswordIdentityProvider):
    """Voila's identity provider (no login for visitors), which also admits each render request
    (:meth:`DemoKernelManager.admit_visit`) while the request is prepared."""

    async def get_user(self, handler: Any) -> Any:
        user = super().get_user(handler)
        if inspect.isawaitable(user):
            user = await user
        if isinstance(handler, VoilaHandler) and isinstance(handler.kernel_manager, DemoKernelManager):
            await handler.kernel_manager.admit_visit(handler)
        return user
