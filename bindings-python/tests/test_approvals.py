"""Approval requests (SPEC §8) on dicts, and the arguments digest (SPEC §8.5)."""

from __future__ import annotations

import copy
import datetime
import json
import pickle
from typing import Any

import pytest

import agen_policy
from agen_policy import ApprovalError, PolicyError, PolicySet, RequestError, arguments_digest
from harness import CONFORMANCE_DIR

T0 = 1_795_600_800_000
UTC = datetime.timezone.utc

DOC: dict[str, Any] = {
    "connectors": [{"id": "github", "tools": [{"name": "delete"}, {"name": "read"}]}],
    "groups": [{"id": "security"}],
    "users": [
        {"id": "alice"},
        {"id": "bob"},
        {"id": "carol", "groups": ["security"]},
        {"id": "dan", "groups": ["security"]},
    ],
    "approval_flows": [
        {
            "id": "review",
            "timeout": 3600,
            "steps": [
                {"users": ["bob"], "groups": ["security"], "min_approvals": 2},
                {"users": ["erin"]},
            ],
        }
    ],
    "policies": [
        {
            "id": "deletes",
            "name": "Deletes need a review",
            "connector": "github",
            "action": "request_approval",
            "approval_flow": "review",
            "all_users": True,
            "tools": ["delete"],
        },
        {
            "id": "reads",
            "name": "Reads for all",
            "connector": "github",
            "action": "allow",
            "all_users": True,
            "tools": ["read"],
        },
    ],
}
REQUEST = {"user": "alice", "connector": "github", "tool": "delete"}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


@pytest.fixture
def opened(policies: PolicySet) -> dict[str, Any]:
    return policies.open_approval(REQUEST, "review", "apr-1", T0)


def code_of(call: Any) -> str:
    with pytest.raises(ApprovalError) as raised:
        call()
    assert isinstance(raised.value, PolicyError)
    return raised.value.code


def test_the_whole_lifecycle_on_dicts(policies: PolicySet, opened: dict[str, Any]) -> None:
    assert opened["status"] == "pending" and opened["approvals"] == [[]]
    assert policies.eligible_approvers(opened) == ("bob", "carol", "dan")
    before = copy.deepcopy(opened)
    one = policies.approve(opened, "bob", T0 + 1)
    assert opened == before  # states are values: the given one never changes
    assert policies.eligible_approvers(one) == ("carol", "dan")
    two = policies.approve(one, "dan", T0 + 2, groups=["elsewhere"])
    assert (two["step"], two["approvals"]) == (1, [["bob", "dan"], []])
    policies.check_approver(two, "erin", T0 + 3)  # returns None: erin may act
    done = policies.approve(two, "erin", T0 + 3)
    assert (done["status"], done["closed"]) == ("approved", T0 + 3)
    grant = policies.grant(done)
    assert grant["approvers"] == ["bob", "dan", "erin"]
    assert grant["expires"] == T0 + 3 + 3600 * 1000
    d = policies.evaluate("alice", "github", "delete", now=T0 + 4, grants=[grant])
    assert d.allowed and d.satisfied == ("deletes",)
    # A grant survives JSON, as a host's store keeps it.
    assert policies.evaluate_json(
        json.dumps({**REQUEST, "now": T0 + 4, "grants": [grant]})
    ).allowed


def test_the_engines_codes(policies: PolicySet, opened: dict[str, Any]) -> None:
    allowed = {**REQUEST, "tool": "read"}
    assert code_of(lambda: policies.open_approval(allowed, "review", "a", T0)) == "not_requested"
    assert code_of(lambda: policies.approve(opened, "alice", T0)) == "self_approval"
    assert code_of(lambda: policies.approve(opened, "erin", T0)) == "not_an_approver"
    assert code_of(lambda: policies.reject(opened, "erin", T0)) == "not_an_approver"
    one = policies.approve(opened, "bob", T0)
    assert code_of(lambda: policies.approve(one, "bob", T0)) == "already_voted"
    assert policies.reject(one, "bob", T0)["rejected_by"] == "bob"  # may still reject
    assert code_of(lambda: policies.approve(opened, "bob", T0 + 3_600_000)) == "expired"
    assert code_of(lambda: policies.check_approver(opened, "bob", T0 + 3_600_000)) == "expired"
    expired = policies.tick(opened, T0 + 9_999_999)
    assert (expired["status"], expired["closed"]) == ("expired", T0 + 3_600_000)
    assert policies.tick(opened, T0) == opened
    assert code_of(lambda: policies.cancel(expired, T0)) == "not_pending"
    assert code_of(lambda: policies.grant(opened)) == "not_approved"
    assert policies.cancel(opened, T0 + 5)["status"] == "cancelled"
    # Group claims from the host count for approvers outside the directory's groups.
    assert policies.approve(opened, "zed", T0, groups={"security"})["approvals"] == [["zed"]]


