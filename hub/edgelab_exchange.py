"""nbgrader's filesystem exchange for a shared server: a checked submit and a safe collect.

``CheckedSubmit``: a notebook that is not valid JSON (an editor crash, a half-copied file)
would otherwise be submitted, collected and only fail at grading time, far from the
student. The submit stops first with a message naming the file and the error, and nothing
is copied: the student's earlier submissions stay as they were.

``CheckedCollect``: students write entries into ``inbound/`` and own them, while collect
copies them with the instructor's rights. nbgrader's collect follows symbolic links (a
student's link to the instructor's source notebook or ``~/.ssh`` key is copied as the file
it points to) and only warns when an entry named after one student is owned by another
(then it replaces that student's submission). This collect refuses, with an error naming
the entry and the offending paths, every entry that holds anything but regular files and
folders owned by the student it is named after; it reads through file descriptors opened
without following links (a swap after the check is refused too), copies into a staging
folder and only then replaces the earlier collected submission.

Loaded by name from ``hub/jupyter/common/nbgrader_config.py`` (submit, everyone) and
``hub/jupyter/instructor/nbgrader_config.py`` (collect); the hub puts ``hub/`` on the
single-user servers' ``PYTHONPATH``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import check_mode, find_all_notebooks, parse_utc

OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the check must not hang the instructor's server.
OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_DEPTH = 32  # folders inside an entry; a submission is a lesson folder, a few levels at most
MAX_LISTED = 10  # problems named in one refusal message
CHUNK = 1 << 20


def notebook_problems(folder: str, ignore: Sequence[str] = (".ipynb_checkpoints",)) -> list[str]:
    """One line per notebook under ``folder`` that is not a readable JSON notebook, leaving out
    paths with a part matching an ``ignore`` pattern (nbgrader does not submit those)."""
    problems = []
    for name in find_all_notebooks(folder):
        if any(fnmatch.fnmatch(part, pattern) for part in PurePath(name).parts for pattern in ignore):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                data = json.load(fh)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{name} is not valid notebook JSON ({exc})")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            problems.append(f"{name} is JSON but not a notebook (no list of cells)")
    return problems


class CheckedSubmit(ExchangeSubmit):
    """``nbgrader submit`` that first checks every notebook of the assignment is readable."""

    def copy_files(self) -> None:
        problems = notebook_problems(self.src_path, self.coursedir.ignore)
        if problems:
            self.fail("Nothing was submitted: " + "; ".join(problems)
                      + ". Fix the file (or rename it and fetch the assignment again), then submit."
                      " Your earlier submissions are unchanged.")
        super().copy_files()


class EntryRefused(Exception):
    """An inbound entry that collect must not copy; ``problems`` say why, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_LISTED]
        more = len(self.problems) - len(shown)
        super().__init__("; ".join(shown) + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True)
class CopyRules:
    """What nbgrader's copy leaves out (``CourseDirectory.ignore``, ``include``, sizes in bytes)."""

    ignore: Sequence[str] = ()
    include: Sequence[str] = ("*",)
    max_file_size: int | None = None
    max_dir_size: int | None = None
    groupshared: bool = False


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid} (no such user)"


def _kind(mode: int, parent_fd: int | None = None, name: str = "") -> str:
    """What a file of ``mode`` is, in words; a link's target when its folder is given."""
    if stat.S_ISLNK(mode):
        try:
            return f"a symbolic link (to {os.readlink(name, dir_fd=parent_fd)})"
        except (OSError, TypeError):
            return "a symbolic link"
    for test, label in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return label
    return "of an unknown file type"


