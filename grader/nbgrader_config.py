"""nbgrader configuration for the Edge AI course.

The course root is the repository root. Each folder under ``lessons/`` is one
nbgrader assignment (``lessons/00-welcome/welcome.ipynb`` is assignment
``00-welcome``). Everything nbgrader generates (``release/``, ``submitted/``,
``autograded/``, ``feedback/``, ``gradebook.db``) is build output, git-ignored.

Run nbgrader from the repository root (``nbgrader_config.py`` there loads this
file) or from this folder: both resolve to the same course.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

COURSE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "edge-ai"
c.CourseDirectory.root = os.environ.get("EDGELAB_COURSE_ROOT", COURSE_ROOT)
c.CourseDirectory.source_directory = "lessons"

# A cell may import TensorFlow (3-6 s here) or train a small model; nbgrader's
# default of 30 s is too short. `Execute.timeout` is the setting nbgrader honours.
c.Execute.timeout = 300

# Students must not be able to edit the test cells.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
