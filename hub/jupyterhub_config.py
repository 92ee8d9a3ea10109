"""JupyterHub for the Edge AI course on one server (The Littlest JupyterHub style).

Real Unix users, one single-user Jupyter server per user started as that user
(``LocalProcessSpawner``), nbgrader's filesystem exchange in a shared folder, and the
course environment (the Python this hub runs from, unless ``EDGELAB_ENV`` names another)
as every user's kernel. ``hub/setup_course.py`` creates the users, groups and exchange.

Who is who comes from two Unix groups: members of ``<prefix>-instructors`` get the
formgrader and "create assignment"; members of ``<prefix>-students`` get the assignment
list and "validate". A user in neither group cannot start a server. Each role's Jupyter
and nbgrader settings are the folders ``hub/jupyter/<role>`` and ``hub/jupyter/common``,
put on the user's ``JUPYTER_CONFIG_PATH``. Extensions are only the interface: what a
student can read is decided by Unix permissions (homes 0700, the exchange's modes).

Settings come from the environment so one file serves a class and the tests:

=============================== ============================================ ==========================
variable                        meaning                                      default
=============================== ============================================ ==========================
EDGELAB_HUB_STATE               folder for the hub's database, cookie secret /srv/edgelab-hub
EDGELAB_HUB_URL                 public URL the proxy listens on              http://127.0.0.1:8000
EDGELAB_HUB_API_URL             the hub's internal API (loopback)            http://127.0.0.1:8081
EDGELAB_PROXY_API_URL           configurable-http-proxy's API (loopback)     http://127.0.0.1:8001
EDGELAB_CHP                     configurable-http-proxy command              on PATH
EDGELAB_GROUP_PREFIX            Unix group prefix (see above)                edge-ai
EDGELAB_EXCHANGE                nbgrader exchange root                       /srv/nbgrader/exchange
EDGELAB_ENV                     course environment (a venv or conda prefix)  this hub's sys.prefix
EDGELAB_REPO                    course checkout (grader/ tools, config)      this file's parent folder
EDGELAB_HUB_SERVICE_TOKEN       token of the ``edgelab-course`` service      no service
EDGELAB_SUBDOMAIN_HOST          e.g. https://hub.example.org (wildcard DNS)  no subdomains
=============================== ============================================ ==========================
"""

import grp
import os
import pwd
import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- provided by traitlets when JupyterHub loads this file

HUB_DIR = Path(__file__).resolve().parent
REPO = Path(os.environ.get("EDGELAB_REPO", HUB_DIR.parent))
STATE = Path(os.environ.get("EDGELAB_HUB_STATE", "/srv/edgelab-hub"))
ENV = Path(os.environ.get("EDGELAB_ENV", sys.prefix))
EXCHANGE = os.environ.get("EDGELAB_EXCHANGE", "/srv/nbgrader/exchange")
PREFIX = os.environ.get("EDGELAB_GROUP_PREFIX", "edge-ai")
INSTRUCTORS, STUDENTS = f"{PREFIX}-instructors", f"{PREFIX}-students"
COURSE_FOLDER = "edge-ai"  # the instructor's course root: ~/edge-ai (lessons/, release/, ...)

# --- The hub, the proxy, and where their state lives (kept across restarts) -------------
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
c.JupyterHub.bind_url = os.environ.get("EDGELAB_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = os.environ.get("EDGELAB_HUB_API_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = os.environ.get("EDGELAB_PROXY_API_URL", "http://127.0.0.1:8001")
c.ConfigurableHTTPProxy.command = [os.environ.get("EDGELAB_CHP", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# Restarting the hub (a config change, an upgrade, a crash) leaves running servers alone:
# nobody loses unsaved work, and the hub finds them again from its database.
c.JupyterHub.cleanup_servers = False

# --- Who may log in: real Unix users of the course's two groups (PAM passwords) ---------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {INSTRUCTORS, STUDENTS}

# An optional service for scripts (create users' tokens, start servers): no admin rights
# for instructors are needed, and none are given to them by this file.
if os.environ.get("EDGELAB_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "edgelab-course",
                              "api_token": os.environ["EDGELAB_HUB_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "edgelab-course",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users"],
        "services": ["edgelab-course"],
    }]


def role_of(username: str) -> str:
    """``"instructor"`` or ``"student"`` from the user's Unix groups; ValueError otherwise."""
    entry = pwd.getpwnam(username)
    member_of = {g.gr_name for g in grp.getgrall() if username in g.gr_mem}
    member_of.add(grp.getgrgid(entry.pw_gid).gr_name)
    if INSTRUCTORS in member_of:
        return "instructor"
    if STUDENTS in member_of:
        return "student"
    raise ValueError(f"user {username!r} must be in Unix group {INSTRUCTORS} or {STUDENTS}")


def _jupyter_config_path(spawner) -> str:
    role = role_of(spawner.user.name)
    dirs = [HUB_DIR / "jupyter" / role, HUB_DIR / "jupyter" / "common"]
    if role == "instructor" and os.environ.get("EDGELAB_SUBDOMAIN_HOST"):
        dirs.insert(0, HUB_DIR / "jupyter" / "framing")  # see "The formgrader" below
    return os.pathsep.join(str(d) for d in dirs)


def _python_path(spawner) -> str:
    # hub/ holds edgelab_exchange (the checked submit); instructors also get grader/.
    paths = [str(HUB_DIR)]
    if role_of(spawner.user.name) == "instructor":
        paths.append(str(REPO))
    return os.pathsep.join(paths)


def _course_root(spawner) -> str:
    return os.path.join(pwd.getpwnam(spawner.user.name).pw_dir, COURSE_FOLDER)


# --- Single-user servers: real users, the course environment, role-specific config -------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 180  # a loaded server (30 logins at 9:00) starts slowly
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    # nbgrader runs `alembic` as a subprocess: the environment's bin/ goes first.
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_CONFIG_PATH": _jupyter_config_path,
    "PYTHONPATH": _python_path,
    "EDGELAB_EXCHANGE": EXCHANGE,
    "EDGELAB_REPO": str(REPO),
    # Read by grader/nbgrader_config.py: the instructor's course root is ~/edge-ai.
    "EDGELAB_COURSE_ROOT": _course_root,
}

# --- The formgrader under JupyterHub >= 4.1 (nbgrader issues #1870 and #1910) ------------
# JupyterHub >= 4.1 sends `Content-Security-Policy: frame-ancestors 'none'` from every
# single-user server, so the formgrader, which JupyterLab shows in an iframe, is a blank
# panel. nbgrader's documentation ("Formgrader with jupyterhub>=4.1") gives three ways out:
#   1. open the formgrader in its own browser tab: https://<hub>/user/<you>/formgrader
#      (no setting changes, no new risk);
#   2. per-user subdomains (JupyterHub.enable_subdomains) and then frame-ancestors 'self',
#      which is safe because each user's server is then its own origin;
#   3. frame-ancestors 'self' without subdomains: any user's page could frame another
#      user's server on the shared origin (the attack JupyterHub 4.1 closed). Not offered.
# We keep JupyterHub's header (way 1) by default; with EDGELAB_SUBDOMAIN_HOST set (wildcard
# DNS and certificate needed), instructors' servers get way 2 (hub/jupyter/framing/).
if os.environ.get("EDGELAB_SUBDOMAIN_HOST"):
    c.JupyterHub.subdomain_host = os.environ["EDGELAB_SUBDOMAIN_HOST"]