class _EntryReader:
    """One walk of an inbound entry: every problem found, and the copy when ``dest`` is set."""

    def __init__(self, owner_uid: int, student: str, rules: CopyRules, log=None) -> None:
        self.owner_uid, self.student, self.rules, self.log = owner_uid, student, rules, log
        self.problems: list[str] = []
        self.total = 0

    def folder(self, parent_fd: int, name: str, rel: str, dest: str | None, depth: int) -> None:
        """Check (and copy to ``dest``) the folder ``name`` of ``parent_fd`` and all it holds."""
        fd = self._open(parent_fd, name, rel, OPEN_FOLDER, stat.S_ISDIR)
        if fd is None:
            return
        try:
            if dest is not None and not self.problems:
                os.mkdir(dest)
                os.chmod(dest, 0o2775 if self.rules.groupshared else 0o755)
            for child in sorted(os.listdir(fd)):
                child_rel = child if rel == "." else f"{rel}/{child}"
                mode = self._lstat_mode(fd, child, child_rel)
                if mode is None:
                    continue
                excluded = any(fnmatch.fnmatch(child, pattern) for pattern in self.rules.ignore)
                child_dest = None if dest is None or excluded else os.path.join(dest, child)
                if stat.S_ISDIR(mode):
                    if depth >= MAX_DEPTH:
                        self.problems.append(f"{child_rel} is more than {MAX_DEPTH} folders deep")
                        continue
                    self.folder(fd, child, child_rel, child_dest, depth + 1)
                elif stat.S_ISREG(mode):
                    included = any(fnmatch.fnmatch(child, pattern) for pattern in self.rules.include)
                    self.file(fd, child, child_rel, child_dest if included else None)
                else:
                    self.problems.append(f"{child_rel} is {_kind(mode, fd, child)}")
        finally:
            os.close(fd)

    def file(self, parent_fd: int, name: str, rel: str, dest: str | None) -> None:
        """Check (and copy to ``dest``) the regular file ``name`` of ``parent_fd``."""
        fd = self._open(parent_fd, name, rel, OPEN_FILE, stat.S_ISREG)
        if fd is None:
            return
        with open(fd, "rb") as src:
            info = os.fstat(src.fileno())
            if info.st_nlink > 1:
                self.problems.append(f"{rel} has {info.st_nlink} hard links (a submitted file has one)")
            self.total += info.st_size
            if self.rules.max_dir_size is not None and self.total > self.rules.max_dir_size:
                self.problems.append(f"{rel}: the entry holds more than {self.rules.max_dir_size} bytes "
                                     "(CourseDirectory.max_dir_size)")
            if dest is None or self.problems:
                return
            if self.rules.max_file_size is not None and info.st_size > self.rules.max_file_size:
                if self.log:
                    self.log.warning("Ignoring file too large '%s' (see config option "
                                     "CourseDirectory.max_file_size)", rel)
                return
            out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                          0o600)
            with open(out, "wb") as dst:
                remaining = info.st_size  # a file growing during the copy is cut at its checked size
                while remaining > 0:
                    block = src.read(min(CHUNK, remaining))
                    if not block:
                        break
                    dst.write(block)
                    remaining -= len(block)
                os.fchmod(dst.fileno(), 0o664 if self.rules.groupshared else 0o644)
                os.utime(dst.fileno(), ns=(info.st_atime_ns, info.st_mtime_ns))

    def _lstat_mode(self, parent_fd: int, name: str, rel: str) -> int | None:
        try:
            return os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
        except OSError as exc:
            self.problems.append(f"{rel} cannot be examined ({exc.strerror})")
            return None

    def _open(self, parent_fd: int, name: str, rel: str, flags: int, is_kind) -> int | None:
        """``name`` opened without following links, if it is of the kind and owned by the student."""
        label = "the entry" if rel == "." else rel
        try:
            fd = os.open(name, flags, dir_fd=parent_fd)
        except OSError as exc:
            mode = self._lstat_mode(parent_fd, name, rel)
            if mode is not None and not is_kind(mode):
                self.problems.append(f"{label} is {_kind(mode, parent_fd, name)}")
            elif mode is not None:
                self.problems.append(f"{label} cannot be read by the instructor ({exc.strerror})")
            return None
        info = os.fstat(fd)
        if not is_kind(info.st_mode):  # swapped for something else since it was listed
            self.problems.append(f"{label} is {_kind(info.st_mode)}")
            os.close(fd)
            return None
        if info.st_uid != self.owner_uid:
            self.problems.append(f"{label} is owned by Unix user {_user_name(info.st_uid)}, not by "
                                 f"{self.student}, the student it is named after")
        return fd


def read_entry(inbound_fd: int, name: str, student: str, rules: CopyRules = CopyRules(),
               dest: str | None = None, log=None) -> int:
    """Check the inbound entry ``name`` (in the folder open as ``inbound_fd``) without following
    any link, and copy it to the new folder ``dest`` if given; the bytes it holds. Files and
    folders matching ``rules.ignore`` are checked but not copied.

    Raises ``EntryRefused`` listing every path that is a symbolic link, a device, a FIFO or a
    socket, a file with several hard links, or anything not owned by the Unix user ``student``
    (or when no such user exists, or the entry is larger than ``rules.max_dir_size``)."""
    try:
        owner_uid = pwd.getpwnam(student).pw_uid
    except KeyError:
        raise EntryRefused([f"it is named after {student!r}, but no Unix user has that name"]) from None
    reader = _EntryReader(owner_uid, student, rules, log)
    reader.folder(inbound_fd, name, ".", dest, 0)
    if reader.problems:
        if dest is not None:
            shutil.rmtree(dest, ignore_errors=True)  # the part copied before the first problem
        raise EntryRefused(reader.problems)
    return reader.total


