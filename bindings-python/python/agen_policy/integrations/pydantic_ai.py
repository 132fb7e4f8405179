"""Pydantic AI: a toolset wrapper that asks the policies before each tool call.

Wrap the agent's toolset in :class:`PolicyToolset`. For each call it decides at the call (the
pause point) and, when the call resumes approved, again just before the tool runs:

* ``allow``: the tool runs;
* ``deny`` (and any error while deciding): :class:`pydantic_ai.ToolFailed` with the core's
  refusal text; the model sees a failed tool result and carries on;
* ``step_up`` and ``request_approval``: :class:`pydantic_ai.ApprovalRequired`, so the run ends
  with :class:`pydantic_ai.DeferredToolRequests` (give the agent ``output_type=[...,
  DeferredToolRequests]``). ``DeferredToolRequests.metadata[tool_call_id]`` holds the
  outcome's payload (``action``, ``message``, ``approval_requests``, ``step_up``). The host
  re-authenticates the user or lets the approvers vote (SPEC §8), then runs the agent again
  with ``message_history`` and ``DeferredToolResults(approvals={tool_call_id: True})``: the call
  is decided again with the evidence the host holds then, and runs only if it is allowed.
  Answering ``False`` (or ``ToolDenied``) ends the call without running it.

The identity comes from the run's ``deps`` (an :class:`~agen_policy.Identity`, or what
``identity=`` finds in them), else from :func:`~agen_policy.acting_for`; never from the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import ApprovalRequired, RunContext, ToolFailed
from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from ..guard import Identity
from .common import Kind, PolicyGate, ToolCall, resolve_identity

__all__ = ["PolicyToolset"]


@dataclass
class PolicyToolset(WrapperToolset[Any]):
    """``wrapped``'s tools, each call decided by ``gate`` first.

    ``identity`` maps the run's ``deps`` to the :class:`~agen_policy.Identity` the call is made
    for; left out, ``deps`` itself when it is one, else the current ``acting_for`` block.
    """

    gate: PolicyGate = field(kw_only=True)
    identity: Callable[[Any], Identity | None] | None = field(default=None, kw_only=True)

    async def call_tool(
        self,
        name: str,
        tool_args: dict[str, Any],
        ctx: RunContext[Any],
        tool: ToolsetTool[Any],
    ) -> Any:
        try:
            who = resolve_identity(ctx.deps, self.identity)
        except Exception as e:  # noqa: BLE001 (fail closed)
            raise ToolFailed(self.gate.failed_message(name, e)) from None
        call = ToolCall(name, ctx.tool_call_id, tool_args)
        if ctx.tool_call_approved:
            # Resumed by the host: the framework's approval is no evidence; decide again.
            outcome = self.gate.final(call, who)
        else:
            outcome = self.gate.pause(call, who)
            if outcome.kind in (Kind.STEP_UP, Kind.APPROVAL):
                raise ApprovalRequired(metadata=outcome.payload())
            if outcome.runs:
                outcome = self.gate.final(call, who)
        if not outcome.runs:
            raise ToolFailed(outcome.message or "the call did not run")
        return await super().call_tool(name, tool_args, ctx, tool)

    def visit_and_replace(
        self, visitor: Callable[[AbstractToolset[Any]], AbstractToolset[Any]]
    ) -> AbstractToolset[Any]:
        return PolicyToolset(
            self.wrapped.visit_and_replace(visitor), gate=self.gate, identity=self.identity
        )
