"""hub/: the course on a real JupyterHub with real Unix users and nbgrader's exchange.

One module-scoped course runs the whole term through HTTP only (the hub's REST API and
the single-user servers' APIs, as a browser would): release, fetch, answers written with
the contents API, submit (twice, late, broken JSON), a hub restart, a student's planted
inbound entries (links to the instructor's files, one named after a classmate), collect, autograde
with the safe autograder in the instructor's kernel, feedback. Each test checks one
outcome of that run.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from conftest import require

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "hub"))
import setup_course  # noqa: E402  -- hub/ is a folder of scripts, not a package

CHP_DIR = REPO / "build" / "chp"
CHP = CHP_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
PREFIX = "edgelabt"  # test-only Unix names: edgelabt-teach, edgelabt-s1..3, groups edgelabt-*
TEACHER = f"{PREFIX}-teach"
RIGHT, PARTIAL, BLANK = (f"{PREFIX}-s{i}" for i in (1, 2, 3))
STUDENTS = [RIGHT, PARTIAL, BLANK]
USERS = [TEACHER, *STUDENTS]
LESSON, COURSE = "00-welcome", "edge-ai"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_proxy() -> None:
    """configurable-http-proxy from npm, pinned by hub/package-lock.json, in build/chp."""
    if CHP.exists():
        return
    CHP_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(REPO / "hub" / name, CHP_DIR / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(CHP_DIR)], check=True,
                   capture_output=True, timeout=300)


def _closed_branch(path: Path) -> tuple[Path, Path] | None:
    """The first ancestor of ``path`` that other users cannot traverse, and its child on the way."""
    parts = path.resolve().parts
    for depth in range(2, len(parts)):
        folder = Path(*parts[:depth])
        if not folder.stat().st_mode & 0o001:
            return folder, Path(*parts[:depth + 1])
    return None


def _namespace_script(hub_cmd: list[str]) -> str:
    """Shell run in a private mount namespace before the hub: make this machine's Python and
    the checkout reachable by the users when they live under a closed folder (pyenv under
    /root), and hide the checkout's lessons (sources with solutions) and git history from
    everyone, as a real deployment must (hub/README.md). Nothing changes outside the namespace."""
    lines = ["set -e"]
    branches: dict[Path, set[Path]] = {}
    for path in (Path(sys.executable), REPO):
        closed = _closed_branch(path)
        if closed:
            branches.setdefault(closed[0], set()).add(closed[1])
    for folder, keep in branches.items():  # bind each branch aside, cover the folder, bind back
        keep = sorted(keep)
        for i, branch in enumerate(keep):
            lines += [f'keep{i}=$(mktemp -d)', f'mount --bind "{branch}" "$keep{i}"']
        lines.append(f'mount -t tmpfs -o mode=0755,size=64k tmpfs "{folder}"')
        for i, branch in enumerate(keep):
            lines += [f'mkdir -p "{branch}"', f'mount --move "$keep{i}" "{branch}"', f'rmdir "$keep{i}"']
    for secret in (REPO / "lessons", REPO / ".git"):
        if secret.is_dir():
            lines.append(f'mount -t tmpfs -o ro,mode=0555,size=4k tmpfs "{secret}"')
    lines.append("exec " + " ".join(f'"{arg}"' for arg in hub_cmd))
    return "\n".join(lines)


def _pids_of(uids: set[int]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            if uid in uids:
                pids.append(int(entry.name))
    return pids


class Hub:
    """A real JupyterHub (hub/jupyterhub_config.py) with its proxy, in a temporary state folder."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.state = base / "state"
        self.exchange = base / "exchange"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service_token = secrets.token_hex(32)
        self.env = dict(
            os.environ, EDGELAB_HUB_STATE=str(self.state), EDGELAB_HUB_URL=self.url,
            EDGELAB_HUB_API_URL=f"http://127.0.0.1:{_free_port()}",
            EDGELAB_PROXY_API_URL=f"http://127.0.0.1:{_free_port()}", EDGELAB_CHP=str(CHP),
            EDGELAB_GROUP_PREFIX=PREFIX, EDGELAB_EXCHANGE=str(self.exchange),
            EDGELAB_HUB_SERVICE_TOKEN=self.service_token,
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        self.env.pop("EDGELAB_COURSE_ROOT", None)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 90) -> float:
        """Start the hub and wait until its API answers through the proxy; seconds taken."""
        begin = time.monotonic()
        self.starts += 1
        log = open(self.base / f"hub-{self.starts}.log", "w")
        cmd = [str(Path(sys.executable).parent / "jupyterhub"), "-f",
               str(REPO / "hub" / "jupyterhub_config.py")]
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                      _namespace_script(cmd)], cwd=self.state, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while time.monotonic() - begin < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return time.monotonic() - begin
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer in {timeout} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM the hub (it stops its proxy; users' servers keep running) and wait."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        pid_file = self.state / "proxy.pid"
        if pid_file.exists():  # the proxy of a hub that died without cleaning up
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.base.glob("hub-*.log")))

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token or self.service_token}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs)


