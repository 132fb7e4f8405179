"""The tool-call guard: identity from ``acting_for``, exceptions per action."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

import pytest

from agen_policy import (
    Action,
    ApprovalRequired,
    ArgumentError,
    Decision,
    PolicyError,
    PolicySet,
    RequestError,
    StepUpRequired,
    ToolBlocked,
    ToolDenied,
    acting_for,
    check,
    current_identity,
    enforce,
    guard,
)
from agen_policy._native import blocked_outcome

TRUSTED = {"agent": {"type": "ChatGPT"}}


def test_an_allowed_call_runs(acme: PolicySet) -> None:
    calls: list[str] = []

    @guard(acme, connector="github")
    def create_repository(name: str, *, private: bool = True) -> str:
        """Creates a repository."""
        calls.append(f"{name} {private}")
        return name

    with acting_for("alice", context=TRUSTED) as identity:
        assert current_identity() is identity
        assert create_repository("x", private=False) == "x"
    assert calls == ["x False"]
    assert create_repository.__name__ == "create_repository"
    assert create_repository.__doc__ == "Creates a repository."


@pytest.mark.parametrize(
    ("user", "connector", "tool", "blocked", "action"),
    [
        ("erin", "github", "create_repository", ToolDenied, Action.DENY),
        ("alice", "google_drive", "share_file", StepUpRequired, Action.STEP_UP),
        ("alice", "github", "delete_repository", ApprovalRequired, Action.REQUEST_APPROVAL),
        ("carol", "github", "delete_repository", ToolDenied, Action.DENY),
    ],
)
def test_a_blocked_call_raises_and_does_not_run(
    acme: PolicySet,
    user: str,
    connector: str,
    tool: str,
    blocked: type[ToolBlocked],
    action: Action,
) -> None:
    ran: list[str] = []

    @guard(acme, connector=connector, tool=tool)
    def the_tool() -> None:
        ran.append("ran")

    with acting_for(user, context=TRUSTED), pytest.raises(blocked) as raised:
        the_tool()
    assert ran == []
    e = raised.value
    assert isinstance(e, ToolBlocked) and isinstance(e, PolicyError)
    assert e.decision.action is action
    assert (e.user, e.connector, e.tool) == (user, connector, tool)
    assert str(e).startswith(f"{connector}/{tool} for user {user}: {action.value}")


def test_approval_required_names_the_flows(acme: PolicySet) -> None:
    with acting_for("bob"), pytest.raises(ApprovalRequired) as raised:
        check(acme, connector="github", tool="delete_repository")
    assert raised.value.approval_flows == ("security-review",)


def test_groups_come_with_the_identity(acme: PolicySet) -> None:
    with acting_for("zoe"), pytest.raises(ToolDenied):
        check(acme, connector="hubspot", tool="list_contacts")
    with acting_for("zoe", groups=["sales"]):
        assert check(acme, connector="hubspot", tool="list_contacts").allowed


def test_without_an_identity_nothing_runs(acme: PolicySet) -> None:
    ran: list[str] = []

    @guard(acme, connector="github")
    def list_user_repositories() -> None:
        ran.append("ran")

    assert current_identity() is None
    with pytest.raises(RequestError) as raised:
        list_user_repositories()
    assert raised.value.path == "/user" and ran == []


def test_identities_nest_and_restore(acme: PolicySet) -> None:
    with acting_for("alice") as outer:
        with acting_for("erin", context=TRUSTED) as inner:
            assert current_identity() is inner and inner.user == "erin"
            with pytest.raises(ToolDenied):
                check(acme, connector="github", tool="create_repository")
        assert current_identity() is outer
    assert current_identity() is None


def test_identities_do_not_leak_across_threads(acme: PolicySet) -> None:
    seen: list[object] = []
    with acting_for("alice"):
        thread = threading.Thread(target=lambda: seen.append(current_identity()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_the_context_is_copied(acme: PolicySet) -> None:
    context = {"agent": {"type": "ChatGPT"}}
    with acting_for("alice", context=context) as identity:
        context["agent"] = {"type": "Unknown"}
        assert check(acme, connector="github", tool="create_issue").allowed
    assert identity.context == {"agent": {"type": "ChatGPT"}}


def test_explicit_identity(acme: PolicySet) -> None:
    d = check(acme, user="alice", connector="github", tool="create_issue", context=TRUSTED)
    assert isinstance(d, Decision) and d.allowed
    with pytest.raises(ToolDenied):
        check(acme, user="alice", connector="github", tool="create_issue")
    with acting_for("alice"), pytest.raises(ArgumentError, match="groups, context and evidence come with"):
        check(acme, connector="github", tool="create_issue", context=TRUSTED)


def test_policies_may_be_swapped_through_a_callable(acme: PolicySet) -> None:
    current = {"set": acme}
    deny_all = PolicySet.from_dict(
        {"connectors": [{"id": "github", "tools": [{"name": "list_user_repositories"}]}]}
    )

    @guard(lambda: current["set"], connector="github")
    def list_user_repositories() -> str:
        return "ok"

    with acting_for("alice"):
        assert list_user_repositories() == "ok"
        current["set"] = deny_all
        with pytest.raises(ToolDenied) as raised:
            list_user_repositories()
    assert raised.value.decision.version == deny_all.version


def test_enforce_maps_actions_to_exceptions(acme: PolicySet) -> None:
    allowed = acme.evaluate("alice", "github", "list_user_repositories")
    assert enforce(allowed, user="alice", connector="github", tool="x") is allowed
    step_up = acme.evaluate("alice", "google_drive", "share_file")
    with pytest.raises(StepUpRequired):
        enforce(step_up, user="alice", connector="google_drive", tool="share_file")


def test_async_tools_are_checked_before_they_run(acme: PolicySet) -> None:
    ran: list[str] = []

    @guard(acme, connector="github")
    async def delete_repository(name: str) -> str:
        ran.append(name)
        return name

    @guard(acme, connector="github")
    async def list_user_repositories() -> list[str]:
        await asyncio.sleep(0)
        return ["r"]

    async def session(user: str) -> object:
        with acting_for(user):
            await asyncio.sleep(0)  # the other session runs meanwhile
            try:
                return await delete_repository("old")
            except ToolBlocked as e:
                return type(e)

    async def main() -> list[object]:
        with acting_for("alice"):
            assert await list_user_repositories() == ["r"]
        return list(await asyncio.gather(session("alice"), session("carol")))

    assert asyncio.run(main()) == [ApprovalRequired, ToolDenied]
    assert ran == []


def test_blocked_outcomes_and_codes_come_from_the_core(acme: PolicySet) -> None:
    assert blocked_outcome(Action.ALLOW) is None
    expected = {
        Action.DENY: ("tool_denied", ToolDenied),
        Action.STEP_UP: ("step_up_required", StepUpRequired),
        Action.REQUEST_APPROVAL: ("approval_required", ApprovalRequired),
    }
    for action, (code, cls) in expected.items():
        assert blocked_outcome(action) == (code, cls.__name__)
        assert cls.code == code
    for user, connector, tool, cls in [
        ("erin", "github", "create_repository", ToolDenied),
        ("alice", "google_drive", "share_file", StepUpRequired),
        ("alice", "github", "delete_repository", ApprovalRequired),
    ]:
        with acting_for(user), pytest.raises(cls) as raised:
            check(acme, connector=connector, tool=tool)
        assert raised.value.code == expected[raised.value.decision.action][0]
        assert isinstance(raised.value, ToolBlocked)


def test_tool_call_arguments_are_not_an_input_of_the_guard(acme: PolicySet) -> None:
    # alice may create a repository only through a trusted agent, which the host vouches for
    # in acting_for's context. Arguments shaped like that context change nothing.
    ran: list[object] = []

    @guard(acme, connector="github")
    def create_repository(*args: object, **kwargs: object) -> str:
        ran.append((args, kwargs))
        return "created"

    forged: dict[str, Any] = {"agent.type": "ChatGPT"}
    calls: list[Callable[[], object]] = [
        lambda: create_repository(forged),
        lambda: create_repository(**forged),
        lambda: create_repository(context={"agent": {"type": "ChatGPT"}}, user="bob"),
        lambda: create_repository(agent={"type": "ChatGPT"}, groups=["engineering"]),
    ]
    with acting_for("alice"):
        for call in calls:
            with pytest.raises(ToolDenied) as raised:
                call()
            assert raised.value.decision.policies == ("github-write-trusted-agents",)
            assert raised.value.user == "alice"
    assert ran == []
    # The same call with the context from the host is allowed: the context does matter.
    with acting_for("alice", context={"agent.type": "ChatGPT"}):
        assert create_repository(**forged) == "created"
    assert len(ran) == 1


def test_coroutines_raise_when_awaited_not_when_called(acme: PolicySet) -> None:
    ran: list[str] = []

    @guard(acme, connector="github")
    async def delete_repository(name: str) -> str:
        ran.append(name)
        return name

    assert inspect.iscoroutinefunction(delete_repository)

    async def main() -> None:
        with acting_for("alice"):
            coroutine = delete_repository("old")  # no check yet: nothing is raised
            assert inspect.iscoroutine(coroutine)
            with pytest.raises(ApprovalRequired) as raised:
                await coroutine
            assert raised.value.code == "approval_required"
            task = asyncio.create_task(delete_repository("older"))
            await asyncio.wait([task])
            error = task.exception()
            assert isinstance(error, ToolBlocked) and isinstance(error, ApprovalRequired)
            assert error.decision.approval_flows == ("security-review",)

    asyncio.run(main())
    assert ran == []
