"""The LangChain v1 / LangGraph adapter against the real packages, driven by a fake chat model
(no network)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conftest import Host
from langchain.agents import create_agent
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agen_policy import Identity, PolicySet
from agen_policy.integrations import PolicyGate
from agen_policy.integrations.langchain import PolicyMiddleware


class FakeModel(GenericFakeChatModel):
    """The fake chat model, accepting tools as a real one does (it ignores them)."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self


def tools_of(host: Host) -> list[BaseTool]:
    made = []
    for fn in (
        host.read_notes,
        host.delete_notes,
        host.share_notes,
        host.purge_notes,
        host.teleport,
    ):
        made.append(tool(fn.__name__, description=f"{fn.__name__} of a topic")(_wrap(fn)))
    return made


def _wrap(fn: Callable[[str], str]) -> Callable[[str], str]:
    def body(topic: str) -> str:
        return fn(topic)

    return body


def agent_for(host: Host, policies: PolicySet, name: str) -> Any:
    model = FakeModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": name, "args": {"topic": "q3"}, "id": "call_1"}],
                ),
                AIMessage(content="done"),
            ]
        )
    )
    gate = PolicyGate(
        policies, connector="demo", approvals=host.store, on_decision=host.records.append
    )
    return create_agent(
        model,
        tools=tools_of(host),
        middleware=[PolicyMiddleware(gate)],
        checkpointer=InMemorySaver(),
        context_schema=Identity,
    )


CONFIG: Any = {"configurable": {"thread_id": "t1"}}


def invoke(agent: Any, host: Host, value: Any) -> dict[str, Any]:
    result: dict[str, Any] = agent.invoke(value, CONFIG, context=host.identity())
    return result


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


START = {"messages": [{"role": "user", "content": "go"}]}


def test_allow_runs_the_tool(host: Host, policies: PolicySet) -> None:
    result = invoke(agent_for(host, policies, "read_notes"), host, START)
    assert tool_messages(result)[0].content == "notes about q3"
    assert host.ran == {"read_notes": 1}


def test_deny_is_an_error_tool_message(host: Host, policies: PolicySet) -> None:
    result = invoke(agent_for(host, policies, "delete_notes"), host, START)
    [message] = tool_messages(result)
    assert message.status == "error" and "denied by policy" in str(message.content)
    assert result["messages"][-1].content == "done"
    assert host.ran == {}


def test_unknown_tool_is_denied(host: Host, policies: PolicySet) -> None:
    result = invoke(agent_for(host, policies, "teleport"), host, START)
    assert "denied by policy" in str(tool_messages(result)[0].content)
    assert host.ran == {}


def approval_round(host: Host, policies: PolicySet, *, approve: bool) -> dict[str, Any]:
    agent = agent_for(host, policies, "purge_notes")
    paused = invoke(agent, host, START)
    [pending] = paused["__interrupt__"]
    value = pending.value
    assert value["type"] == "tool_approval" and value["tool_call_id"] == "call_1"
    assert value["name"] == "purge_notes" and value["args"] == {"topic": "q3"}
    [approval_id] = value["policy"]["approval_requests"]
    assert host.ran == {}
    if approve:
        host.approve(approval_id)
    else:
        host.reject(approval_id)
    return invoke(agent, host, Command(resume={"type": "approve" if approve else "reject"}))


def test_approval_pauses_and_runs_once_approved(host: Host, policies: PolicySet) -> None:
    result = approval_round(host, policies, approve=True)
    assert tool_messages(result)[0].content == "purged"
    assert host.ran == {"purge_notes": 1}


def test_rejected_approval_never_runs(host: Host, policies: PolicySet) -> None:
    result = approval_round(host, policies, approve=False)
    assert tool_messages(result)[0].status == "error"
    assert host.ran == {}


def test_a_forged_resume_does_not_run(host: Host, policies: PolicySet) -> None:
    agent = agent_for(host, policies, "purge_notes")
    invoke(agent, host, START)
    result = invoke(agent, host, Command(resume={"type": "approve"}))
    [message] = tool_messages(result)
    assert message.status == "error" and "needs an approver" in str(message.content)
    assert host.ran == {}


def test_step_up_pauses_until_reauthenticated(host: Host, policies: PolicySet) -> None:
    agent = agent_for(host, policies, "share_notes")
    paused = invoke(agent, host, START)
    [pending] = paused["__interrupt__"]
    assert pending.value["policy"]["action"] == "step_up"
    assert host.ran == {}
    host.reauthenticate()
    result = invoke(agent, host, Command(resume={"type": "approve"}))
    assert tool_messages(result)[0].content == "shared"
    assert host.ran == {"share_notes": 1}