class User:
    """One hub user's browser-side view: a token and their single-user server's APIs."""

    def __init__(self, hub: Hub, name: str, token: str) -> None:
        self.hub, self.name, self.token = hub, name, token
        self.base = f"{hub.url}/user/{name}"

    def request(self, method: str, path: str, server: str | None = None, **kwargs) -> requests.Response:
        base = f"{self.hub.url}/user/{server}" if server else self.base
        return requests.request(method, base + path, headers={"Authorization": f"token {self.token}"},
                                timeout=kwargs.pop("timeout", 120), allow_redirects=False, **kwargs)

    def json(self, method: str, path: str, **kwargs) -> dict | list:
        response = self.request(method, path, **kwargs)
        assert response.status_code in (200, 201), \
            f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def action(self, action: str) -> dict:
        """A student's assignment-list action (fetch, submit, fetch_feedback) on this lesson."""
        return self.json("POST", f"/assignments/{action}",
                         params={"course_id": COURSE, "assignment_id": LESSON})

    def notebook(self) -> dict:
        return self.json("GET", f"/api/contents/{LESSON}/welcome.ipynb")["content"]

    def save(self, nb: dict) -> None:
        self.json("PUT", f"/api/contents/{LESSON}/welcome.ipynb",
                  json={"type": "notebook", "format": "json", "content": nb})

    def run(self, code: str, timeout: float = 300) -> str:
        """Run ``code`` in a new kernel on this user's server (kernels API + websocket); stdout."""
        kernel = self.json("POST", "/api/kernels", json={"name": "python3"})
        try:
            url = self.base.replace("http", "ws", 1) + f"/api/kernels/{kernel['id']}/channels"
            return asyncio.run(_execute(url, self.token, code, timeout))
        finally:
            self.request("DELETE", f"/api/kernels/{kernel['id']}")


async def _execute(url: str, token: str, code: str, timeout: float) -> str:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "", "version": "5.3",
                   "session": uuid.uuid4().hex, "date": datetime.now(timezone.utc).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    out: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), max(1.0, deadline - time.monotonic()))
            if raw is None:
                raise RuntimeError("kernel websocket closed: " + "".join(out))
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise RuntimeError("kernel error:\n" + "\n".join(msg["content"]["traceback"]) + "".join(out))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
    finally:
        conn.close()


def _set_answers(nb: dict, answers: dict[str, str]) -> dict:
    """The notebook with the source of the solution cells named in ``answers`` replaced."""
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb


RIGHT_ANSWERS = {
    "answer_visible": 'answer_visible = "b"\n',
    "weights_megabytes": (
        "def weights_megabytes(n_params, bits_per_weight):\n"
        "    if n_params < 0 or bits_per_weight not in (1, 2, 4, 8, 16, 32):\n"
        "        raise ValueError('bad input')\n"
        "    return n_params * bits_per_weight / 8 / 1e6\n"),
}
PARTIAL_ANSWERS = {  # the quiz right (1 point), the function without input checks (0 of 2)
    "answer_visible": 'answer_visible = "B "\n',
    "weights_megabytes": "def weights_megabytes(n_params, bits_per_weight):\n"
                         "    return n_params * bits_per_weight / 8 / 1e6\n",
}
WELCOME = REPO / "lessons" / "00-welcome" / "welcome.ipynb"
MAX_SCORE = float(sum(c["metadata"].get("nbgrader", {}).get("points", 0)
                      for c in json.loads(WELCOME.read_text())["cells"]))  # lesson 00's points
EXPECTED = {RIGHT: MAX_SCORE, PARTIAL: 1.0, BLANK: 0.0}  # the partial student answers the quiz only


def _inbound(hub: Hub, student: str) -> list[str]:
    return sorted(p.name for p in (hub.exchange / COURSE / "inbound").glob(f"{student}+{LESSON}+*"))


ISOLATION_PROBE = """
import json, os
def probe(path):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
        return "readable"
    except PermissionError:
        return "denied"
    except FileNotFoundError:
        return "missing"
print(json.dumps({name: probe(path) for name, path in PATHS.items()}))
"""


@pytest.fixture(scope="module")
def course() -> dict:
    """The whole term on a real hub; returns what each step saw. Cleans everything up."""
    require(os.geteuid() == 0, "root (to create Unix users and run JupyterHub's LocalProcessSpawner)")
    require(shutil.which("useradd") is not None and shutil.which("unshare") is not None,
            "useradd and unshare (passwd, util-linux)")
    require(shutil.which("node") is not None and shutil.which("npm") is not None, "Node.js and npm")
    _ensure_proxy()
    require(CHP.exists(), "configurable-http-proxy (npm)")

    started = time.monotonic()
    _kill(_pids_of({pwd.getpwnam(name).pw_uid for name in USERS if _exists(name)}))
    setup_course.remove_course(USERS, prefix=PREFIX)  # leftovers of an interrupted run
    base = Path(tempfile.mkdtemp(prefix="edgelab-hub-"))
    base.chmod(0o755)  # the exchange inside must be reachable by the users
    (base / "state").mkdir(mode=0o700)
    hub = Hub(base)
    uids: set[int] = set()
    seen: dict = {"steps": {}}
    try:
        setup_course.create_course([TEACHER], STUDENTS, hub.exchange, prefix=PREFIX)
        uids = {pwd.getpwnam(name).pw_uid for name in USERS}
        seen["steps"]["hub start"] = hub.start()
        _term(hub, seen)
    finally:
        for name in USERS:
            try:
                hub.api("DELETE", f"/users/{name}/server")
            except requests.RequestException:
                pass
        hub.stop()
        deadline = time.monotonic() + 20
        while _pids_of(uids) and time.monotonic() < deadline:
            time.sleep(0.2)
        leftover = _pids_of(uids)
        _kill(leftover)
        setup_course.remove_course(USERS, hub.exchange, prefix=PREFIX)
        if os.environ.get("EDGELAB_HUB_DEBUG"):  # a file name: keep what each step saw, and the logs
            seen["hub log"] = hub.log()
        shutil.rmtree(base, ignore_errors=True)
    seen["cleanup"] = {"leftover processes": leftover, "users left": [u for u in USERS if _exists(u)],
                       "hub port open": _port_open(hub.port), "base left": base.exists()}
    seen["seconds"] = time.monotonic() - started
    if os.environ.get("EDGELAB_HUB_DEBUG"):
        Path(os.environ["EDGELAB_HUB_DEBUG"]).write_text(json.dumps(seen, indent=1, default=repr))
    return seen


