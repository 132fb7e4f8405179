"""``run_tests``: the engine's own runner of policy test files (SPEC §6, §8.4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agen_policy import FileReport, PolicyFileError, TestReport, run_tests
from harness import CONFORMANCE_DIR, PEER_CONFORMANCE_DIR

DOCUMENT = {"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}
REQUEST = {"user": "u", "connector": "c", "tool": "t"}
CASE = {"request": REQUEST, "expect": {"action": "deny"}}


def write(path: Path, test: object) -> Path:
    path.write_text(json.dumps(test), encoding="utf-8")
    return path


def test_the_conformance_directories_pass() -> None:
    # AGEN_CONFORMANCE_DIR and AGEN_PEER_CONFORMANCE_DIR override them (see harness.py).
    for directory in (CONFORMANCE_DIR, PEER_CONFORMANCE_DIR):
        report = run_tests(directory)
        assert isinstance(report, TestReport)
        assert report.ok and report.failed == 0 and report.passed > 100, str(report)
        assert str(report).endswith(f"{report.passed} passed, 0 failed\n")
        assert all(isinstance(f, FileReport) and f.failures == () for f in report.files)
    lifecycle = run_tests(CONFORMANCE_DIR / "17_approval_lifecycle.json")
    (only,) = lifecycle.files
    assert (only.kind, only.cases, only.approvals) == ("cases", 4, 20)


def test_a_wrong_expectation_fails_with_expected_and_actual(tmp_path: Path) -> None:
    write(
        tmp_path / "b_wrong.json",
        {
            "document": DOCUMENT,
            "cases": [
                {"name": "right", "request": REQUEST, "expect": {"action": "deny"}},
                {"name": "wrong", "request": REQUEST, "expect": {"action": "allow"}},
            ],
        },
    )
    write(
        tmp_path / "a_fine.json",
        {"document": DOCUMENT, "cases": [{"request": REQUEST, "expect": {"action": "deny"}}]},
    )
    (tmp_path / "notes.txt").write_text("not a test file")
    report = run_tests(tmp_path)
    assert not report.ok and (report.passed, report.failed) == (2, 1)
    assert [Path(f.file).name for f in report.files] == ["a_fine.json", "b_wrong.json"]
    (failure,) = report.files[1].failures
    assert failure.case == "wrong" and "action differs" in failure.message
    assert failure.expected == {"action": "allow"}
    assert failure.actual["action"] == "deny" and failure.actual["reason"] == "no_policy"
    assert "FAIL  " in str(report) and "expected: action allow" in str(report)
    assert report.to_dict()["files"][1]["failures"][0]["case"] == "wrong"
    report.to_dict()["files"].clear()  # a copy
    assert len(report.to_dict()["files"]) == 2


def test_files_that_cannot_run_are_failures(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = run_tests(empty)
    assert not report.ok and report.failed == 1
    assert "no `*.json` test files" in report.files[0].failures[0].message
    misspelt = write(tmp_path / "x.json", {"document": DOCUMENT, "case": []})
    assert run_tests(misspelt).files[0].kind == "none"
    missing_doc = write(tmp_path / "y.json", {"document_file": "nope.json", "cases": []})
    assert "cannot read its document_file" in run_tests(missing_doc).files[0].failures[0].message
    with pytest.raises(PolicyFileError):
        run_tests(tmp_path / "does-not-exist")


def test_document_files_are_read_relative_to_the_test_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "doc.json", DOCUMENT)
    file = write(
        tmp_path / "t.json",
        {"document_file": "data/doc.json", "cases": [CASE]},
    )
    elsewhere = os.getcwd()
    try:
        os.chdir("/")
        assert run_tests(os.fspath(file)).ok
        assert run_tests(os.fsencode(file)).ok
    finally:
        os.chdir(elsewhere)


def test_a_document_file_past_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb"):
        pass
    os.truncate(big, 64 * 1024 * 1024 + 1)
    file = write(
        tmp_path / "t.json",
        {"document_file": "big.json", "cases": [CASE]},
    )
    report = run_tests(file)
    assert not report.ok
    assert "limit_exceeded" in json.dumps(report.to_dict())
