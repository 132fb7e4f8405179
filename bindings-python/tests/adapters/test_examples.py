"""The MCP examples run with one command each and do what their docs say."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"


def test_the_client_walks_through_the_four_outcomes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "mcp_client.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "allow",
        "deny",
        "step_up",
        "step_up",
        "request_approval",
        "request_approval",
        "tool bodies run",
    ], result.stdout
    assert "was denied by policy" in lines[1]
    assert "https://login.acme.example/reauthenticate" in lines[2]
    assert "deleted old-repo" in lines[5]


def test_the_server_runs_over_stdio() -> None:
    async def go() -> tuple[list[str], CallToolResult, CallToolResult]:
        params = StdioServerParameters(
            command=sys.executable, args=[str(EXAMPLES / "mcp_server.py")]
        )
        async with Client(params) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            allowed = await client.call_tool("list_user_repositories", {})
            denied = await client.call_tool(
                "transfer_repository", {"name": "website", "owner": "mallory"}
            )
            return tools, allowed, denied

    tools, allowed, denied = asyncio.run(go())
    assert sorted(tools) == [
        "delete_repository",
        "list_user_repositories",
        "share_file",
        "transfer_repository",
    ]
    assert not allowed.is_error
    assert denied.is_error
    block = denied.content[0]
    assert isinstance(block, TextContent) and "denied by policy" in block.text