def _kill(pids: list[int]) -> None:
    """SIGKILL these processes (servers the hub could not stop): by pid, never by name."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if pids:
        time.sleep(0.3)


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _spawn_all(hub: Hub, names: list[str], timeout: float = 240) -> float:
    """Ask the hub to start every server at once and wait until all are ready."""
    begin = time.monotonic()
    for name in names:
        response = hub.api("POST", f"/users/{name}/server")
        assert response.status_code in (201, 202, 400), response.text  # 400: already running
    pending = set(names)
    while pending and time.monotonic() - begin < timeout:
        for name in list(pending):
            model = hub.api("GET", f"/users/{name}").json()
            if model.get("servers", {}).get("", {}).get("ready"):
                pending.discard(name)
        time.sleep(0.5)
    assert not pending, f"servers not ready after {timeout} s: {pending}\n{hub.log()[-4000:]}"
    return time.monotonic() - begin


def _term(hub: Hub, seen: dict) -> None:
    """The course's term, step by step, through HTTP only."""
    steps = seen["steps"]
    response = hub.api("POST", "/users", json={"usernames": USERS})
    assert response.status_code == 201, response.text
    users = {}
    for name in USERS:
        response = hub.api("POST", f"/users/{name}/tokens", json={"note": "edgelab test", "expires_in": 3600})
        assert response.status_code == 201, response.text
        users[name] = User(hub, name, response.json()["token"])
    steps["spawn 4 servers"] = _spawn_all(hub, USERS)
    teacher, right, partial, blank = (users[n] for n in USERS)

    # The instructor: generate the student version and release it (formgrader API).
    t = time.monotonic()
    seen["formgrader page"] = teacher.request("GET", "/formgrader/manage_assignments")
    seen["generate"] = teacher.json("POST", f"/formgrader/api/assignment/{LESSON}/assign")
    seen["release"] = teacher.json("POST", f"/formgrader/api/assignment/{LESSON}/release")
    steps["generate + release"] = time.monotonic() - t

    # Students: list, fetch, and keep the untouched release.
    t = time.monotonic()
    seen["listed"] = {s.name: s.json("GET", "/assignments", params={"course_id": COURSE})
                      for s in (right, partial, blank)}
    seen["fetch"] = {s.name: s.action("fetch") for s in (right, partial, blank)}
    released = right.notebook()
    seen["released source"] = json.dumps(released)
    steps["list + fetch"] = time.monotonic() - t

    # Extension enablement, seen from outside: formgrader routes and the lab page's config.
    seen["student formgrader on own server"] = blank.request("GET", "/formgrader/api/status").status_code
    seen["student calls instructor formgrader"] = blank.request(
        "GET", "/formgrader/api/submissions/" + LESSON, server=TEACHER).status_code
    seen["student reads instructor contents"] = blank.request(
        "GET", "/api/contents/edge-ai/lessons", server=TEACHER).status_code
    seen["instructor assignment list"] = teacher.request(
        "GET", "/assignments", params={"course_id": COURSE}).status_code
    seen["lab pages"] = {u.name: u.request("GET", "/lab").text for u in (teacher, blank)}

    # Right: submits the untouched release first, then (after the restart) the right answers.
    seen["right submit 1"] = right.action("submit")
    # Blank: a broken notebook is refused with a clear message; then the untouched one.
    before = _inbound(hub, BLANK)
    blank.json("PUT", f"/api/contents/{LESSON}/welcome.ipynb",
               json={"type": "file", "format": "text", "content": '{"cells": [{"cell_type": "code",'})
    seen["broken submit"] = blank.action("submit")
    seen["broken inbound change"] = sorted(set(_inbound(hub, BLANK)) - set(before))
    blank.save(released)
    seen["blank submit"] = blank.action("submit")

    # The hub restarts mid-course: released and submitted work must still be there.
    t = time.monotonic()
    hub.stop()
    steps["hub restart"] = hub.start()
    seen["spawn after restart"] = {name: hub.api("POST", f"/users/{name}/server").status_code
                                   for name in USERS}
    steps["servers ready after restart"] = _spawn_all(hub, USERS)
    seen["after restart"] = {
        "status": {u.name: u.request("GET", "/api/status").status_code for u in users.values()},
        "listed": partial.json("GET", "/assignments", params={"course_id": COURSE}),
        "right submissions": right.json("GET", "/assignments", params={"course_id": COURSE}),
        "inbound": {s: _inbound(hub, s) for s in STUDENTS}}
    steps["restart checks"] = time.monotonic() - t

    # Students validate (the visible tests, on their own server), then submit.
    t = time.monotonic()
    right.save(_set_answers(json.loads(seen["released source"]), RIGHT_ANSWERS))
    partial.save(_set_answers(json.loads(seen["released source"]), PARTIAL_ANSWERS))
    path = {"path": f"{LESSON}/welcome.ipynb"}
    seen["validate"] = {s.name: s.json("POST", "/assignments/validate", params=path)
                        for s in (right, partial)}
    steps["validate 2 notebooks"] = time.monotonic() - t
    seen["right submit 2"] = right.action("submit")

    # The deadline passes; Partial submits late.
    due = datetime.now(timezone.utc)
    seen["due"] = teacher.json("PUT", f"/formgrader/api/assignment/{LESSON}", json={
        "duedate_notimezone": due.strftime("%Y-%m-%dT%H:%M:%S.%f"), "duedate_timezone": "UTC"})
    time.sleep(1.1)
    seen["partial submit"] = partial.action("submit")
    seen["inbound"] = {s: _inbound(hub, s) for s in STUDENTS}
    seen["planted"] = _plant_hostile_entries(hub)

    # The instructor: collect (formgrader API); autograde with the safe autograder and write
    # feedback without hidden tests (grader/, run from a cell of the instructor's kernel);
    # release the feedback (formgrader API).
    t = time.monotonic()
    seen["collect"] = teacher.json("POST", f"/formgrader/api/assignment/{LESSON}/collect")
    steps["collect"] = time.monotonic() - t
    seen["collected"] = _collected(Path(pwd.getpwnam(TEACHER).pw_dir) / "edge-ai" / "submitted",
                                   seen["planted"]["key marker"])
    t = time.monotonic()
    seen["grading"] = json.loads(teacher.run(GRADE).strip().splitlines()[-1])
    steps["safe autograde + feedback (3 submissions)"] = time.monotonic() - t
    t = time.monotonic()
    seen["submissions"] = teacher.json("GET", f"/formgrader/api/submissions/{LESSON}")
    seen["release feedback"] = teacher.json("POST", f"/formgrader/api/assignment/{LESSON}/release_feedback")
    seen["fetch feedback"] = {s.name: s.action("fetch_feedback") for s in (right, partial, blank)}
    seen["feedback files"] = {}
    for s in (right, partial, blank):
        listing = s.json("GET", f"/api/contents/{LESSON}/feedback")["content"]
        stamps = sorted(item["name"] for item in listing if item["type"] == "directory")
        page = (s.json("GET", f"/api/contents/{LESSON}/feedback/{stamps[-1]}/welcome.html")["content"]
                if stamps else "")
        seen["feedback files"][s.name] = {"folders": stamps, "html": page}
    steps["feedback"] = time.monotonic() - t

    # What a student's own code can reach (their kernel runs as their Unix user).
    teacher_home = Path(pwd.getpwnam(TEACHER).pw_dir)
    paths = {
        "instructor source": teacher_home / "edge-ai" / "lessons" / LESSON / "welcome.ipynb",
        "instructor course root": teacher_home / "edge-ai",
        "instructor gradebook": teacher_home / "edge-ai" / "gradebook.db",
        "collected submission": teacher_home / "edge-ai" / "submitted" / RIGHT / LESSON / "welcome.ipynb",
        "other student's notebook": Path(pwd.getpwnam(RIGHT).pw_dir) / LESSON / "welcome.ipynb",
        "other student's home": Path(pwd.getpwnam(RIGHT).pw_dir),
        "exchange inbound listing": hub.exchange / COURSE / "inbound",
        "checkout lessons": REPO / "lessons" / LESSON / "welcome.ipynb",
        "own notebook": Path(pwd.getpwnam(BLANK).pw_dir) / LESSON / "welcome.ipynb",
    }
    probe = f"PATHS = {json.dumps({k: str(v) for k, v in paths.items()})}\n" + ISOLATION_PROBE
    seen["isolation"] = json.loads(blank.run(probe, timeout=120).strip().splitlines()[-1])


