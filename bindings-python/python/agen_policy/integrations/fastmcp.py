"""FastMCP servers: a middleware whose ``on_call_tool`` asks the policies.

Add :class:`PolicyMiddleware` to ``FastMCP(..., middleware=[...])`` (or
``server.add_middleware``). Each ``tools/call`` is decided, and decided again just before the
tool runs:

* ``allow``: the tool runs;
* ``deny`` (and any error while deciding, and a tool the policies do not know): a tool result
  with ``isError: true`` whose text is the core's refusal; the model reads it;
* ``step_up``: a URL elicitation (``UrlElicitationRequiredError``, JSON-RPC error ``-32042``)
  pointing at the host's re-authentication page (``reauth_url``); the client opens it, the
  user signs in again, and the client retries. Without ``reauth_url``, an ``isError`` result
  with the refusal text;
* ``request_approval``: an approval request is opened (SPEC §8) and the call answers a pending
  result the client can retry (``isError: true``, the refusal text, the payload in
  ``_meta["dev.agen/policy"]`` with ``approval_requests``). Once approved, the same call runs
  when retried; a rejected request never lets it run.

As with the MCP SDK, a call is known by its user, tool and arguments (MCP has no call id that
survives a retry). The identity is the verified access token's (FastMCP's
``get_access_token()``: its subject and claims, see
:func:`~agen_policy.integrations.identity_from_claims`) or what ``identity=`` makes of it; without a
token, the current :func:`~agen_policy.acting_for` block. Never the tool call's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as mt
from fastmcp.server.auth import AccessToken
from fastmcp.server.dependencies import get_access_token
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools import ToolResult
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp_types import ElicitRequestURLParams

from ..guard import Identity, current_identity
from .common import Kind, Outcome, PolicyGate, ToolCall, identity_from_claims

__all__ = ["META_KEY", "PolicyMiddleware", "token_identity"]

META_KEY = "dev.agen/policy"
"""The ``_meta`` key of the policy payload in the results the middleware makes."""


def token_identity(token: AccessToken | None) -> Identity | None:
    """The identity of a verified access token (its subject and claims), else the current
    ``acting_for`` block."""
    if token is not None:
        return identity_from_claims(token.subject, token.claims)
    return current_identity()


class PolicyMiddleware(Middleware):
    """Decides every tool call of a FastMCP server with ``gate``.

    ``identity`` maps the request's access token (``None`` without one) to the
    :class:`~agen_policy.Identity` the call is made for (default: :func:`token_identity`).
    ``reauth_url`` is the host's re-authentication page for a step-up, a string or a callable
    taking the :class:`~agen_policy.integrations.Outcome`.
    """

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

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        params = context.message
        try:
            who = self.identity(get_access_token())
        except Exception as e:  # noqa: BLE001 (fail closed)
            return _result(self.gate.failed_message(params.name, e), {"action": "deny"})
        call = ToolCall(params.name, None, dict(params.arguments or {}))
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
                return await call_next(context)
        return _result(outcome.message or "the call did not run", outcome.payload())


def _result(message: str, payload: dict[str, Any]) -> ToolResult:
    return ToolResult(content=message, meta={META_KEY: payload}, is_error=True)
