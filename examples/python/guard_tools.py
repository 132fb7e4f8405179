"""Guarding an agent's tools with agen_policy, on the example organization (examples/acme.json).

Run from anywhere: ``python examples/python/guard_tools.py``. Each tool is an ordinary function
wrapped with ``guard``; the host says who the agent acts for with ``acting_for``; a call the
policies do not allow raises before the tool body runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agen_policy import (
    ApprovalRequired,
    PolicySet,
    StepUpRequired,
    ToolDenied,
    acting_for,
    guard,
)

policies = PolicySet.from_file(Path(__file__).resolve().parents[1] / "acme.json")


@guard(policies, connector="github")
def list_user_repositories() -> list[str]:
    return ["agen-policy", "website"]


@guard(policies, connector="github")
def create_repository(name: str) -> str:
    return f"created {name}"


@guard(policies, connector="github")
def delete_repository(name: str) -> str:
    return f"deleted {name}"


@guard(policies, connector="google_drive")
def share_file(name: str, email: str) -> str:
    return f"shared {name} with {email}"


def run(user: str, agent: str, tool: Callable[..., object], *args: str) -> None:
    """Calls `tool` for `user` through `agent` and prints what happened."""
    with acting_for(user, context={"agent": {"type": agent}}):
        try:
            outcome = f"ran: {tool(*args)}"
        except StepUpRequired:
            outcome = "step up: ask the user to sign in again, then retry"
        except ApprovalRequired as blocked:
            outcome = f"paused for approval by {', '.join(blocked.approval_flows)}"
        except ToolDenied as blocked:
            outcome = f"denied: {blocked.decision}"
    print(f"{user:>5} via {agent:<15} {tool.__name__:<23} -> {outcome}")


if __name__ == "__main__":
    run("alice", "ChatGPT", list_user_repositories)
    run("alice", "ChatGPT", create_repository, "demo")
    run("alice", "Some Bot", create_repository, "demo")
    run("erin", "Claude Desktop", create_repository, "demo")
    run("bob", "Claude Desktop", delete_repository, "website")
    run("carol", "Claude Desktop", delete_repository, "website")
    run("dan", "ChatGPT", share_file, "plan.pdf", "x@example.com")