def _as_user(name: str, *cmd: str, stdin: str | None = None) -> None:
    """Run ``cmd`` as the Unix user ``name``, with only their rights (as in their JupyterLab terminal)."""
    account = pwd.getpwnam(name)
    subprocess.run(cmd, user=account.pw_uid, group=account.pw_gid, extra_groups=[], cwd="/",
                   env={"PATH": "/usr/bin:/bin", "HOME": account.pw_dir}, input=stdin, text=True,
                   check=True, capture_output=True, timeout=30)


def _plant_hostile_entries(hub: Hub) -> dict:
    """Blank drops two entries into inbound, newer than every real submission: one whose files
    are links to the instructor's source notebook and (a stand-in for) their ssh key, and one
    named after Right holding Blank's untouched notebook. Returns the names and link targets."""
    teacher = pwd.getpwnam(TEACHER)
    ssh = Path(teacher.pw_dir) / ".ssh"
    ssh.mkdir(mode=0o700)
    key = ssh / "id_ed25519"
    marker = f"edgelab test private key {secrets.token_hex(16)}"
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{marker}\n-----END OPENSSH PRIVATE KEY-----\n")
    key.chmod(0o600)
    for path in (ssh, key):
        os.chown(path, teacher.pw_uid, teacher.pw_gid)
    source = Path(teacher.pw_dir) / "edge-ai" / "lessons" / LESSON / "welcome.ipynb"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    inbound = hub.exchange / COURSE / "inbound"
    links = inbound / f"{BLANK}+{LESSON}+{stamp}+{secrets.token_hex(6)}"
    _as_user(BLANK, "mkdir", str(links))
    _as_user(BLANK, "ln", "-s", str(source), str(links / "welcome.ipynb"))
    _as_user(BLANK, "ln", "-s", str(key), str(links / "id_ed25519"))
    _as_user(BLANK, "tee", str(links / "timestamp.txt"), stdin=stamp)
    impostor = inbound / f"{RIGHT}+{LESSON}+{stamp}+{secrets.token_hex(6)}"
    _as_user(BLANK, "mkdir", str(impostor))
    _as_user(BLANK, "cp", str(Path(pwd.getpwnam(BLANK).pw_dir) / LESSON / "welcome.ipynb"),
             str(impostor / "welcome.ipynb"))
    _as_user(BLANK, "tee", str(impostor / "timestamp.txt"), stdin=stamp)
    return {"links": links.name, "impostor": impostor.name, "source": str(source), "key": str(key),
            "key marker": marker}


def _collected(submitted: Path, key_marker: str) -> dict:
    """What collect put in the instructor's ``submitted/``: each student's files and timestamp,
    the links found, and the files holding the key's marker or the source's solution markers."""
    seen: dict = {"files": {}, "timestamps": {}, "links": [], "with key": [], "with solutions": []}
    for dirpath, dirs, names in os.walk(submitted):
        for name in dirs + names:
            path = Path(dirpath) / name
            if path.is_symlink():
                seen["links"].append(str(path))
            elif path.is_file():
                text = path.read_text(errors="replace")
                student = path.relative_to(submitted).parts[0]
                seen["files"].setdefault(student, []).append(str(path.relative_to(submitted / student)))
                if key_marker in text:
                    seen["with key"].append(str(path))
                if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text:
                    seen["with solutions"].append(str(path))
                if name == "timestamp.txt":
                    seen["timestamps"][student] = text.strip()
    return seen


