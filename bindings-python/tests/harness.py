"""The one runner of SPEC §6 test files for the Python package.

``check(file)`` loads a test file's document through the package, then checks its expected
errors or its cases, and raises ``AssertionError`` listing every failure of the file. Each
valid request is decided through every entry point (keyword arguments, a dict, JSON text and
a batch), which must all agree with the expectation and with each other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agen_policy
from agen_policy import Decision, DocumentError, PolicySet, RequestError

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir(variable: str, default: str) -> Path:
    """``$variable`` when set, else ``default`` relative to the repository root."""
    value = os.environ.get(variable)
    return Path(value) if value else (REPO_ROOT / default).resolve()


CONFORMANCE_DIR = shared_dir("AGEN_CONFORMANCE_DIR", "conformance/spec")
PEER_CONFORMANCE_DIR = shared_dir("AGEN_PEER_CONFORMANCE_DIR", "conformance/peer")


def vector_files(directory: Path) -> list[Path]:
    """Every ``*.json`` file directly inside ``directory`` (documents live in subdirectories)."""
    return sorted(p for p in directory.glob("*.json") if p.is_file())


def check(file: Path) -> int:
    """Checks one test file; returns how many checks passed, or raises listing every failure."""
    test = json.loads(file.read_text(encoding="utf-8"))
    failures: list[str] = []
    checks = 0

    loaded: PolicySet | DocumentError
    if ("document" in test) == ("document_file" in test):
        raise AssertionError(f"{file.name}: needs exactly one of `document` or `document_file`")
    if "document" in test:
        document = test["document"]
        loaded = _load(lambda: PolicySet.from_dict(document))
        # The same document as JSON text must load to the same set, or fail the same way.
        again = _load(lambda: PolicySet.from_json(json.dumps(document)))
        if _outcome(loaded) != _outcome(again):
            failures.append("from_dict and from_json disagree")
        validation = agen_policy.validate(document)
    else:
        path = file.parent / test["document_file"]
        loaded = _load(lambda: PolicySet.from_file(path))
        validation = agen_policy.validate(path.read_bytes())

    if isinstance(loaded, PolicySet) != validation.valid:
        failures.append(f"validate says valid={validation.valid}, loading disagrees")

    if "expect_errors" in test:
        if not isinstance(loaded, DocumentError):
            failures.append("document loaded but errors were expected")
        else:
            found = {(p.code, p.path) for p in loaded.problems}
            if {(p.code, p.path) for p in validation.problems} != found:
                failures.append("validate reports other problems than loading")
            for expected in test["expect_errors"]:
                checks += 1
                want = (expected["code"], expected["path"])
                if want not in found:
                    failures.append(f"expected error {want[0]} at {want[1]!r}; got {sorted(found)}")

    if "cases" in test:
        if not isinstance(loaded, PolicySet):
            raise AssertionError(f"{file.name}: document does not load: {loaded}")
        valid_requests: list[dict[str, Any]] = []
        decisions: list[Decision] = []
        for case in test["cases"]:
            checks += 1
            name = case.get("name", "?")
            failures.extend(
                f"{name}: {f}" for f in _check_case(loaded, case, valid_requests, decisions)
            )
        if valid_requests and loaded.evaluate_many(valid_requests) != decisions:
            failures.append("evaluate_many disagrees with evaluate_request")

    if checks == 0:
        failures.append("neither `cases` nor `expect_errors`")
    if failures:
        raise AssertionError(
            f"{file.name}: {len(failures)} failure(s):\n  " + "\n  ".join(failures)
        )
    return checks


def _load(make: Callable[[], PolicySet]) -> PolicySet | DocumentError:
    try:
        return make()
    except DocumentError as e:
        return e


def _outcome(loaded: PolicySet | DocumentError) -> object:
    if isinstance(loaded, PolicySet):
        return loaded.version
    return sorted((p.code, p.path, p.message) for p in loaded.problems)


def _check_case(
    policies: PolicySet,
    case: dict[str, Any],
    valid_requests: list[dict[str, Any]],
    decisions: list[Decision],
) -> list[str]:
    request = case["request"]
    if "expect_error" in case:
        wrong = []
        calls: list[tuple[str, Callable[[], Decision]]] = [
            ("dict", lambda: policies.evaluate_request(request)),
            ("JSON", lambda: policies.evaluate_request(json.dumps(request))),
        ]
        for how, call in calls:
            try:
                call()
                wrong.append(f"request accepted as {how}, expected {case['expect_error']}")
            except RequestError as e:
                if e.code != case["expect_error"]:
                    wrong.append(f"error {e.code} as {how}, expected {case['expect_error']}")
        return wrong

    try:
        decision = policies.evaluate_request(request)
    except RequestError as e:
        return [f"request rejected: {e}"]
    valid_requests.append(request)
    decisions.append(decision)

    wrong = []
    expect = case["expect"]
    if decision.action != expect["action"]:
        wrong.append(f"action {decision.action} (expected {expect['action']})")
    if "reason" in expect and decision.reason != expect["reason"]:
        wrong.append(f"reason {decision.reason} (expected {expect['reason']})")
    for field, actual in (
        ("policies", decision.policies),
        ("approval_flows", decision.approval_flows),
    ):
        if field in expect and set(expect[field]) != set(actual):
            wrong.append(f"{field} {sorted(actual)} (expected {sorted(expect[field])})")

    same_as_json = policies.evaluate_request(json.dumps(request))
    same_as_args = policies.evaluate(
        request["user"],
        request["connector"],
        request["tool"],
        groups=request.get("groups"),
        context=request.get("context"),
    )
    if not decision == same_as_json == same_as_args:
        wrong.append(f"entry points disagree: {decision!r} {same_as_json!r} {same_as_args!r}")
    return wrong
