"""Keep TensorFlow's and LiteRT's log lines out of a learner's notebook.

TensorFlow and LiteRT write INFO lines from C++ straight to file descriptor 2 ("oneDNN custom
operations are on", "Created TensorFlow Lite XNNPACK delegate for CPU", the converter's
"fully_quantize: 0, ..."). Jupyter shows them as red stderr, and it forwards fd-level output
asynchronously, so a line can land in a LATER cell: if that cell is a graded test, nbgrader
scores it 0 (any stderr output fails a test cell). So edgelab silences them at the source:

* :func:`import_tensorflow` sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless it is set) before TensorFlow
  is imported, imports it silenced and lowers TensorFlow's and absl's Python loggers to ERROR;
* every edgelab call that reaches TensorFlow's or LiteRT's C++ code (building and training a
  model, converting it, creating an interpreter) runs inside :func:`native_logs_silenced`,
  which points fd 2 at a temporary file for that time. Python's own ``sys.stderr`` (tracebacks,
  warnings, progress bars in a terminal) keeps writing where it did.

Real errors stay visible: an exception raised inside the block still propagates, and whatever
the C++ code wrote while it failed is attached to it as a note (shown with its traceback).
Set ``EDGELAB_NATIVE_LOGS=1`` to see every native log line (for debugging).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import threading
from typing import Any, Iterator, Optional

SHOW_ENV = "EDGELAB_NATIVE_LOGS"
NOTE_CHARS = 2000
NOTE_TITLE = "native log output while this failed:"

_lock = threading.Lock()
_depth = 0
_saved_fd: Optional[int] = None
_capture: Any = None
_swapped_stderr: Any = None
_original_stderr: Optional[io.TextIOWrapper] = None  # Python's view of the real fd 2, kept open


class NativeLog:
    """What native code wrote to fd 2 during one :func:`native_logs_silenced` block."""

    def __init__(self, start: int) -> None:
        self._start = start
        self._text: Optional[str] = None

    def text(self) -> str:
        """The captured output so far (while the block runs) or of the whole block (after it)."""
        if self._text is not None:
            return self._text
        return _read_capture(self._start)


def _read_capture(start: int) -> str:
    capture = _capture
    if capture is None:
        return ""
    try:
        end = os.lseek(capture.fileno(), 0, os.SEEK_END)
        data = os.pread(capture.fileno(), end - start, start) if end > start else b""
    except (OSError, ValueError):
        return ""
    return data.decode("utf-8", errors="replace")


def _fd_of(stream: Any) -> Optional[int]:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _fd2_open() -> bool:
    try:
        os.fstat(2)
    except OSError:  # a daemon without stderr: nothing to silence
        return False
    return True


def _flush_python_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()


def _enter() -> NativeLog:
    global _depth, _saved_fd, _capture, _swapped_stderr, _original_stderr
    with _lock:
        if _depth == 0:
            _flush_python_stderr()
            _capture = tempfile.TemporaryFile(prefix="edgelab-native-log-")
            _saved_fd = os.dup(2)
            os.dup2(_capture.fileno(), 2)
            if _fd_of(sys.stderr) == 2:  # a terminal or a pipe: keep Python's stderr visible
                if _original_stderr is None:
                    _original_stderr = io.TextIOWrapper(io.FileIO(os.dup(_saved_fd), "w"),
                                                        encoding=sys.stderr.encoding or "utf-8",
                                                        errors="backslashreplace", line_buffering=True)
                _swapped_stderr = sys.stderr
                sys.stderr = _original_stderr
        _depth += 1
        return NativeLog(os.lseek(_capture.fileno(), 0, os.SEEK_END))


def _exit(log: NativeLog) -> None:
    global _depth, _saved_fd, _capture, _swapped_stderr
    with _lock:
        log._text = _read_capture(log._start)
        _depth -= 1
        if _depth > 0:
            return
        if _swapped_stderr is not None:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            sys.stderr = _swapped_stderr
            _swapped_stderr = None
        os.dup2(_saved_fd, 2)
        os.close(_saved_fd)
        _saved_fd = None
        _capture.close()
        _capture = None


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[NativeLog]:
    """Run the block with fd 2 pointed at a temporary file: native log lines are dropped.

    Yields a :class:`NativeLog` (what was captured). An exception leaving the block carries
    the captured text as a note, so a real error keeps its details. Nested and concurrent
    blocks share one redirection; fd 2 is restored when the last one ends.
    """
    if os.environ.get(SHOW_ENV, "") not in ("", "0") or not _fd2_open():
        yield NativeLog(0)
        return
    log = _enter()
    try:
        yield log
    except BaseException as exc:
        _exit(log)
        text = log.text().strip()
        noted = any(str(n).startswith(NOTE_TITLE) for n in getattr(exc, "__notes__", []))
        if text and not noted and hasattr(exc, "add_note"):  # add_note: Python >= 3.11
            exc.add_note(f"{NOTE_TITLE}\n{text[-NOTE_CHARS:]}")
        raise
    else:
        _exit(log)


def import_tensorflow() -> Any:
    """Import TensorFlow with its start-up lines silenced and its Python loggers at ERROR."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_logs_silenced():
        import tensorflow as tf
    quiet_python_loggers()
    return tf


def quiet_python_loggers() -> None:
    """TensorFlow's and absl's Python loggers to ERROR ("INFO:tensorflow:Assets written to ...")."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
