"""The FastMCP adapter against the real package, over ``Client(server)`` in process (no
network)."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Host
from fastmcp import Client, FastMCP
from mcp import UrlElicitationRequiredError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from agen_policy import Identity, PolicySet
from agen_policy.integrations import PolicyGate
from agen_policy.integrations.fastmcp import META_KEY, PolicyMiddleware

REAUTH = "https://login.example/reauth"


def server_for(host: Host, policies: PolicySet) -> FastMCP:
    gate = PolicyGate(
        policies, connector="demo", approvals=host.store, on_decision=host.records.append
    )

    def identity(token: Any) -> Identity:
        return host.identity()

    server = FastMCP(
        "notes", middleware=[PolicyMiddleware(gate, identity=identity, reauth_url=REAUTH)]
    )
    for fn in (
        host.read_notes,
        host.delete_notes,
        host.share_notes,
        host.purge_notes,
        host.teleport,
    ):
        server.tool(fn, name=fn.__name__)
    return server


def call_or_error(server: FastMCP, name: str) -> CallToolResult | MCPError:
    async def go() -> CallToolResult | MCPError:
        async with Client(server) as client:
            try:
                result: CallToolResult = await client.call_tool_mcp(name, {"topic": "q3"})
                return result
            except MCPError as e:
                return e

    return asyncio.run(go())


def call(server: FastMCP, name: str) -> CallToolResult:
    result = call_or_error(server, name)
    assert isinstance(result, CallToolResult), result
    return result


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def test_allow_runs_the_tool(host: Host, policies: PolicySet) -> None:
    result = call(server_for(host, policies), "read_notes")
    assert not result.is_error and text(result) == "notes about q3"
    assert host.ran == {"read_notes": 1}


def test_deny_is_an_error_result(host: Host, policies: PolicySet) -> None:
    result = call(server_for(host, policies), "delete_notes")
    assert result.is_error and "denied by policy" in text(result)
    assert result.meta is not None and result.meta[META_KEY]["action"] == "deny"
    assert host.ran == {}


def test_unknown_tool_is_denied(host: Host, policies: PolicySet) -> None:
    result = call(server_for(host, policies), "teleport")
    assert result.is_error and "denied by policy" in text(result)
    assert host.ran == {}


def approval_round(host: Host, policies: PolicySet, *, approve: bool) -> CallToolResult:
    server = server_for(host, policies)
    pending = call(server, "purge_notes")
    assert pending.is_error and "needs an approver" in text(pending)
    assert pending.meta is not None
    [approval_id] = pending.meta[META_KEY]["approval_requests"]
    assert host.ran == {}
    if approve:
        host.approve(approval_id)
    else:
        host.reject(approval_id)
    return call(server, "purge_notes")


def test_approval_pauses_and_runs_once_approved(host: Host, policies: PolicySet) -> None:
    result = approval_round(host, policies, approve=True)
    assert not result.is_error and text(result) == "purged"
    assert host.ran == {"purge_notes": 1}


def test_rejected_approval_never_runs(host: Host, policies: PolicySet) -> None:
    result = approval_round(host, policies, approve=False)
    assert result.is_error
    assert host.ran == {}


def test_step_up_is_a_url_elicitation(host: Host, policies: PolicySet) -> None:
    server = server_for(host, policies)
    error = call_or_error(server, "share_notes")
    assert isinstance(error, MCPError)
    assert UrlElicitationRequiredError.from_error(error.error).elicitations[0].url == REAUTH
    assert host.ran == {}
    host.reauthenticate()
    result = call(server, "share_notes")
    assert not result.is_error and text(result) == "shared"
    assert host.ran == {"share_notes": 1}
