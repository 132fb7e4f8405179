"""LangChain v1 / LangGraph: an agent middleware that asks the policies before each tool call.

Add :class:`PolicyMiddleware` to ``create_agent(..., middleware=[...])`` (with a checkpointer,
so the run can pause). Each tool call is decided in ``wrap_tool_call`` (the pause point) and
again just before the tool runs:

* ``allow``: the tool runs;
* ``deny`` (and any error while deciding): an error ``ToolMessage`` with the core's refusal
  text; the model reads it and carries on;
* ``step_up`` and ``request_approval``: ``interrupt(...)`` with a value shaped like the
  human-in-the-loop middleware's per-call ``ToolApprovalRequest`` (``type: "tool_approval"``,
  ``tool_call_id``, ``name``, ``args``, ``description``) plus ``policy``, the outcome's payload
  (``action``, ``message``, ``approval_requests``, ``step_up``). The run stops with the
  interrupt in its result (``__interrupt__``). The host re-authenticates the user or lets the
  approvers vote (SPEC §8), then resumes with ``Command(resume={"type": "approve"})`` (or
  ``{"type": "reject"}``): the call is decided again with the evidence the host holds then,
  and runs only if it is allowed.

The identity comes from the run's context (``create_agent(context_schema=Identity)`` and
``invoke(..., context=identity)``, or what ``identity=`` finds in the runtime's context),
else from :func:`~agen_policy.acting_for`; never from the model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command, interrupt

from ..guard import Identity
from .common import Kind, Outcome, PolicyGate, ToolCall, resolve_identity

__all__ = ["PolicyMiddleware"]

Handler = Callable[[ToolCallRequest], ToolMessage | Command[Any]]
AsyncHandler = Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]]


class PolicyMiddleware(AgentMiddleware[Any, Any, Any]):
    """Decides every tool call of the agent with ``gate``.

    ``identity`` maps the runtime's context to the :class:`~agen_policy.Identity` a call is
    made for; left out, the context itself when it is one, else the current ``acting_for``
    block.
    """

    def __init__(
        self,
        gate: PolicyGate,
        *,
        identity: Callable[[Any], Identity | None] | None = None,
    ) -> None:
        super().__init__()
        self.gate = gate
        self.identity = identity

    def _refusal(self, request: ToolCallRequest, message: str) -> ToolMessage:
        call = request.tool_call
        return ToolMessage(
            content=message, name=call["name"], tool_call_id=call["id"] or "", status="error"
        )

    def _decide(
        self, request: ToolCallRequest
    ) -> tuple[ToolCallRequest | None, ToolMessage | None]:
        """The request to run (the final decision allowed it), or the message to return."""
        tc = request.tool_call
        try:
            context = getattr(request.runtime, "context", None)
            who = resolve_identity(context, self.identity)
        except Exception as e:  # noqa: BLE001 (fail closed)
            return None, self._refusal(request, self.gate.failed_message(tc["name"], e))
        call = ToolCall(tc["name"], tc.get("id"), tc.get("args") or {})
        outcome = self.gate.pause(call, who)
        if outcome.kind in (Kind.STEP_UP, Kind.APPROVAL):
            answer = interrupt(self._interrupt_value(request, outcome))
            if not (isinstance(answer, dict) and answer.get("type") == "approve"):
                reason = answer.get("message") if isinstance(answer, dict) else None
                return None, self._refusal(
                    request, reason or outcome.message or "the call did not run"
                )
        elif not outcome.runs:
            return None, self._refusal(request, outcome.message or "the call did not run")
        final = self.gate.final(call, who)
        if not final.runs:
            return None, self._refusal(request, final.message or "the call did not run")
        return request, None

    def _interrupt_value(self, request: ToolCallRequest, outcome: Outcome) -> dict[str, Any]:
        tc = request.tool_call
        return {
            "type": "tool_approval",
            "tool_call_id": tc.get("id") or "",
            "name": tc["name"],
            "args": dict(tc.get("args") or {}),
            "description": outcome.message or "",
            "policy": outcome.payload(),
        }

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Handler
    ) -> ToolMessage | Command[Any]:
        run, message = self._decide(request)
        if run is None:
            assert message is not None
            return message
        return handler(run)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: AsyncHandler
    ) -> ToolMessage | Command[Any]:
        run, message = self._decide(request)
        if run is None:
            assert message is not None
            return message
        return await handler(run)