GRADE = f"""
import json, os, subprocess, sys, time
from nbgrader.api import Gradebook
def grader(*args):  # python -m grader on the course root the hub set ($EDGELAB_COURSE_ROOT)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True)
    return {{"rc": proc.returncode, "out": proc.stdout[-3000:], "err": proc.stderr[-3000:],
             "seconds": time.monotonic() - start}}
result = {{"autograde": grader("autograde", "{LESSON}", "--workers", "2")}}
result["feedback"] = grader("feedback", "{LESSON}")
with Gradebook("sqlite:///" + os.path.join(os.environ["EDGELAB_COURSE_ROOT"], "gradebook.db")) as gb:
    submissions = gb.find_assignment("{LESSON}").submissions
    result["late"] = {{s.student.id: s.total_seconds_late for s in submissions}}
print(json.dumps(result))
"""


@pytest.mark.slow
def test_scores_are_exactly_right(course: dict) -> None:
    """Right, partly right and blank answers score all, 1 and 0 of lesson 00's points in the gradebook."""
    autograde = course["grading"]["autograde"]
    assert autograde["rc"] == 0, autograde
    for student in STUDENTS:  # each submission ran to the end in its sandbox
        line = rf"^{re.escape(student)}\s+welcome\s+ran\b"
        assert re.search(line, autograde["out"], re.M), autograde["out"]
    api = {s["student"]: (s["score"], s["max_score"]) for s in course["submissions"]}
    assert api == {name: (score, MAX_SCORE) for name, score in EXPECTED.items()}


@pytest.mark.slow
def test_collect_refuses_links_and_impostor_entries(course: dict) -> None:
    """On the hub, a student's entry of links to the instructor's source and ssh key and an entry
    named after a classmate are refused with messages naming them; each student's own last
    submission is collected, and nothing of the instructor's is copied."""
    planted, collect = course["planted"], course["collect"]
    assert collect["success"], collect
    log = collect["log"]
    assert f"Not collected: inbound entry {planted['links']}: " in log, log
    assert f"id_ed25519 is a symbolic link (to {planted['key']})" in log, log
    assert f"welcome.ipynb is a symbolic link (to {planted['source']})" in log, log
    assert (f"Not collected: inbound entry {planted['impostor']}: the entry is owned by Unix user "
            f"{BLANK}, not by {RIGHT}, the student it is named after") in log, log
    collected = course["collected"]
    assert collected["timestamps"] == {s: course["inbound"][s][-1].split("+")[2] for s in STUDENTS}
    assert {s: sorted(files) for s, files in collected["files"].items()} == {
        s: [f"{LESSON}/submission_secret.txt", f"{LESSON}/timestamp.txt", f"{LESSON}/welcome.ipynb"]
        for s in STUDENTS}
    assert collected["links"] == [] and collected["with key"] == [] and collected["with solutions"] == []


@pytest.mark.slow
def test_release_fetch_and_feedback_reach_each_student(course: dict) -> None:
    """The lesson is released to every student, and each fetches feedback with their score."""
    assert course["generate"]["success"], course["generate"]
    assert course["release"]["success"], course["release"]
    for name, listing in course["listed"].items():
        assert [a["assignment_id"] for a in listing["value"] if a["status"] == "released"] == [LESSON], name
    for name, result in course["fetch"].items():
        assert result["success"], (name, result)
    for name, feedback in course["feedback files"].items():
        assert feedback["folders"], f"{name} got no feedback"
        assert f"welcome (Score: {EXPECTED[name]:.1f} / {MAX_SCORE:.1f})" in feedback["html"], name


@pytest.mark.slow
def test_feedback_shows_no_hidden_tests(course: dict) -> None:
    """The feedback students fetch (grader/feedback.py) has the visible tests, not the hidden ones."""
    from grader.pipeline import secret_lines

    assert course["grading"]["feedback"]["rc"] == 0, course["grading"]["feedback"]
    _solution, hidden = secret_lines(REPO / "lessons" / LESSON / "welcome.ipynb")
    assert hidden
    for name, feedback in course["feedback files"].items():
        text = html.unescape(re.sub(r"<[^>]+>", "", feedback["html"]))
        assert "assert math.isclose(weights_megabytes(4_200_000, 32), 16.8)" in text, name  # visible
        assert [line for line in hidden if line in text] == [], name


@pytest.mark.slow
def test_students_cannot_read_other_work_or_instructor_files(course: dict) -> None:
    """A student's own code cannot read the instructor's source, gradebook or collected work,
    another student's home, the inbound listing or the checkout's lessons."""
    others = {name: state for name, state in course["isolation"].items() if name != "own notebook"}
    assert all(state != "readable" for state in others.values()), others
    assert course["isolation"]["own notebook"] == "readable"  # the probe itself works
    released = course["released source"]
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released


@pytest.mark.slow
def test_students_cannot_use_the_formgrader(course: dict) -> None:
    """A student's token gets 403 on the instructor's formgrader API and contents; the
    student's own server has no formgrader at all; the instructor has no assignment list."""
    assert course["student calls instructor formgrader"] == 403
    assert course["student reads instructor contents"] == 403
    assert course["student formgrader on own server"] == 404
    assert course["instructor assignment list"] == 404


@pytest.mark.slow
def test_lab_extensions_follow_the_role(course: dict) -> None:
    """The lab page disables formgrader and create-assignment for students, the assignment
    list for instructors."""
    def disabled(page: str) -> dict:
        start = page.index('id="jupyter-config-data"')
        data = json.loads(page[page.index(">", start) + 1:page.index("</script>", start)])
        return data["disabledExtensions"]

    student = disabled(course["lab pages"][BLANK])
    teacher = disabled(course["lab pages"][TEACHER])
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(student)
    assert "@jupyter/nbgrader:assignment-list" not in student
    assert "@jupyter/nbgrader:assignment-list" in teacher and "@jupyter/nbgrader:formgrader" not in teacher


