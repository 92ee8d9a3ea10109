"""nbgrader settings for instructors on the course hub: the course's own settings
(grader/nbgrader_config.py: course id, lessons/ as the source folder, cell timeout), with
the course root in the instructor's home (EDGELAB_COURSE_ROOT=~/edge-ai, set by the hub)."""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

load_subconfig(os.path.join(os.environ["EDGELAB_REPO"], "grader", "nbgrader_config.py"))  # noqa: F821

# Collect refuses inbound entries holding symbolic links, devices or files not owned by the
# student the entry is named after, and never follows a link (hub/edgelab_exchange.py).
c.ExchangeFactory.collect = "edgelab_exchange.CheckedCollect"
