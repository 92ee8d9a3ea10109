"""nbgrader settings for every user of the course hub (students and instructors).

The hub puts this folder on each user's JUPYTER_CONFIG_PATH (hub/jupyterhub_config.py)."""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "edge-ai"  # the same id as grader/nbgrader_config.py
c.Exchange.root = os.environ.get("EDGELAB_EXCHANGE", "/srv/nbgrader/exchange")
# A submission whose notebooks are not valid JSON is refused with a clear message instead
# of reaching the grader (hub/edgelab_exchange.py).
c.ExchangeFactory.submit = "edgelab_exchange.CheckedSubmit"