@pytest.mark.slow
def test_formgrader_keeps_the_hubs_frame_policy(course: dict) -> None:
    """The formgrader opens in its own tab (200) and keeps frame-ancestors 'none' (no iframe)."""
    page = course["formgrader page"]
    assert page.status_code == 200 and "formgrader" in page.text.lower()
    assert page.headers.get("Content-Security-Policy", "").startswith("frame-ancestors 'none'")


@pytest.mark.slow
def test_second_submission_counts_and_both_are_kept(course: dict) -> None:
    """Right submitted twice: both stay in the exchange, the later one was graded (full marks)."""
    assert course["right submit 1"]["success"] and course["right submit 2"]["success"]
    assert len(course["inbound"][RIGHT]) == 2
    submitted = [a for a in course["right submit 2"]["value"] if a["status"] == "submitted"]
    assert len(submitted[0]["submissions"]) == 2
    assert {s["student"]: s["score"] for s in course["submissions"]}[RIGHT] == MAX_SCORE


@pytest.mark.slow
def test_late_submission_is_marked_late(course: dict) -> None:
    """Partial submitted after the due date: late in the gradebook; the others are not."""
    late = course["grading"]["late"]
    assert late[PARTIAL] > 0 and late[RIGHT] == 0 and late[BLANK] == 0, late


@pytest.mark.slow
def test_broken_notebook_is_refused_with_a_clear_message(course: dict) -> None:
    """A notebook of broken JSON is not submitted; the message names the file; the student's
    later good submission and everyone else's are graded normally."""
    result = course["broken submit"]
    assert result["success"] is False
    assert "Nothing was submitted: welcome.ipynb is not valid notebook JSON" in result["value"]
    assert course["broken inbound change"] == []
    assert course["blank submit"]["success"]


@pytest.mark.slow
def test_hub_restart_loses_nothing(course: dict) -> None:
    """After a hub restart the servers answer, the release is listed, submissions are intact."""
    after = course["after restart"]
    # 400 "already running": the servers outlived the old hub and the new one found them.
    assert set(course["spawn after restart"].values()) == {400}, course["spawn after restart"]
    assert set(after["status"].values()) == {200}, after["status"]
    assert [(a["assignment_id"], a["status"]) for a in after["listed"]["value"]] == [(LESSON, "fetched")]
    assert len(after["inbound"][RIGHT]) == 1 and len(after["inbound"][BLANK]) == 1
    assert any(a["status"] == "submitted" for a in after["right submissions"]["value"])


@pytest.mark.slow
def test_everything_is_cleaned_up_in_bounded_time(course: dict) -> None:
    """No process of the test users survives, the users and files are gone, the port is closed."""
    assert course["cleanup"] == {"leftover processes": [], "users left": [], "hub port open": False,
                                 "base left": False}
    assert course["seconds"] < 400, course["steps"]


def test_setup_course_rejects_bad_names() -> None:
    """User and group names are checked before anything is created: the error names the parameter."""
    with pytest.raises(ValueError, match="instructors must be a Unix name"):
        setup_course.create_course(["Ada Lovelace"], ["s1"], "/srv/nbgrader/exchange")
    with pytest.raises(ValueError, match="both instructor and student"):
        setup_course.create_course(["ada"], ["ada"], "/srv/nbgrader/exchange")
    with pytest.raises(ValueError, match="exchange must be an absolute path"):
        setup_course.create_course(["ada"], ["s1"], "exchange")


def test_checked_submit_finds_broken_notebooks(tmp_path: Path) -> None:
    """Broken JSON and JSON that is no notebook are reported by name; a good notebook and
    checkpoints (which nbgrader does not submit) are not."""
    import edgelab_exchange

    (tmp_path / "good.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                     "nbformat_minor": 5}))
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "list.ipynb").write_text("[1, 2]")
    (tmp_path / ".ipynb_checkpoints").mkdir()  # not submitted by nbgrader: not checked
    (tmp_path / ".ipynb_checkpoints" / "broken-checkpoint.ipynb").write_text("{")
    problems = edgelab_exchange.notebook_problems(str(tmp_path))
    assert len(problems) == 2
    assert problems[0].startswith("broken.ipynb is not valid notebook JSON (")
    assert problems[1] == "sub/list.ipynb is JSON but not a notebook (no list of cells)"


@pytest.mark.slow
def test_students_validate_on_their_own_server(course: dict) -> None:
    """Validate runs the visible tests for a student: the partial answer fails one, the right one none."""
    right, partial = course["validate"][RIGHT], course["validate"][PARTIAL]
    assert right["success"] and partial["success"], (right, partial)
    assert "failed" not in right["value"], right
    assert "failed" in partial["value"], partial