class CheckedCollect(ExchangeCollect):
    """``nbgrader collect`` that refuses entries with links or special files, or owned by
    someone other than the student they are named after (``check_owner`` is always on).

    A refused entry is reported as an error in the collect log (the formgrader shows it) and
    left in ``inbound`` for the instructor to look at; for that student the newest entry that
    passes is collected instead, and an earlier collected submission is only replaced by a
    complete, checked copy."""

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None

        pattern = f"{self.coursedir.student_id or '*'}+{self.coursedir.assignment_id}+*"
        self.refused: dict[str, str] = {}
        by_student: dict[str, list[dict]] = {}
        inbound_fd = os.open(self.inbound_path, OPEN_FOLDER)
        try:
            for name in sorted(fnmatch.filter(os.listdir(inbound_fd), pattern)):
                try:
                    record = self._record(name)
                    read_entry(inbound_fd, name, record["username"], self._rules())
                except EntryRefused as exc:
                    self._refuse(name, exc)
                    continue
                by_student.setdefault(record["username"], []).append(record)
        finally:
            os.close(inbound_fd)
        self.candidates = {student: self._in_preference_order(records)
                           for student, records in by_student.items()}
        self.src_records = [records[0] for records in self.candidates.values()]

    def copy_files(self) -> None:
        assignment = self.coursedir.assignment_id
        if not self.candidates:
            self.log.warning("No submissions of '%s' for course '%s' to collect",
                             assignment, self.coursedir.course_id)
        else:
            self.log.info("Processing %d submissions of '%s' for course '%s'",
                          len(self.candidates), assignment, self.coursedir.course_id)
        for student, records in self.candidates.items():
            dest_path = self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
            os.makedirs(os.path.dirname(dest_path), exist_ok=True)
            for record in records:  # the preferred entry; the next one if it changed since the check
                if not self._replaces_collected(record, dest_path):
                    self.log.info("No newer submission to collect: %s %s", student, assignment)
                    break
                updating = os.path.isdir(dest_path)
                try:
                    self._copy_entry(record, dest_path)
                except EntryRefused as exc:
                    self._refuse(record["filename"], exc)
                    continue
                self.log.info("%s submission: %s %s", "Updating" if updating else "Collecting",
                              student, assignment)
                break

    def _record(self, name: str) -> dict:
        parts = name.rsplit("+", 3)  # <student>+<assignment>+<timestamp>[+<random>]
        try:
            timestamp = parse_utc(parts[2])
        except (ValueError, OverflowError):
            raise EntryRefused([f"{parts[2]!r} in its name is not a timestamp"]) from None
        return {"username": parts[0], "filename": name, "timestamp": timestamp}

    def _rules(self) -> CopyRules:
        coursedir = self.coursedir
        return CopyRules(ignore=tuple(coursedir.ignore), include=tuple(coursedir.include),
                         max_file_size=1000 * coursedir.max_file_size if coursedir.max_file_size else None,
                         max_dir_size=1000 * coursedir.max_dir_size if coursedir.max_dir_size else None,
                         groupshared=coursedir.groupshared)

    def _refuse(self, name: str, exc: EntryRefused) -> None:
        self.refused[name] = str(exc)
        self.log.error("Not collected: inbound entry %s: %s. Collect takes only regular files and "
                       "folders owned by the student the entry is named after; the entry stays in "
                       "%s for you to inspect.", name, exc, self.inbound_path)

    def _in_preference_order(self, records: list[dict]) -> list[dict]:
        """Newest first; with ``before_duedate``, the entries before the due date first."""
        newest_first = self._sort_by_timestamp(records)
        if self.duedate is None or not self.before_duedate:
            return newest_first
        on_time = [r for r in newest_first if r["timestamp"] <= self.duedate]
        return on_time + [r for r in newest_first if r["timestamp"] > self.duedate]

    def _replaces_collected(self, record: dict, dest_path: str) -> bool:
        """nbgrader's rule: copy when nothing is collected yet, or (``update``) when the entry is
        newer, or (``before_duedate``) when it is another one."""
        if not os.path.isdir(dest_path):
            return True
        existing = self.coursedir.get_existing_timestamp(dest_path)
        if self.update and (existing is None or record["timestamp"] > existing):
            return True
        return bool(self.before_duedate and existing != record["timestamp"])

    def _copy_entry(self, record: dict, dest_path: str) -> None:
        """Copy the entry into a staging folder beside ``dest_path``, checking it again on the
        open files; only a complete copy replaces what was collected before."""
        staging = tempfile.mkdtemp(prefix=".collecting-", dir=os.path.dirname(dest_path))
        try:
            copy = os.path.join(staging, "entry")
            inbound_fd = os.open(self.inbound_path, OPEN_FOLDER)
            try:
                read_entry(inbound_fd, record["filename"], record["username"], self._rules(), copy, self.log)
            finally:
                os.close(inbound_fd)
            if os.path.isdir(dest_path):
                os.rename(dest_path, os.path.join(staging, "replaced"))
            os.rename(copy, dest_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