def test_arguments_are_checked_before_the_state(policies: PolicySet) -> None:
    broken = {"status": "??"}
    with pytest.raises(ApprovalError) as raised:
        policies.approve(broken, "", T0)
    assert raised.value.code == "invalid_request"
    assert code_of(lambda: policies.approve(broken, "bob", "not a time")) == "invalid_request"
    assert code_of(lambda: policies.approve(broken, "bob", T0, groups=[""])) == "invalid_request"
    text_groups: Any = "security"
    assert code_of(lambda: policies.approve(broken, "bob", T0, groups=text_groups)) == (
        "invalid_request"
    )
    assert code_of(lambda: policies.approve(broken, "bob", T0)) == "invalid_state"
    assert code_of(lambda: policies.check_approver(broken, "bob", T0)) == "invalid_state"
    assert code_of(lambda: policies.eligible_approvers(broken)) == "invalid_state"
    assert code_of(lambda: policies.grant(broken)) == "invalid_state"
    # A state with a value that has no JSON form is invalid_state too, once the arguments pass.
    unconvertible = {"id": {1, 2}}
    assert code_of(lambda: policies.cancel(unconvertible, "bad")) == "invalid_request"
    with pytest.raises(ApprovalError) as raised:
        policies.cancel(unconvertible, T0)
    assert (raised.value.code, raised.value.path) == ("invalid_state", "/id")
    assert code_of(lambda: policies.open_approval(REQUEST, "", "a", T0)) == "invalid_request"
    number_id: Any = 5
    assert code_of(lambda: policies.open_approval(REQUEST, "review", number_id, T0)) == (
        "invalid_request"
    )
    assert code_of(lambda: policies.open_approval({"user": "alice"}, "review", "a", T0)) == (
        "invalid_request"
    )
    with pytest.raises(ApprovalError) as raised:
        policies.open_approval({**REQUEST, "context": {"x": float("inf")}}, "review", "a", T0)
    assert (raised.value.code, raised.value.path) == ("invalid_request", "/context/x")


def test_instants_may_be_text_or_aware_datetimes(policies: PolicySet) -> None:
    at = datetime.datetime.fromtimestamp(T0 / 1000, UTC)
    state = policies.open_approval(REQUEST, "review", "a", at)
    assert state["opened"] == T0
    assert policies.open_approval(REQUEST, "review", "a", "2026-11-25T10:00:00Z") == state
    naive = at.replace(tzinfo=None)
    assert code_of(lambda: policies.open_approval(REQUEST, "review", "a", naive)) == (
        "invalid_request"
    )
    assert policies.approve(state, "bob", at + datetime.timedelta(seconds=1))["approvals"] == [
        ["bob"]
    ]


def test_approval_error_pickles_and_says_its_code() -> None:
    e = ApprovalError("the request is approved", "not_pending")
    again = pickle.loads(pickle.dumps(e))
    assert (again.code, again.message, str(again)) == (
        "not_pending",
        "the request is approved",
        "not_pending: the request is approved",
    )
    assert type(again) is agen_policy.ApprovalError


def test_arguments_digest_matches_the_shared_vectors() -> None:
    vectors = json.loads((CONFORMANCE_DIR / "data" / "arguments_digest.json").read_text())
    assert len(vectors) >= 10
    for vector in vectors:
        assert arguments_digest(vector["value"]) == vector["digest"], vector["name"]


def test_arguments_digest_reads_numbers_as_doubles() -> None:
    assert arguments_digest({"n": 2**64 + 1}) == arguments_digest({"n": float(2**64)})
    assert arguments_digest([2**53 + 1]) == arguments_digest([2**53])
    assert arguments_digest([1.0]) == arguments_digest([1])
    assert arguments_digest((1, "a")) == arguments_digest([1, "a"])


@pytest.mark.parametrize(
    "value",
    [float("nan"), [float("inf")], {"a": -float("inf")}, "\ud800", {"k\udfff": 1}, {1: 2}, {1, 2},
     [10**400], b"bytes"],
)
def test_arguments_digest_refuses_what_has_no_json_form(value: object) -> None:
    with pytest.raises(RequestError) as raised:
        arguments_digest(value)
    assert raised.value.code == "invalid_request"