def _hub_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str):
    """hub/jupyterhub_config.py loaded as JupyterHub loads it, with ``env`` set."""
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("EDGELAB_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.delenv("EDGELAB_SUBDOMAIN_HOST", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "hub")).load_config()


def test_hub_config_refuses_users_outside_the_course_groups(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A user in neither course group gets no server: the spawn fails with the groups named."""
    from types import SimpleNamespace

    config = _hub_config(tmp_path, monkeypatch)
    assert config.JupyterHub.spawner_class == "localprocess" and config.JupyterHub.cleanup_servers is False
    spawner = SimpleNamespace(user=SimpleNamespace(name="root"))
    with pytest.raises(ValueError, match="must be in Unix group edge-ai-instructors or edge-ai-students"):
        config.Spawner.environment["JUPYTER_CONFIG_PATH"](spawner)


def test_hub_config_frames_the_formgrader_only_with_subdomains(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Instructors' servers get frame-ancestors 'self' (jupyter/framing/) only when per-user
    subdomains are on; without them JupyterHub's 'none' stays."""
    from types import SimpleNamespace

    spawner = SimpleNamespace(user=SimpleNamespace(name="ada"))
    for subdomain_host, framed in (("", False), ("https://hub.example.org", True)):
        env = {"EDGELAB_SUBDOMAIN_HOST": subdomain_host} if subdomain_host else {}
        config = _hub_config(tmp_path, monkeypatch, **env)
        config_path = config.Spawner.environment["JUPYTER_CONFIG_PATH"]
        config_path.__globals__["role_of"] = lambda name: "instructor"  # no real group needed here
        dirs = config_path(spawner).split(os.pathsep)
        assert (dirs[0] == str(REPO / "hub" / "jupyter" / "framing")) is framed, dirs
        jupyter = REPO / "hub" / "jupyter"
        assert dirs[-2:] == [str(jupyter / "instructor"), str(jupyter / "common")]
        assert (config.JupyterHub.get("subdomain_host") == subdomain_host) is framed
    framing = json.loads((REPO / "hub" / "jupyter" / "framing" / "jupyter_server_config.json").read_text())
    headers = framing["ServerApp"]["tornado_settings"]["headers"]
    assert headers == {"Content-Security-Policy": "frame-ancestors 'self'"}


# --- The safe collect (hub/edgelab_exchange.py) on a local exchange, with system users -----
# "nobody" and "daemon" stand for two students: entries are owned by them (chown as root).

def _timestamp(minute: int) -> str:
    return f"2030-01-01 10:{minute:02d}:00.000000 UTC"


def _plant(folder: Path, name: str, owner: str, files: dict[str, str]) -> Path:
    """An entry ``folder/name`` holding ``files`` (relative path: text), all owned by ``owner``."""
    entry = folder / name
    for rel, text in files.items():
        (entry / rel).parent.mkdir(parents=True, exist_ok=True)
        (entry / rel).write_text(text)
    entry.mkdir(exist_ok=True)
    account = pwd.getpwnam(owner)
    for dirpath, _dirs, names in os.walk(entry):
        os.lchown(dirpath, account.pw_uid, account.pw_gid)
        for name_ in names:
            os.lchown(os.path.join(dirpath, name_), account.pw_uid, account.pw_gid)
    return entry


def _system_students() -> None:
    require(os.geteuid() == 0, "root (to give files to other Unix users)")
    for name in ("nobody", "daemon"):
        require(_exists(name), f"the Unix user {name}")


def test_read_entry_names_every_link_special_file_and_foreign_file(tmp_path: Path) -> None:
    """Symbolic links (deep, and in a folder collect ignores), a FIFO, hard links and files owned
    by someone else are each named in the refusal, and the partial copy is removed."""
    import edgelab_exchange

    _system_students()
    secret = tmp_path / "secret.txt"
    secret.write_text("the instructor's")
    entry = _plant(tmp_path, f"nobody+a1+{_timestamp(0)}", "nobody",
                   {"a1.ipynb": "{}", "mine.txt": "m", "sub/deep/x.txt": "x"})
    os.symlink(secret, entry / "sub" / "deep" / "link.ipynb")
    (entry / ".ipynb_checkpoints").mkdir()
    os.symlink(secret, entry / ".ipynb_checkpoints" / "a1-checkpoint.ipynb")
    os.mkfifo(entry / "pipe")
    os.link(secret, entry / "hard.txt")  # root's file
    os.link(entry / "mine.txt", entry / "mine2.txt")
    (entry / "root.txt").write_text("r")  # created by root: not the student's
    for path in (entry / "sub" / "deep" / "link.ipynb", entry / ".ipynb_checkpoints", entry / "pipe",
                 entry / ".ipynb_checkpoints" / "a1-checkpoint.ipynb"):
        os.lchown(path, pwd.getpwnam("nobody").pw_uid, -1)
    rules = edgelab_exchange.CopyRules(ignore=(".ipynb_checkpoints",))
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(edgelab_exchange.EntryRefused) as refused:
            edgelab_exchange.read_entry(folder, entry.name, "nobody", rules, str(tmp_path / "copy"))
    finally:
        os.close(folder)
    not_yours = "is owned by Unix user root, not by nobody, the student it is named after"
    assert refused.value.problems == [
        f".ipynb_checkpoints/a1-checkpoint.ipynb is a symbolic link (to {secret})",
        f"hard.txt {not_yours}",
        "hard.txt has 2 hard links (a submitted file has one)",
        "mine.txt has 2 hard links (a submitted file has one)",
        "mine2.txt has 2 hard links (a submitted file has one)",
        "pipe is a named pipe (FIFO)",
        f"root.txt {not_yours}",
        f"sub/deep/link.ipynb is a symbolic link (to {secret})",
    ]
    assert not (tmp_path / "copy").exists()


def test_read_entry_checks_the_entry_itself_and_copies_a_clean_one(tmp_path: Path) -> None:
    """An entry that is a link, named after no user or after another user is refused with
    both users named; a clean entry is copied byte for byte, without its ignored files."""
    import edgelab_exchange

    _system_students()
    target = _plant(tmp_path, "elsewhere", "nobody", {"a1.ipynb": "{}"})
    os.symlink(target, tmp_path / f"nobody+a1+{_timestamp(1)}")
    _plant(tmp_path, f"daemon+a1+{_timestamp(2)}", "nobody", {"a1.ipynb": "{}"})
    clean = _plant(tmp_path, f"nobody+a1+{_timestamp(3)}", "nobody",
                   {"a1.ipynb": '{"cells": []}', "data/x.csv": "1,2\n", "notes.pyc": "skip",
                    ".ipynb_checkpoints/a1-checkpoint.ipynb": "{}"})
    rules = edgelab_exchange.CopyRules(ignore=(".ipynb_checkpoints", "*.pyc"))
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        refusals = {}
        for name, student in ((f"nobody+a1+{_timestamp(1)}", "nobody"),
                              (f"daemon+a1+{_timestamp(2)}", "daemon"), ("x+a1+t", "no-such-user")):
            with pytest.raises(edgelab_exchange.EntryRefused) as refused:
                edgelab_exchange.read_entry(folder, name, student, rules)
            refusals[student] = str(refused.value)
        size = edgelab_exchange.read_entry(folder, clean.name, "nobody", rules, str(tmp_path / "copy"))
    finally:
        os.close(folder)
    assert refusals == {
        "nobody": f"the entry is a symbolic link (to {target})",
        "daemon": "the entry is owned by Unix user nobody, not by daemon, the student it is named after; "
                  "a1.ipynb is owned by Unix user nobody, not by daemon, the student it is named after",
        "no-such-user": "it is named after 'no-such-user', but no Unix user has that name"}
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["a1.ipynb", "data", "data/x.csv"]
    assert (tmp_path / "copy" / "data" / "x.csv").read_text() == "1,2\n"
    assert size == len('{"cells": []}') + len("1,2\n") + len("skip") + len("{}")  # every file counted


def _collect_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, update: bool = True):
    """A CheckedCollect of assignment a1 on the exchange and course root under ``tmp_path``."""
    import edgelab_exchange
    from nbgrader.coursedir import CourseDirectory

    # nbgrader's gradebook runs `alembic` from PATH, as on the hub (the environment's bin/ first)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    exchange = tmp_path / "exchange"
    (exchange / COURSE / "inbound").mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o1777)
    (tmp_path / "course").mkdir(exist_ok=True)
    coursedir = CourseDirectory(root=str(tmp_path / "course"), course_id=COURSE, assignment_id="a1")
    app = edgelab_exchange.CheckedCollect(coursedir=coursedir, root=str(exchange))
    app.update = update
    return app, exchange / COURSE / "inbound"


