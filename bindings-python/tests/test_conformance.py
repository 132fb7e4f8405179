"""The SPEC §6 vectors, shared and peer, through the package's harness (every entry point) and
through the engine's own runner (``run_tests``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agen_policy import run_tests
from harness import CONFORMANCE_DIR, PEER_CONFORMANCE_DIR, check, vector_files


@pytest.mark.parametrize("file", vector_files(CONFORMANCE_DIR), ids=lambda p: p.name)
def test_shared_conformance(file: Path) -> None:
    assert check(file) > 0


@pytest.mark.parametrize("file", vector_files(PEER_CONFORMANCE_DIR), ids=lambda p: p.name)
def test_peer_conformance(file: Path) -> None:
    assert check(file) > 0


@pytest.mark.parametrize("directory", [CONFORMANCE_DIR, PEER_CONFORMANCE_DIR], ids=str)
def test_the_engine_runner_passes_every_file(directory: Path) -> None:
    report = run_tests(directory)
    assert report.ok, str(report)
    assert [Path(f.file).name for f in report.files] == [p.name for p in vector_files(directory)]
    assert report.passed == sum(f.cases + f.approvals + f.expected_errors for f in report.files)


def test_the_directories_hold_vectors() -> None:
    names = [p.name for p in vector_files(CONFORMANCE_DIR)]
    assert len(names) >= 19
    for prefix in ("15_", "16_", "17_", "18_"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert len(vector_files(PEER_CONFORMANCE_DIR)) >= 37


def _write(tmp_path: Path, test: object) -> Path:
    file = tmp_path / "vector.json"
    file.write_text(json.dumps(test), encoding="utf-8")
    return file


DOCUMENT = {"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}
REQUEST = {"user": "u", "connector": "c", "tool": "t"}
APPROVAL_DOCUMENT = {
    "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
    "users": [{"id": "u"}, {"id": "bob"}],
    "approval_flows": [{"id": "f", "steps": [{"users": ["bob"]}]}],
    "policies": [
        {
            "id": "p",
            "name": "needs approval",
            "connector": "c",
            "action": "request_approval",
            "approval_flow": "f",
            "all_users": True,
            "tools": ["t"],
        }
    ],
}


def test_the_harness_fails_on_a_wrong_action(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        {
            "document": DOCUMENT,
            "cases": [{"name": "no policy", "request": REQUEST, "expect": {"action": "allow"}}],
        },
    )
    with pytest.raises(AssertionError, match=r"no policy: action deny \(expected allow\)"):
        check(file)


def test_the_harness_fails_on_a_wrong_reason_or_list(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        {
            "document": DOCUMENT,
            "cases": [
                {"name": "r", "request": REQUEST, "expect": {"action": "deny", "reason": "policy"}},
                {"name": "p", "request": REQUEST, "expect": {"action": "deny", "policies": ["x"]}},
                {"name": "s", "request": REQUEST, "expect": {"action": "deny", "satisfied": ["x"]}},
                {
                    "name": "u",
                    "request": REQUEST,
                    "expect": {"action": "deny", "step_up": [{"policy": "x"}]},
                },
            ],
        },
    )
    with pytest.raises(AssertionError, match="4 failure") as raised:
        check(file)
    assert "reason no_policy" in str(raised.value)
    assert "policies []" in str(raised.value)
    assert "satisfied []" in str(raised.value)
    assert "step_up []" in str(raised.value)


def test_the_harness_fails_on_a_missing_error(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        {
            "document": {"connectors": [], "policies": [{"id": "p"}]},
            "expect_errors": [{"code": "duplicate_id", "path": "/policies/0/id"}],
        },
    )
    with pytest.raises(AssertionError, match="expected error duplicate_id"):
        check(file)


def test_the_harness_fails_when_a_bad_request_is_accepted(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        {
            "document": DOCUMENT,
            "cases": [{"name": "fine", "request": REQUEST, "expect_error": "invalid_request"}],
        },
    )
    with pytest.raises(AssertionError, match="request accepted as dict"):
        check(file)


def test_the_harness_reads_document_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "doc.json").write_text(json.dumps(DOCUMENT), encoding="utf-8")
    file = _write(
        tmp_path,
        {
            "document_file": "data/doc.json",
            "cases": [
                {
                    "name": "n",
                    "request": REQUEST,
                    "expect": {"action": "deny", "reason": "no_policy"},
                }
            ],
        },
    )
    assert check(file) == 1


def test_the_harness_fails_on_wrong_approval_expectations(tmp_path: Path) -> None:
    scenario = {
        "request": REQUEST,
        "flow": "f",
        "id": "a",
        "now": 1000,
        "expect_open": {"status": "approved"},
        "steps": [
            {"op": "approve", "by": "bob", "now": 2000, "expect_error": "already_voted"},
            {"op": "approve", "by": "bob", "now": 3000, "expect": {"status": "approved"}},
            {"op": "cancel", "now": 4000, "expect": {"status": "cancelled"}},
        ],
        "expect_grant": {"approvers": ["carol"]},
    }
    file = _write(
        tmp_path,
        {"document": APPROVAL_DOCUMENT, "approvals": [{"name": "wrong", **scenario}]},
    )
    with pytest.raises(AssertionError, match="5 failure") as raised:
        check(file)
    text = str(raised.value)
    assert "after open, status differ" in text
    assert "step 1 (approve) succeeds, but already_voted is expected" in text
    assert "step 2 (approve) fails with not_pending" in text
    assert "step 3 (cancel) fails with not_pending" in text
    assert "the grant's approvers differ" in text
    # The engine's runner finds the same scenario wrong.
    assert run_tests(file).failed == 1
