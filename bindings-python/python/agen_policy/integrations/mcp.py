"""MCP servers (the official ``mcp`` SDK, v2): an extension that intercepts ``tools/call``.

Pass :class:`PolicyExtension` to ``MCPServer(extensions=[...])``. It wraps every tool call
(``Extension.intercept_tool_call``), decides it, and decides again just before the tool runs:

* ``allow``: the tool runs;
* ``deny`` (and any error while deciding, and a tool the policies do not know): a tool result
  with ``isError: true`` whose text is the core's refusal; the model reads it;
* ``step_up``: a URL elicitation (``UrlElicitationRequiredError``, JSON-RPC error ``-32042``)
  pointing at the host's re-authentication page (``reauth_url``); the client opens it, the
  user signs in again, and the client retries the call. Without ``reauth_url``, an
  ``isError`` result with the refusal text;
* ``request_approval``: an approval request is opened (SPEC §8) and the call answers a
  pending result the client can retry: ``isError: true``, the refusal text, and in
  ``_meta["dev.agen/policy"]`` the payload (``action``, ``approval_requests``...). Once the
  approvers approved, the same call (same tool, same arguments) runs when retried; a
  rejected request never lets it run.

Every result the extension makes carries the payload in ``_meta["dev.agen/policy"]``.

An MCP call has no id that survives a retry, so the gate knows a call by its user, tool and
arguments. The identity is the verified access token's (``subject``, its ``groups`` claim,
``auth_time``/``acr`` as the ``auth`` evidence: :func:`identity_from_claims`) or what
``identity=`` makes of the token; without a token (stdio), the current
:func:`~agen_policy.acting_for` block. Never the tool call's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp_types import CallToolRequestParams, CallToolResult, ElicitRequestURLParams, TextContent

from ..guard import Identity, current_identity
from .common import Kind, Outcome, PolicyGate, ToolCall, identity_from_claims

__all__ = ["META_KEY", "PolicyExtension", "token_identity"]

META_KEY = "dev.agen/policy"
"""The ``_meta`` key of the policy payload in the results the extension makes."""


def token_identity(token: AccessToken | None) -> Identity | None:
    """The identity of a verified access token (its subject and claims), else the current
    ``acting_for`` block."""
    if token is not None:
        return identity_from_claims(token.subject, token.claims)
    return current_identity()


class PolicyExtension(Extension):
    """Decides every ``tools/call`` of the server with ``gate``.

    ``identity`` maps the request's access token (``None`` without one) to the
    :class:`~agen_policy.Identity` the call is made for (default: :func:`token_identity`).
    ``reauth_url`` is the host's re-authentication page for a step-up, a string or a callable
    taking the :class:`~agen_policy.integrations.Outcome`.
    """

    identifier = "dev.agen/policy"

    def __init__(
        self,
        gate: PolicyGate,
        *,
        identity: Callable[[AccessToken | None], Identity | None] | None = None,
        reauth_url: str | Callable[[Outcome], str] | None = None,
    ) -> None:
        self.gate = gate
        self.identity = identity or token_identity
        self.reauth_url = reauth_url

    def settings(self) -> dict[str, Any]:
        return {}

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        try:
            who = self.identity(get_access_token())
        except Exception as e:  # noqa: BLE001 (fail closed)
            return _result(self.gate.failed_message(params.name, e), {"action": "deny"})
        call = ToolCall(params.name, None, params.arguments or {})
        outcome = self.gate.pause(call, who)
        if outcome.kind is Kind.STEP_UP and self.reauth_url is not None:
            url = self.reauth_url if isinstance(self.reauth_url, str) else self.reauth_url(outcome)
            raise UrlElicitationRequiredError(
                [
                    ElicitRequestURLParams(
                        message=outcome.message or "re-authenticate",
                        url=url,
                        elicitation_id=outcome.decision_id,
                    )
                ],
                outcome.message,
            )
        if outcome.runs:
            outcome = self.gate.final(call, who)
            if outcome.runs:
                return await call_next(ctx)
        return _result(outcome.message or "the call did not run", outcome.payload())


def _result(message: str, payload: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(text=message)],
        is_error=True,
        _meta={META_KEY: payload},
    )