def _logged(app) -> list[str]:
    """Attach a handler to ``app.log``; the list receives every message it logs."""
    import logging

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(f"[{record.levelname}] {record.getMessage()}")
    app.log.addHandler(handler)
    app.log.setLevel(logging.INFO)
    return lines


def test_collect_takes_each_students_newest_valid_entry(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Collect refuses (with an error naming the entry) a newer entry with a link and an impostor
    entry named after a classmate, and collects each student's own newest clean entry."""
    _system_students()
    app, inbound = _collect_app(tmp_path, monkeypatch)
    secret = tmp_path / "secret.txt"
    secret.write_text("the instructor's")
    _plant(inbound, f"nobody+a1+{_timestamp(1)}+aaa", "nobody", {"a1.txt": "nobody's"})
    linked = _plant(inbound, f"nobody+a1+{_timestamp(5)}+bbb", "nobody", {})
    os.symlink(secret, linked / "a1.txt")
    _plant(inbound, f"daemon+a1+{_timestamp(2)}+ccc", "daemon", {"a1.txt": "daemon's"})
    _plant(inbound, f"daemon+a1+{_timestamp(6)}+ddd", "nobody", {"a1.txt": "impostor"})
    _plant(inbound, "nobody+a1+not a time+eee", "nobody", {"a1.txt": "?"})
    lines = _logged(app)
    app.start()
    submitted = tmp_path / "course" / "submitted"
    assert (submitted / "nobody" / "a1" / "a1.txt").read_text() == "nobody's"
    assert (submitted / "daemon" / "a1" / "a1.txt").read_text() == "daemon's"
    errors = [line for line in lines if line.startswith("[ERROR]")]
    assert len(errors) == 3, lines
    assert f"Not collected: inbound entry {linked.name}: a1.txt is a symbolic link (to {secret})" in errors[1]
    assert (f"inbound entry daemon+a1+{_timestamp(6)}+ddd: the entry is owned by Unix user nobody, "
            "not by daemon, the student it is named after") in errors[0]
    assert "'not a time' in its name is not a timestamp" in errors[2]
    assert sorted(app.refused) == [f"daemon+a1+{_timestamp(6)}+ddd", linked.name, "nobody+a1+not a time+eee"]


def test_collect_keeps_the_collected_submission_when_an_entry_turns_into_a_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry that passes the check and is then swapped for a link before the copy is refused
    on the open file: the earlier collected submission stays, nothing of the target is copied."""
    _system_students()
    app, inbound = _collect_app(tmp_path, monkeypatch)
    _plant(inbound, f"nobody+a1+{_timestamp(1)}+aaa", "nobody",
           {"a1.txt": "first", "timestamp.txt": _timestamp(1)})  # nbgrader submit writes timestamp.txt
    app.start()
    secret = tmp_path / "secret.txt"
    secret.write_text("the instructor's")
    newer = _plant(inbound, f"nobody+a1+{_timestamp(2)}+bbb", "nobody",
                   {"a1.txt": "second", "timestamp.txt": _timestamp(2)})
    app, _inbound = _collect_app(tmp_path, monkeypatch)
    lines = _logged(app)
    app.set_timestamp()
    app.init_src()
    assert [r["filename"] for r in app.candidates["nobody"]] == [newer.name, f"nobody+a1+{_timestamp(1)}+aaa"]
    (newer / "a1.txt").unlink()  # the student swaps the checked file for a link
    os.symlink(secret, newer / "a1.txt")
    app.copy_files()
    collected = tmp_path / "course" / "submitted" / "nobody"
    assert (collected / "a1" / "a1.txt").read_text() == "first"
    assert sorted(p.name for p in collected.iterdir()) == ["a1"]  # no staging folder left
    assert any(f"inbound entry {newer.name}: a1.txt is a symbolic link" in line for line in lines), lines
    assert "[INFO] No newer submission to collect: nobody a1" in lines
