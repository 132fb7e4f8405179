"""The guard with the host's evidence: a call blocked for a step-up runs once the host
re-authenticates the user, one blocked for an approval runs once the grant is in the identity,
and a grant bound to arguments lets only those arguments through."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import pytest

from agen_policy import (
    ApprovalRequired,
    ArgumentError,
    PolicySet,
    RequestError,
    StepUpRequired,
    acting_for,
    arguments_digest,
    check,
    current_identity,
    guard,
)

UTC = datetime.timezone.utc

DOC: dict[str, Any] = {
    "step_up": {"max_age": 300, "acr_values": ["urn:mfa"]},
    "connectors": [
        {
            "id": "github",
            "tools": [{"name": "delete_repository"}, {"name": "create_issue"}],
        }
    ],
    "users": [{"id": "alice"}, {"id": "bob"}],
    "approval_flows": [{"id": "review", "steps": [{"users": ["bob"]}]}],
    "policies": [
        {
            "id": "deletes",
            "name": "Deletes need a review",
            "connector": "github",
            "action": "request_approval",
            "approval_flow": "review",
            "all_users": True,
            "tools": ["delete_repository"],
        },
        {
            "id": "issues",
            "name": "Issues need a fresh MFA login",
            "connector": "github",
            "action": "step_up",
            "all_users": True,
            "tools": ["create_issue"],
        },
    ],
}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_step_up_then_reauthentication_lets_the_call_run(policies: PolicySet) -> None:
    ran: list[str] = []

    @guard(policies, connector="github")
    def create_issue(title: str) -> str:
        ran.append(title)
        return title

    long_ago = now_ms() - 3_600_000
    with acting_for("alice", auth={"time": long_ago, "acr": "urn:mfa"}):
        with pytest.raises(StepUpRequired) as raised:
            create_issue("bug")
    assert raised.value.step_up == (
        {"policy": "issues", "max_age": 300, "acr_values": ["urn:mfa"]},
    )
    assert raised.value.request is not None and raised.value.request["auth"]["time"] == long_ago
    assert ran == []
    # The host re-authenticates the user (its own login flow), then enters a new identity.
    fresh = datetime.datetime.now(UTC)
    with acting_for("alice", auth={"time": fresh, "acr": "urn:mfa"}):
        assert create_issue("bug") == "bug"
    # The wrong class of authentication is still not enough.
    with acting_for("alice", auth={"time": fresh, "acr": "urn:pwd"}):
        with pytest.raises(StepUpRequired):
            create_issue("bug")
    assert ran == ["bug"]


def test_the_guard_reads_the_clock_only_for_evidence(policies: PolicySet) -> None:
    # A fixed `now` in the identity wins over the host's clock.
    with acting_for("alice", now=1_000_000, auth={"time": 999_000, "acr": "urn:mfa"}):
        assert check(policies, connector="github", tool="create_issue").allowed
    with acting_for("alice", now=1_000_000, auth={"time": 600_000, "acr": "urn:mfa"}):
        with pytest.raises(StepUpRequired):
            check(policies, connector="github", tool="create_issue")
    # Without `now`, each call reads the host's clock: an authentication "in the future" by an
    # hour is not fresh now.
    with acting_for("alice", auth={"time": now_ms() + 3_600_000, "acr": "urn:mfa"}):
        with pytest.raises(StepUpRequired):
            check(policies, connector="github", tool="create_issue")
    # Without evidence no `now` is sent: the request is exactly a v1 request.
    with acting_for("alice"):
        with pytest.raises(StepUpRequired) as raised:
            check(policies, connector="github", tool="create_issue")
    assert raised.value.request == {"user": "alice", "connector": "github", "tool": "create_issue"}


def test_approval_then_grant_lets_the_call_run(policies: PolicySet) -> None:
    ran: list[str] = []

    @guard(policies, connector="github", bind_arguments=True)
    def delete_repository(owner: str, repo: str, force: bool = False) -> str:
        ran.append(f"{owner}/{repo}")
        return repo

    with acting_for("alice"):
        with pytest.raises(ApprovalRequired) as raised:
            delete_repository("acme", "website")
    blocked = raised.value
    assert blocked.approval_flows == ("review",) and ran == []
    request = blocked.request
    assert request is not None
    assert request["arguments"] == arguments_digest({"owner": "acme", "repo": "website"})
    # The host opens the request, an approver approves, the host keeps the grant.
    state = policies.open_approval(request, blocked.approval_flows[0], "apr-1", now_ms())
    state = policies.approve(state, "bob", now_ms())
    grant = policies.grant(state)
    assert grant["arguments"] == request["arguments"]
    with acting_for("alice", grants=[grant]):
        assert delete_repository("acme", "website") == "website"
        assert delete_repository(owner="acme", repo="website") == "website"
        # The grant is bound to these arguments: others still need an approval.
        with pytest.raises(ApprovalRequired):
            delete_repository("acme", "payments")
        with pytest.raises(ApprovalRequired):
            delete_repository("acme", "website", force=True)
    # Another user holding the grant gets nothing from it.
    with acting_for("bob", grants=[grant]):
        with pytest.raises(ApprovalRequired):
            delete_repository("acme", "website")
    # An expired grant neither.
    with acting_for("alice", now=grant["expires"], grants=[grant]):
        with pytest.raises(ApprovalRequired):
            delete_repository("acme", "website")
    assert ran == ["acme/website", "acme/website"]


def test_arguments_are_evidence_never_context(policies: PolicySet) -> None:
    seen: list[dict[str, Any]] = []

    @guard(policies, connector="github", tool="delete_repository", bind_arguments=True)
    def tool(**kwargs: Any) -> None:
        seen.append(kwargs)

    with acting_for("alice"):
        with pytest.raises(ApprovalRequired) as raised:
            tool(user="bob", context={"agent": "x"}, auth={"time": 0})
    request = raised.value.request
    assert request is not None
    assert (request["user"], "context" in request, "auth" in request) == ("alice", False, False)
    assert request["arguments"] == arguments_digest(
        {"kwargs": {"user": "bob", "context": {"agent": "x"}, "auth": {"time": 0}}}
    )
    assert current_identity() is None


def test_bound_arguments_that_do_not_fit_or_have_no_json_form(policies: PolicySet) -> None:
    @guard(policies, connector="github", bind_arguments=True)
    def delete_repository(repo: str) -> None: ...

    with acting_for("alice"):
        with pytest.raises(ArgumentError):
            delete_repository("a", "b")  # type: ignore[call-arg]
        with pytest.raises(RequestError):
            delete_repository(object())  # type: ignore[arg-type]


def test_async_tools_carry_their_arguments_too(policies: PolicySet) -> None:
    @guard(policies, connector="github", bind_arguments=True)
    async def delete_repository(repo: str) -> str:
        return repo

    async def main() -> str:
        with acting_for("alice"):
            try:
                await delete_repository("website")
            except ApprovalRequired as blocked:
                assert blocked.request is not None
                state = policies.open_approval(blocked.request, "review", "a", now_ms())
                grant = policies.grant(policies.approve(state, "bob", now_ms()))
        with acting_for("alice", grants=(grant,)):
            return await delete_repository("website")

    assert asyncio.run(main()) == "website"


def test_identity_evidence_of_the_wrong_kind_is_refused(policies: PolicySet) -> None:
    with pytest.raises(RequestError):
        with acting_for("alice", auth="yesterday"):  # type: ignore[arg-type]
            pass
    with pytest.raises(RequestError):
        with acting_for("alice", grants="g"):  # type: ignore[arg-type]
            pass
    with acting_for("alice", auth={"time": "not a time"}):
        with pytest.raises(RequestError) as raised:
            check(policies, connector="github", tool="create_issue")
    assert raised.value.path == "/auth/time"
    with acting_for("alice"), pytest.raises(ArgumentError):
        check(policies, connector="github", tool="create_issue", auth={"time": 1})


def test_explicit_evidence_with_an_explicit_user(policies: PolicySet) -> None:
    fresh = now_ms()
    d = check(
        policies,
        connector="github",
        tool="create_issue",
        user="alice",
        auth={"time": fresh, "acr": "urn:mfa"},
    )
    assert d.allowed and d.satisfied == ("issues",)
