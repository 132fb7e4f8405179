"""Evidence (SPEC §7.2) on every entry point: conversion only, the engine judges it."""

from __future__ import annotations

import datetime
import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest

from agen_policy import Decision, Engine, PolicySet, Reason, RequestError

T0 = 1_795_600_800_000  # 2026-11-25T10:00:00Z
UTC = datetime.timezone.utc

DOC: dict[str, Any] = {
    "step_up": {"max_age": 300, "acr_values": ["urn:mfa", "urn:hwk"]},
    "connectors": [{"id": "github", "tools": [{"name": "create_issue"}, {"name": "delete"}]}],
    "users": [{"id": "alice"}, {"id": "bob"}],
    "approval_flows": [{"id": "review", "steps": [{"users": ["bob"]}]}],
    "policies": [
        {
            "id": "issues",
            "name": "Issues need a fresh login",
            "connector": "github",
            "action": "step_up",
            "all_users": True,
            "tools": ["create_issue"],
            "step_up": {"max_age": 60},
        },
        {
            "id": "deletes",
            "name": "Deletes need a review",
            "connector": "github",
            "action": "request_approval",
            "approval_flow": "review",
            "all_users": True,
            "tools": ["delete"],
        },
    ],
}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def every_entry_point(
    policies: PolicySet, request: dict[str, Any]
) -> dict[str, Callable[[], Decision]]:
    """One request through every way of deciding it."""
    engine = Engine(policies)
    evidence = {k: request[k] for k in ("now", "auth", "grants", "arguments") if k in request}
    text = json.dumps(request, default=str)

    def keywords(target: PolicySet | Engine) -> Decision:
        return target.evaluate(
            request["user"], request["connector"], request["tool"], **evidence
        )

    return {
        "keywords": lambda: keywords(policies),
        "dict": lambda: policies.evaluate_request(request),
        "JSON": lambda: policies.evaluate_json(text),
        "JSON bytes": lambda: policies.evaluate_json(text.encode()),
        "JSON via evaluate_request": lambda: policies.evaluate_request(text),
        "batch": lambda: policies.evaluate_many([request])[0],
        "explain": lambda: policies.explain(
            request["user"], request["connector"], request["tool"], **evidence
        ).decision,
        "explain_request": lambda: policies.explain_request(request).decision,
        "engine keywords": lambda: keywords(engine),
        "engine dict": lambda: engine.evaluate_request(request),
        "engine JSON": lambda: engine.evaluate_json(text),
        "engine batch": lambda: engine.evaluate_many([request])[0],
        "engine explain": lambda: engine.explain_request(request).decision,
    }


def fresh(acr: str = "urn:mfa", age_ms: int = 1_000) -> dict[str, Any]:
    return {
        "user": "alice",
        "connector": "github",
        "tool": "create_issue",
        "now": T0,
        "auth": {"time": T0 - age_ms, "acr": acr, "amr": ["otp"]},
    }


def test_step_up_is_satisfied_through_every_entry_point(policies: PolicySet) -> None:
    for how, call in every_entry_point(policies, fresh()).items():
        d = call()
        assert (d.action, d.satisfied, d.policies) == ("allow", ("issues",), ("issues",)), how
        assert d.step_up == ()


def test_stale_or_wrong_acr_auth_is_not_enough(policies: PolicySet) -> None:
    for request in (fresh(age_ms=60_001), fresh(acr="urn:pwd")):
        for how, call in every_entry_point(policies, request).items():
            d = call()
            assert (d.action, d.satisfied) == ("step_up", ()), how
            assert d.step_up == (
                {"policy": "issues", "max_age": 60, "acr_values": ["urn:mfa", "urn:hwk"]},
            ), how


def test_step_up_requirements_are_new_dicts_and_match_to_dict(policies: PolicySet) -> None:
    d = policies.evaluate("alice", "github", "create_issue")
    first = d.step_up
    first[0]["max_age"] = 1  # a caller's change is its own
    assert d.step_up[0]["max_age"] == 60
    assert d.to_dict()["step_up"] == list(d.step_up)
    assert d.to_dict()["satisfied"] == []


def test_decisions_differing_in_satisfied_are_distinct(policies: PolicySet) -> None:
    allow_plain = PolicySet.from_dict(
        {**DOC, "policies": [{**DOC["policies"][0], "action": "allow"}]}
    ).evaluate("alice", "github", "create_issue")
    satisfied = policies.evaluate_request(fresh())
    # Same set: a cached decision must not stand for another.
    again = policies.evaluate_request(fresh())
    unsatisfied = policies.evaluate_request(fresh(age_ms=61_000))
    assert satisfied == again and hash(satisfied) == hash(again)
    assert satisfied != unsatisfied
    assert satisfied.satisfied == ("issues",) and allow_plain.satisfied == ()
    assert "satisfied=('issues',)" in repr(satisfied)


