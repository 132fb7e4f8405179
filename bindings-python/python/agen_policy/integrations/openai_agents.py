"""OpenAI Agents SDK: per-tool ``needs_approval`` and a tool input guardrail that ask the
policies.

:meth:`PolicyTools.wrap` returns a copy of a ``FunctionTool`` whose ``needs_approval`` asks
the gate at the pause point and whose input guardrail (appended to any it has) decides again
just before the tool runs:

* ``allow``: no approval is needed and the guardrail lets the tool run;
* ``deny`` (and any error while deciding): no approval is asked for; the guardrail rejects the
  call with the core's refusal text (``ToolGuardrailFunctionOutput.reject_content``), which
  the model reads instead of a result; the run goes on;
* ``step_up`` and ``request_approval``: ``needs_approval`` answers ``True``, so the run stops
  with the call in ``result.interruptions`` (a ``ToolApprovalItem``). :meth:`PolicyTools.outcome`
  gives the policy's side of it (``payload()``: ``action``, ``message``,
  ``approval_requests``, ``step_up``). The host re-authenticates the user or lets the
  approvers vote (SPEC §8), then ``state = result.to_state()``, ``state.approve(item)`` (or
  ``state.reject(item)``) and ``Runner.run(agent, state)``. The guardrail decides again with
  the evidence the host holds then: an approval given only in ``RunState`` runs nothing.

The identity comes from the run context (``Runner.run(..., context=identity)``, or what
``identity=`` finds in it), else from :func:`~agen_policy.acting_for`; never from the model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any

from agents import FunctionTool, RunContextWrapper
from agents.tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
)

from ..guard import Identity
from .common import Kind, Outcome, PolicyGate, ToolCall, resolve_identity

__all__ = ["PolicyTools"]


class PolicyTools:
    """Wraps function tools so that ``gate`` decides each of their calls.

    ``identity`` maps the run context to the :class:`~agen_policy.Identity` a call is made
    for; left out, the context itself when it is one, else the current ``acting_for`` block.
    """

    def __init__(
        self,
        gate: PolicyGate,
        *,
        identity: Callable[[Any], Identity | None] | None = None,
    ) -> None:
        self.gate = gate
        self.identity = identity
        self.guardrail: ToolInputGuardrail[Any] = ToolInputGuardrail(
            guardrail_function=self._check, name="agen_policy"
        )

    def wrap(self, tool: FunctionTool) -> FunctionTool:
        """A copy of ``tool`` guarded by the policies (its own ``needs_approval`` is replaced:
        the policies decide which calls pause)."""
        name = tool.name

        async def needs_approval(
            wrapper: RunContextWrapper[Any], params: dict[str, Any], call_id: str
        ) -> bool:
            try:
                who = resolve_identity(wrapper.context, self.identity)
            except Exception:  # noqa: BLE001 (fail closed: the guardrail refuses the call)
                return False
            outcome = self.gate.pause(ToolCall(name, call_id, params), who)
            return outcome.kind in (Kind.STEP_UP, Kind.APPROVAL)

        guardrails = [*(tool.tool_input_guardrails or []), self.guardrail]
        return dataclasses.replace(
            tool, needs_approval=needs_approval, tool_input_guardrails=guardrails
        )

    def wrap_all(self, tools: Iterable[FunctionTool]) -> list[FunctionTool]:
        """:meth:`wrap` of each tool."""
        return [self.wrap(t) for t in tools]

    def outcome(self, call_id: str) -> Outcome | None:
        """The pause-point outcome of the call ``call_id`` (an interruption's
        ``raw_item.call_id``), with its approval requests and step-up requirements."""
        return self.gate.remembered(call_id)

    def _check(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        ctx = data.context
        try:
            who = resolve_identity(ctx.context, self.identity)
            raw = json.loads(ctx.tool_arguments or "{}")
            arguments = raw if isinstance(raw, dict) else {"": raw}
        except Exception as e:  # noqa: BLE001 (fail closed)
            return ToolGuardrailFunctionOutput.reject_content(
                self.gate.failed_message(ctx.tool_name, e)
            )
        outcome = self.gate.final(ToolCall(ctx.tool_name, ctx.tool_call_id, arguments), who)
        if outcome.runs:
            return ToolGuardrailFunctionOutput.allow()
        return ToolGuardrailFunctionOutput.reject_content(
            outcome.message or "the call did not run", output_info=outcome.payload()
        )
