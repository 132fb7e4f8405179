"""The Pydantic AI adapter against the real package, driven by its TestModel (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Host
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, ToolReturnPart
from pydantic_ai.models.test import TestModel
from pydantic_ai.toolsets import FunctionToolset

from agen_policy import Identity, PolicySet
from agen_policy.integrations import PolicyGate
from agen_policy.integrations.pydantic_ai import PolicyToolset


def agent_for(host: Host, policies: PolicySet, tool: str) -> Agent[Identity, Any]:
    toolset = FunctionToolset[Identity](
        [host.read_notes, host.delete_notes, host.share_notes, host.purge_notes, host.teleport]
    )
    gate = PolicyGate(
        policies, connector="demo", approvals=host.store, on_decision=host.records.append
    )
    return Agent(
        TestModel(call_tools=[tool]),
        deps_type=Identity,
        output_type=[str, DeferredToolRequests],
        toolsets=[PolicyToolset(toolset, gate=gate)],
    )


def tool_returns(messages: list[Any]) -> list[ToolReturnPart]:
    return [p for m in messages for p in m.parts if isinstance(p, ToolReturnPart)]


def run(agent: Agent[Identity, Any], host: Host, **kwargs: Any) -> Any:
    return asyncio.run(agent.run("go", deps=host.identity(), **kwargs))


def test_allow_runs_the_tool(host: Host, policies: PolicySet) -> None:
    result = run(agent_for(host, policies, "read_notes"), host)
    assert isinstance(result.output, str)
    assert host.ran == {"read_notes": 1}
    assert [r["action"] for r in host.records] == ["allow", "allow"]


def test_deny_is_a_failure_the_model_reads(host: Host, policies: PolicySet) -> None:
    result = run(agent_for(host, policies, "delete_notes"), host)
    returns = tool_returns(result.all_messages())
    assert "denied by policy and did not run" in str(returns[0].content)
    assert host.ran == {}


def test_unknown_tool_is_denied(host: Host, policies: PolicySet) -> None:
    result = run(agent_for(host, policies, "teleport"), host)
    assert "denied by policy" in str(tool_returns(result.all_messages())[0].content)
    assert host.ran == {}
    assert host.records[0]["reason"] == "no_policy"


def approval_round(host: Host, policies: PolicySet, *, approve: bool) -> None:
    agent = agent_for(host, policies, "purge_notes")
    first = run(agent, host)
    assert isinstance(first.output, DeferredToolRequests)
    [call] = first.output.approvals
    meta = first.output.metadata[call.tool_call_id]
    assert meta["action"] == "request_approval"
    [approval_id] = meta["approval_requests"]
    assert host.store.get(approval_id)["status"] == "pending"  # type: ignore[index]
    assert host.ran == {}
    # A framework approval without the §8 approval does not run the tool.
    forged = run(
        agent,
        host,
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call.tool_call_id: True}),
    )
    assert "needs an approver" in str(tool_returns(forged.all_messages())[-1].content)
    assert host.ran == {}
    if approve:
        host.approve(approval_id)
    else:
        host.reject(approval_id)
    resumed = run(
        agent,
        host,
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call.tool_call_id: approve}),
    )
    assert isinstance(resumed.output, str)


def test_approval_pauses_and_runs_once_approved(host: Host, policies: PolicySet) -> None:
    approval_round(host, policies, approve=True)
    assert host.ran == {"purge_notes": 1}


def test_rejected_approval_never_runs(host: Host, policies: PolicySet) -> None:
    approval_round(host, policies, approve=False)
    assert host.ran == {}


def test_step_up_pauses_until_reauthenticated(host: Host, policies: PolicySet) -> None:
    agent = agent_for(host, policies, "share_notes")
    first = run(agent, host)
    assert isinstance(first.output, DeferredToolRequests)
    [call] = first.output.approvals
    meta = first.output.metadata[call.tool_call_id]
    assert meta["action"] == "step_up" and meta["step_up"][0]["max_age"] == 300
    assert host.ran == {}
    host.reauthenticate()
    resumed = run(
        agent,
        host,
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call.tool_call_id: True}),
    )
    assert isinstance(resumed.output, str)
    assert host.ran == {"share_notes": 1}