def test_now_as_an_aware_datetime_is_milliseconds(policies: PolicySet) -> None:
    now = datetime.datetime.fromtimestamp(T0 / 1000, UTC) + datetime.timedelta(microseconds=999)
    auth_time = datetime.datetime.fromtimestamp((T0 - 60_000) / 1000, UTC)
    for how, call in every_entry_point(
        policies,
        {
            "user": "alice",
            "connector": "github",
            "tool": "create_issue",
            "now": now,
            "auth": {"time": auth_time, "acr": "urn:mfa"},
        },
    ).items():
        if "JSON" in how:
            continue  # JSON text has no datetimes
        # 60 000 ms old exactly: the sub-millisecond part of `now` is truncated.
        assert call().allowed, how
    other_zone = datetime.timezone(datetime.timedelta(hours=-5))
    late = datetime.datetime.fromtimestamp((T0 + 1) / 1000, other_zone)
    d = policies.evaluate(
        "alice", "github", "create_issue", now=late, auth={"time": T0 - 60_000, "acr": "urn:mfa"}
    )
    assert d.action == "step_up"  # 60 001 ms: one too many, whatever the zone


def test_a_naive_datetime_is_refused(policies: PolicySet) -> None:
    naive = datetime.datetime(2026, 11, 25, 10, 0)
    with pytest.raises(RequestError) as raised:
        policies.evaluate("alice", "github", "create_issue", now=naive)
    assert raised.value.path == "/now" and "naive" in raised.value.message
    request = {**fresh(), "auth": {"time": naive}}
    calls: list[Callable[[], object]] = [
        lambda: policies.evaluate_request(request),
        lambda: policies.evaluate("alice", "github", "create_issue", now=T0, auth={"time": naive}),
    ]
    for call in calls:
        with pytest.raises(RequestError) as raised:
            call()
        assert raised.value.path == "/auth/time"


@pytest.mark.parametrize(
    ("evidence", "path"),
    [
        ({"auth": {"time": T0}}, "/auth"),
        ({"grants": []}, "/grants"),
        ({"now": "yesterday"}, "/now"),
        ({"now": T0, "auth": {"time": T0, "level": 2}}, "/auth/level"),
        ({"now": T0, "auth": {"acr": "x"}}, "/auth"),
        ({"now": T0, "grants": [{"id": "g"}]}, "/grants/0"),
        ({"now": T0, "grants": "g"}, "/grants"),
        ({"arguments": 7}, "/arguments"),
        ({"now": T0, "grants": [{}] * 65}, "/grants"),
        ({"now": T0, "auth": {"time": float("nan")}}, "/auth/time"),
    ],
)
def test_invalid_evidence_is_the_engines_invalid_request(
    policies: PolicySet, evidence: dict[str, Any], path: str
) -> None:
    request = {"user": "alice", "connector": "github", "tool": "create_issue", **evidence}
    errors = []
    for how, call in every_entry_point(policies, request).items():
        if "JSON" in how and "nan" in str(evidence):
            continue
        with pytest.raises(RequestError) as raised:
            call()
        errors.append((raised.value.path, raised.value.message))
        assert raised.value.code == "invalid_request", how
        assert raised.value.path == path, (how, raised.value.message)
    # Every entry point refuses it in the same words: the engine's.
    assert len(set(errors)) == 1, errors


def test_arguments_alone_need_no_now(policies: PolicySet) -> None:
    d = policies.evaluate("alice", "github", "delete", arguments="abc")
    assert d.action == "request_approval" and d.approval_flows == ("review",)


def test_none_evidence_keywords_are_not_given(policies: PolicySet) -> None:
    d = policies.evaluate(
        "alice", "github", "delete", now=None, auth=None, grants=None, arguments=None
    )
    assert d == policies.evaluate("alice", "github", "delete")


def test_reason_internal_is_a_reason() -> None:
    assert Reason("internal") is Reason.INTERNAL


def test_evidence_keywords_are_in_the_signature_and_a_misspelt_one_is_refused(
    policies: PolicySet,
) -> None:
    engine = Engine(policies)
    for method in (PolicySet.evaluate, PolicySet.explain, Engine.evaluate, Engine.explain):
        names = list(inspect.signature(method).parameters)
        assert names[-6:] == ["groups", "context", "now", "auth", "grants", "arguments"]
    calls: list[Callable[..., object]] = [
        policies.evaluate,
        policies.explain,
        engine.evaluate,
        engine.explain,
    ]
    for call in calls:
        with pytest.raises(TypeError, match="unexpected keyword argument 'nwo'"):
            call("alice", "github", "delete", nwo=T0)
