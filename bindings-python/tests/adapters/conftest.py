"""Shared pieces of the adapter tests: a small policy document with one tool per action, the
host's session (who the agent acts for, and when they last authenticated), an approval store,
and a counter of the tool bodies that ran."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agen_policy import Identity, PolicySet, SqliteApprovalStore

DOCUMENT: dict[str, Any] = {
    "version": 1,
    "connectors": [
        {
            "id": "demo",
            "name": "Demo",
            "tools": [
                {"name": "read_notes"},
                {"name": "delete_notes"},
                {"name": "share_notes"},
                {"name": "purge_notes"},
                {"name": "teleport"},
            ],
        }
    ],
    "users": [
        {"id": "alice", "name": "Alice"},
        {"id": "bob", "name": "Bob"},
    ],
    "approval_flows": [
        {"id": "review", "name": "Review", "steps": [{"users": ["bob"], "min_approvals": 1}]}
    ],
    "policies": [
        {
            "id": "read",
            "name": "read",
            "connector": "demo",
            "action": "allow",
            "all_users": True,
            "tools": ["read_notes"],
        },
        {
            "id": "no-delete",
            "name": "no-delete",
            "connector": "demo",
            "action": "deny",
            "all_users": True,
            "tools": ["delete_notes"],
        },
        {
            "id": "share-fresh-login",
            "name": "share-fresh-login",
            "connector": "demo",
            "action": "step_up",
            "all_users": True,
            "tools": ["share_notes"],
            "step_up": {"max_age": 300},
        },
        {
            "id": "purge-reviewed",
            "name": "purge-reviewed",
            "connector": "demo",
            "action": "request_approval",
            "all_users": True,
            "tools": ["purge_notes"],
            "approval_flow": "review",
        },
    ],
}
"""`teleport` is a tool no policy governs: the engine denies it (`no_policy`)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Host:
    """The host's side: its verified session of the user (re-authentication updates it), its
    approval store, and the tool bodies it counts."""

    def __init__(self, store: SqliteApprovalStore, policies: PolicySet) -> None:
        self.store = store
        self.policies = policies
        # The user last logged in an hour ago: too long for `share_notes`.
        self.auth_time = now_ms() - 3_600_000
        self.ran: Counter[str] = Counter()
        self.records: list[dict[str, Any]] = []

    def identity(self, *_: object) -> Identity:
        return Identity("alice", (), {}, None, {"time": self.auth_time}, ())

    def reauthenticate(self) -> None:
        self.auth_time = now_ms()

    def approve(self, approval_id: str) -> None:
        self.store.approve(self.policies, approval_id, "bob", now_ms())

    def reject(self, approval_id: str) -> None:
        self.store.reject(self.policies, approval_id, "bob", now_ms())

    # The tools: each counts its runs.
    def read_notes(self, topic: str) -> str:
        self.ran["read_notes"] += 1
        return f"notes about {topic}"

    def delete_notes(self, topic: str) -> str:
        self.ran["delete_notes"] += 1
        return "deleted"

    def share_notes(self, topic: str) -> str:
        self.ran["share_notes"] += 1
        return "shared"

    def purge_notes(self, topic: str) -> str:
        self.ran["purge_notes"] += 1
        return "purged"

    def teleport(self, topic: str) -> str:
        self.ran["teleport"] += 1
        return "teleported"


@pytest.fixture
def policies() -> PolicySet:
    return PolicySet.from_dict(DOCUMENT)


@pytest.fixture
def host(tmp_path: Path, policies: PolicySet) -> Host:
    return Host(SqliteApprovalStore(tmp_path / "approvals.db"), policies)
