"""The SPEC §6 vectors, shared and peer, through the one harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import CONFORMANCE_DIR, PEER_CONFORMANCE_DIR, check, vector_files


@pytest.mark.parametrize("file", vector_files(CONFORMANCE_DIR), ids=lambda p: p.name)
def test_shared_conformance(file: Path) -> None:
    assert check(file) > 0


@pytest.mark.parametrize("file", vector_files(PEER_CONFORMANCE_DIR), ids=lambda p: p.name)
def test_peer_conformance(file: Path) -> None:
    assert check(file) > 0


def test_the_directories_hold_vectors() -> None:
    assert len(vector_files(CONFORMANCE_DIR)) >= 14
    assert len(vector_files(PEER_CONFORMANCE_DIR)) >= 37


def _write(tmp_path: Path, test: object) -> Path:
    file = tmp_path / "vector.json"
    file.write_text(json.dumps(test), encoding="utf-8")
    return file


DOCUMENT = {"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}
REQUEST = {"user": "u", "connector": "c", "tool": "t"}


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
            ],
        },
    )
    with pytest.raises(AssertionError, match="2 failure") as raised:
        check(file)
    assert "reason no_policy" in str(raised.value)
    assert "policies []" in str(raised.value)


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
