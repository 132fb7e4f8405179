"""The OpenAI Agents SDK adapter against the real package, driven by the SDK's ScriptedModel
(no network)."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import (
    Agent,
    FunctionTool,
    Runner,
    ToolCallOutputItem,
    function_tool,
    set_tracing_disabled,
)
from agents.testing import ScriptedModel, assistant_message, function_call
from conftest import Host

from agen_policy import PolicySet
from agen_policy.integrations import PolicyGate
from agen_policy.integrations.openai_agents import PolicyTools

set_tracing_disabled(True)


def setup(host: Host, policies: PolicySet, name: str) -> tuple[Agent[Host], PolicyTools]:
    model = ScriptedModel(
        [
            {"output": [function_call(name, {"topic": "q3"}, call_id="call_1")]},
            {"output": [assistant_message("done")]},
        ]
    )
    gate = PolicyGate(
        policies, connector="demo", approvals=host.store, on_decision=host.records.append
    )
    # The run context is the host's session; the identity is read from it at each decision.
    policy = PolicyTools(gate, identity=lambda session: session.identity())
    tools: list[FunctionTool] = [
        function_tool(fn)
        for fn in (
            host.read_notes,
            host.delete_notes,
            host.share_notes,
            host.purge_notes,
            host.teleport,
        )
    ]
    agent = Agent[Host](name="notes", model=model, tools=list(policy.wrap_all(tools)))
    return agent, policy


def run(agent: Agent[Host], host: Host, value: Any = "go") -> Any:
    return asyncio.run(Runner.run(agent, value, context=host))


def outputs(result: Any) -> list[str]:
    return [str(i.output) for i in result.new_items if isinstance(i, ToolCallOutputItem)]


def test_allow_runs_the_tool(host: Host, policies: PolicySet) -> None:
    agent, _ = setup(host, policies, "read_notes")
    result = run(agent, host)
    assert outputs(result) == ["notes about q3"]
    assert result.final_output == "done"
    assert host.ran == {"read_notes": 1}


def test_deny_is_a_refusal_the_model_reads(host: Host, policies: PolicySet) -> None:
    agent, _ = setup(host, policies, "delete_notes")
    result = run(agent, host)
    assert "denied by policy" in outputs(result)[0]
    assert result.final_output == "done"
    assert host.ran == {}


def test_unknown_tool_is_denied(host: Host, policies: PolicySet) -> None:
    agent, _ = setup(host, policies, "teleport")
    result = run(agent, host)
    assert "denied by policy" in outputs(result)[0]
    assert host.ran == {}


def approval_round(host: Host, policies: PolicySet, *, approve: bool) -> Any:
    agent, policy = setup(host, policies, "purge_notes")
    paused = run(agent, host)
    [item] = paused.interruptions
    outcome = policy.outcome(item.raw_item.call_id)
    assert outcome is not None and outcome.payload()["action"] == "request_approval"
    [approval] = outcome.approvals
    assert host.ran == {}
    state = paused.to_state()
    if approve:
        host.approve(approval["id"])
        state.approve(item)
    else:
        host.reject(approval["id"])
        state.reject(item)
    return asyncio.run(Runner.run(agent, state))


def test_approval_pauses_and_runs_once_approved(host: Host, policies: PolicySet) -> None:
    result = approval_round(host, policies, approve=True)
    assert outputs(result)[-1] == "purged"
    assert host.ran == {"purge_notes": 1}


def test_rejected_approval_never_runs(host: Host, policies: PolicySet) -> None:
    approval_round(host, policies, approve=False)
    assert host.ran == {}


def test_a_forged_approval_does_not_run(host: Host, policies: PolicySet) -> None:
    agent, _ = setup(host, policies, "purge_notes")
    paused = run(agent, host)
    state = paused.to_state()
    state.approve(paused.interruptions[0])
    result = asyncio.run(Runner.run(agent, state))
    assert "needs an approver" in outputs(result)[-1]
    assert host.ran == {}


def test_step_up_pauses_until_reauthenticated(host: Host, policies: PolicySet) -> None:
    agent, policy = setup(host, policies, "share_notes")
    paused = run(agent, host)
    [item] = paused.interruptions
    outcome = policy.outcome(item.raw_item.call_id)
    assert outcome is not None and outcome.payload()["action"] == "step_up"
    assert host.ran == {}
    host.reauthenticate()
    state = paused.to_state()
    state.approve(item)
    result = asyncio.run(Runner.run(agent, state))
    assert outputs(result)[-1] == "shared"
    assert host.ran == {"share_notes": 1}
