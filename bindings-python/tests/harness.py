"""The one runner of SPEC §6 test files for the Python package, through its public API.

``check(file)`` loads a test file's document through the package, then checks its expected
errors, its cases and its approval scenarios, and raises ``AssertionError`` listing every
failure of the file. It tests the package's conversions, so it goes through every entry point:

* each valid request is decided through keyword arguments (``evaluate``, evidence included),
  a dict (``evaluate_request``), JSON text (``evaluate_json``), a batch (``evaluate_many``),
  ``explain_request`` and an ``Engine``; all must agree with the expectation (``satisfied``
  compared as a set, ``step_up`` as a list) and with each other;
* each approval scenario (SPEC §8.4) is replayed through ``open_approval``, ``approve``,
  ``reject``, ``cancel``, ``tick`` and ``grant`` on dicts, comparing ``expect_open`` and each
  step's ``expect`` as subsets of the state, ``expect_error`` and ``expect_open_error`` with
  ``ApprovalError.code``, and ``expect_grant`` with the grant (or its error).

The engine's own runner (``agen_policy.run_tests``) is checked on the same files by
``test_conformance.py``: both must pass every file, so a file neither can misread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agen_policy
from agen_policy import ApprovalError, Decision, DocumentError, Engine, PolicySet, RequestError

REPO_ROOT = Path(__file__).resolve().parents[2]

EVIDENCE = ("now", "auth", "grants", "arguments")


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

    if "cases" in test or "approvals" in test:
        if not isinstance(loaded, PolicySet):
            raise AssertionError(f"{file.name}: document does not load: {loaded}")
        valid_requests: list[dict[str, Any]] = []
        decisions: list[Decision] = []
        for i, case in enumerate(test.get("cases", [])):
            checks += 1
            name = case.get("name", f"#{i + 1}")
            failures.extend(
                f"{name}: {f}" for f in _check_case(loaded, case, valid_requests, decisions)
            )
        if valid_requests and loaded.evaluate_many(valid_requests) != decisions:
            failures.append("evaluate_many disagrees with evaluate_request")
        for i, scenario in enumerate(test.get("approvals", [])):
            checks += 1
            name = scenario.get("name", f"#{i + 1}")
            failures.extend(f"{name}: {f}" for f in _replay(loaded, scenario))

    if checks == 0:
        failures.append("neither `cases`, `approvals` nor `expect_errors`")
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


def _keywords(policies: PolicySet | Engine, request: dict[str, Any]) -> Decision:
    """``evaluate`` with the request's fields as arguments."""
    return policies.evaluate(
        request["user"],
        request["connector"],
        request["tool"],
        groups=request.get("groups"),
        context=request.get("context"),
        **{k: request[k] for k in EVIDENCE if k in request},
    )


def _check_case(
    policies: PolicySet,
    case: dict[str, Any],
    valid_requests: list[dict[str, Any]],
    decisions: list[Decision],
) -> list[str]:
    request = case["request"]
    engine = Engine(policies)
    if "expect_error" in case:
        wrong = []
        calls: list[tuple[str, Callable[[], object]]] = [
            ("dict", lambda: policies.evaluate_request(request)),
            ("JSON", lambda: policies.evaluate_json(json.dumps(request))),
            ("explained", lambda: policies.explain_request(request)),
            ("engine dict", lambda: engine.evaluate_request(request)),
            ("engine JSON", lambda: engine.evaluate_json(json.dumps(request))),
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
        ("satisfied", decision.satisfied),
    ):
        if field in expect and set(expect[field]) != set(actual):
            wrong.append(f"{field} {sorted(actual)} (expected {sorted(expect[field])})")
    if "step_up" in expect and list(decision.step_up) != expect["step_up"]:
        wrong.append(f"step_up {list(decision.step_up)} (expected {expect['step_up']})")
    if decision.to_dict()["step_up"] != list(decision.step_up):
        wrong.append("to_dict()['step_up'] differs from step_up")

    others = {
        "JSON": policies.evaluate_json(json.dumps(request)),
        "keywords": _keywords(policies, request),
        "explained": policies.explain_request(request).decision,
        "explained with keywords": policies.explain(
            request["user"],
            request["connector"],
            request["tool"],
            groups=request.get("groups"),
            context=request.get("context"),
            **{k: request[k] for k in EVIDENCE if k in request},
        ).decision,
        "engine dict": engine.evaluate_request(request),
        "engine JSON": engine.evaluate_json(json.dumps(request)),
        "engine keywords": _keywords(engine, request),
    }
    for how, other in others.items():
        if other != decision:
            wrong.append(f"{how} disagrees: {other!r} (dict: {decision!r})")
    return wrong


def _subset_differs(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in expected.items() if k not in actual or actual[k] != v)


def _replay(policies: PolicySet, scenario: dict[str, Any]) -> list[str]:
    """One SPEC §8.4 scenario through the package's approval API; the failures found."""
    wrong: list[str] = []
    state: dict[str, Any]
    if "state" in scenario:
        state = scenario["state"]
    else:
        try:
            # Missing fields are passed as None: the engine refuses them as it refuses null.
            state = policies.open_approval(
                scenario["request"],
                scenario.get("flow"),  # type: ignore[arg-type]
                scenario.get("id"),  # type: ignore[arg-type]
                scenario.get("now"),  # type: ignore[arg-type]
            )
        except ApprovalError as e:
            if e.code != scenario.get("expect_open_error"):
                wrong.append(f"open fails with {e.code} ({e.message})")
            return wrong
        if "expect_open_error" in scenario:
            return [f"open succeeds, but {scenario['expect_open_error']} is expected"]
        differ = _subset_differs(scenario.get("expect_open", {}), state)
        if differ:
            wrong.append(f"after open, {', '.join(differ)} differ: {state}")
    for i, step in enumerate(scenario.get("steps", [])):
        what = f"step {i + 1} ({step['op']})"
        op = step["op"]
        try:
            if op in ("approve", "reject"):
                method = policies.approve if op == "approve" else policies.reject
                if "groups" in step:
                    new = method(state, step.get("by"), step.get("now"), step["groups"])
                else:
                    new = method(state, step.get("by"), step.get("now"))
            elif op == "cancel":
                new = policies.cancel(state, step.get("now"))
            elif op == "tick":
                new = policies.tick(state, step.get("now"))
            else:
                return [*wrong, f"{what}: unknown op"]
        except ApprovalError as e:
            if e.code != step.get("expect_error"):
                wrong.append(f"{what} fails with {e.code} ({e.message})")
            continue
        if "expect_error" in step:
            wrong.append(f"{what} succeeds, but {step['expect_error']} is expected")
        differ = _subset_differs(step.get("expect", {}), new)
        if differ:
            wrong.append(f"after {what}, {', '.join(differ)} differ: {new}")
        state = new
    if "expect_grant" in scenario:
        expected = scenario["expect_grant"]
        try:
            grant = policies.grant(state)
        except ApprovalError as e:
            if e.code != expected.get("error"):
                wrong.append(f"grant fails with {e.code} ({e.message})")
        else:
            if "error" in expected:
                wrong.append(f"grant succeeds, but {expected['error']} is expected")
            elif differ := _subset_differs(expected, grant):
                wrong.append(f"the grant's {', '.join(differ)} differ: {grant}")
    return wrong
