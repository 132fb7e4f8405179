"""``run_tests``: policy test files (SPEC §6, §8.4) run by the engine's own runner.

The runner, the comparisons and the report's text are the core's (``agen-policy test`` prints
the same); this module only gives the report Python attributes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ._native import _run_tests

__all__ = ["FileReport", "TestFailure", "TestReport", "run_tests"]


@dataclass(frozen=True)
class TestFailure:
    """One failed check, or a test file that could not run."""

    __test__ = False  # not a pytest test class

    case: str | None
    """The case's or approval scenario's name, when the failure is one case's."""
    message: str
    """What went wrong, in one line."""
    expected: Any
    """What the test file expects, as far as it says (JSON values), or ``None``."""
    actual: Any
    """What happened instead (JSON values), or ``None``."""


@dataclass(frozen=True)
class FileReport:
    """The outcome of one test file."""

    __test__ = False

    file: str
    """The file's path, as found."""
    kind: str
    """``"cases"``, ``"expected_errors"``, or ``"none"`` when the file could not run."""
    cases: int
    approvals: int
    expected_errors: int
    failed: int
    """Checks that failed; a file that could not run counts as one."""
    failures: tuple[TestFailure, ...]


@dataclass(frozen=True)
class TestReport:
    """The outcome of ``run_tests``: ``passed`` and ``failed`` checks over every file, each
    file's report, and ``ok`` when every check passed and at least one ran. ``str()`` is the
    engine's text report (what ``agen-policy test`` prints); ``to_dict()`` its JSON form."""

    __test__ = False

    passed: int
    failed: int
    files: tuple[FileReport, ...]
    ok: bool
    _dict: dict[str, Any]
    _text: str

    def to_dict(self) -> dict[str, Any]:
        """``{"passed", "failed", "files": [...]}`` as the engine serializes its report."""
        import copy

        return copy.deepcopy(self._dict)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<TestReport: {self.passed} passed, {self.failed} failed>"


def run_tests(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> TestReport:
    """Runs the policy test file at ``path``, or every ``*.json`` file directly inside the
    directory ``path`` (in name order; a directory without any is one failure).

    Each file is read at most up to the document size limit + 1 byte, and so is its
    ``document_file`` (relative to it). A file that cannot run is a failure in the report, never
    an exception; a ``path`` that does not exist raises ``PolicyFileError``.
    """
    report, text, ok = _run_tests(path)
    files = tuple(
        FileReport(
            file=f["file"],
            kind=f["kind"],
            cases=f["cases"],
            approvals=f["approvals"],
            expected_errors=f["expected_errors"],
            failed=f["failed"],
            failures=tuple(
                TestFailure(
                    case=x.get("case"),
                    message=x["message"],
                    expected=x.get("expected"),
                    actual=x.get("actual"),
                )
                for x in f["failures"]
            ),
        )
        for f in report["files"]
    )
    return TestReport(
        passed=report["passed"],
        failed=report["failed"],
        files=files,
        ok=ok,
        _dict=report,
        _text=text,
    )


for _cls in (TestFailure, FileReport, TestReport):
    _cls.__module__ = "agen_policy"
