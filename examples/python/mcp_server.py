"""An MCP server whose tools are guarded by the example organization's policies
(examples/acme.json), with the official MCP SDK and ``agen_policy.integrations.mcp``.

Run it over stdio: ``python examples/python/mcp_server.py`` (needs ``pip install
"agen-policy[mcp]"``). ``examples/python/mcp_client.py`` drives the same server in process
through the four outcomes.

The server acts for the user of its session (a stdio server has no access token: the host
knows who started it). Re-authenticating updates the session's ``auth_time``; approval
requests are kept in an SQLite file.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

from agen_policy import Identity, PolicySet, SqliteApprovalStore
from agen_policy.integrations import PolicyGate
from agen_policy.integrations.mcp import PolicyExtension
from mcp.server.mcpserver import MCPServer

ACME = Path(__file__).resolve().parents[1] / "acme.json"
REAUTH_URL = "https://login.acme.example/reauthenticate"

# The connector of each tool this server offers (a tool it does not list is GitHub's).
CONNECTORS = {
    "list_user_repositories": "github",
    "delete_repository": "github",
    "transfer_repository": "github",
    "share_file": "google_drive",
}


class Session:
    """The host's verified session: who the agent acts for, and when they last signed in."""

    def __init__(self, user: str, agent: str) -> None:
        self.user = user
        self.agent = agent
        self.auth_time = time.time_ns() // 1_000_000 - 3_600_000  # an hour ago

    def identity(self) -> Identity:
        return Identity(
            self.user, (), {"agent": {"type": self.agent}}, None, {"time": self.auth_time}, ()
        )

    def reauthenticate(self) -> None:
        self.auth_time = time.time_ns() // 1_000_000


def build_server(
    session: Session, store: SqliteApprovalStore, policies: PolicySet
) -> tuple[MCPServer, Counter[str]]:
    """The guarded server, and a counter of the tool bodies that ran."""
    ran: Counter[str] = Counter()
    gate = PolicyGate(
        policies,
        route=lambda name: (CONNECTORS.get(name, "github"), name),
        approvals=store,
    )
    server = MCPServer(
        "acme-tools",
        extensions=[
            PolicyExtension(gate, identity=lambda token: session.identity(), reauth_url=REAUTH_URL)
        ],
    )

    @server.tool()
    def list_user_repositories() -> list[str]:
        """The user's repositories."""
        ran["list_user_repositories"] += 1
        return ["agen-policy", "website"]

    @server.tool()
    def delete_repository(name: str) -> str:
        """Deletes a repository."""
        ran["delete_repository"] += 1
        return f"deleted {name}"

    @server.tool()
    def transfer_repository(name: str, owner: str) -> str:
        """Transfers a repository to another owner."""
        ran["transfer_repository"] += 1
        return f"transferred {name} to {owner}"

    @server.tool()
    def share_file(file: str, email: str) -> str:
        """Shares a Google Drive file."""
        ran["share_file"] += 1
        return f"shared {file} with {email}"

    return server, ran


def main() -> None:
    policies = PolicySet.from_file(ACME)
    store = SqliteApprovalStore(Path(tempfile.gettempdir()) / "acme-approvals.db")
    server, _ = build_server(Session("alice", "Claude"), store, policies)
    server.run("stdio")


if __name__ == "__main__":
    main()
