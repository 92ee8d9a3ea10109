"""Voila configuration for the demo gallery, loaded by demos/serve.py (Voila.config_file_paths).

It lives in a hidden folder so that Voila's file tree neither lists nor serves it (nor
admission.py and busy.html beside it). It installs the admission limits of admission.py: a
kernel manager that caps renders and kernels, and an identity provider that admits each
render request before Voila reads the notebook.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from admission import DemoIdentityProvider, DemoKernelManager  # noqa: E402


def set_xsrf_cookie(handler, notebook, cwd):
    """Give each demo page the ``_xsrf`` cookie that its unload beacon sends back.

    Voila's page asks the server to shut its kernel down when the tab closes, but the notebook
    page never sets the cookie, so the request was refused (403, Voila issue #1458) and every
    visit left a kernel running. Reading ``handler.xsrf_token`` sets the cookie on this
    response, before the page starts streaming.
    """
    handler.xsrf_token  # noqa: B018 - read for its side effect: the Set-Cookie header
    return notebook


c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
c.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie
c.VoilaConfiguration.multi_kernel_manager_class = DemoKernelManager
c.Voila.identity_provider_class = DemoIdentityProvider
