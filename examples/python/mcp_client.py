"""Walks an MCP client through the four outcomes of a policy-guarded MCP server, offline.

Run: ``python examples/python/mcp_client.py`` (needs ``pip install "agen-policy[mcp]"``). It
builds the server of ``mcp_server.py`` and talks to it in process, playing the host's part too
(the re-authentication, the approver's vote):

1. ``list_user_repositories`` is allowed and runs;
2. ``transfer_repository`` is denied: an error result with the refusal text;
3. ``share_file`` needs a step-up: a URL elicitation to the re-authentication page; once the
   user signed in again, the retried call runs;
4. ``delete_repository`` needs approval: a pending result naming the approval request; once
   bob (security) approves it, the retried call runs, once.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, UrlElicitationRequiredError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agen_policy import PolicySet, SqliteApprovalStore
from agen_policy.integrations.mcp import META_KEY
from mcp_server import ACME, Session, build_server


def text(result: CallToolResult) -> str:
    return " ".join(b.text for b in result.content if isinstance(b, TextContent))


async def walk(directory: Path) -> None:
    policies = PolicySet.from_file(ACME)
    store = SqliteApprovalStore(directory / "approvals.db")
    session = Session("alice", "Claude")
    server, ran = build_server(session, store, policies)

    async with Client(server) as client:

        async def call(name: str, arguments: dict[str, Any]) -> CallToolResult | MCPError:
            try:
                return await client.call_tool(name, arguments)
            except MCPError as e:
                return e

        result = await call("list_user_repositories", {})
        assert isinstance(result, CallToolResult)
        print("allow:", text(result))

        result = await call("transfer_repository", {"name": "website", "owner": "mallory"})
        assert isinstance(result, CallToolResult) and result.is_error
        print("deny:", text(result))

        share = {"file": "q3-plan.pdf", "email": "partner@example.com"}
        error = await call("share_file", share)
        assert isinstance(error, MCPError)
        url = UrlElicitationRequiredError.from_error(error.error).elicitations[0].url
        print("step_up: re-authenticate at", url)
        session.reauthenticate()
        result = await call("share_file", share)
        assert isinstance(result, CallToolResult) and not result.is_error
        print("step_up: after re-authenticating:", text(result))

        pending = await call("delete_repository", {"name": "old-repo"})
        assert isinstance(pending, CallToolResult) and pending.is_error and pending.meta
        [approval_id] = pending.meta[META_KEY]["approval_requests"]
        print("request_approval: pending, approval request", approval_id)
        store.approve(policies, approval_id, "bob", time.time_ns() // 1_000_000)
        result = await call("delete_repository", {"name": "old-repo"})
        assert isinstance(result, CallToolResult) and not result.is_error
        print("request_approval: after bob approved:", text(result))

    assert ran == {
        "list_user_repositories": 1,
        "share_file": 1,
        "delete_repository": 1,
    }, ran
    print("tool bodies run:", dict(sorted(ran.items())))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(walk(Path(directory)))


if __name__ == "__main__":
    main()
