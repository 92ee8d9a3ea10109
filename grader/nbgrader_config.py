"""nbgrader configuration for the Edge AI course.

The course root is the repository root. Each folder under ``lessons/`` is one
nbgrader assignment (``lessons/00-welcome/welcome.ipynb`` is assignment
``00-welcome``). Everything nbgrader generates (``release/``, ``submitted/``,
``autograded/``, ``feedback/``, ``gradebook.db``) is build output, git-ignored.

Run nbgrader from the repository root (``nbgrader_config.py`` there loads this
file) or from this folder: both resolve to the same course.
"""

import os
import sys

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

COURSE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if COURSE_ROOT not in sys.path:
    sys.path.append(COURSE_ROOT)  # the grader package, wherever nbgrader is started from

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from grader.feedback import RedactHiddenTests  # noqa: E402
from grader.safe_execute import SafeExecute  # noqa: E402

c.CourseDirectory.course_id = "edge-ai"
c.CourseDirectory.root = os.environ.get("EDGELAB_COURSE_ROOT", COURSE_ROOT)
c.CourseDirectory.source_directory = "lessons"

# A cell may import TensorFlow (3-6 s here) or train a small model; nbgrader's
# default of 30 s is too short. `Execute.timeout` is the setting nbgrader honours.
c.Execute.timeout = 300

# Students must not be able to edit the test cells.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Every autograde path (`nbgrader autograde`, the formgrader's Autograde button) runs the
# student's notebook in the safe grader's sandboxes, tests in the trusted checker: nbgrader's
# Execute step (tests in the student's own kernel) is replaced, not kept as an option.
c.Autograde.autograde_preprocessors = [SafeExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
# Feedback never shows hidden tests (plain nbgrader 0.9.6 does: nbgrader issue #917).
c.GenerateFeedback.preprocessors = [GetGrades, RedactHiddenTests, CSSHTMLHeaderPreprocessor]
