"""``SqliteApprovalStore``: approval states kept in SQLite, updated by compare-and-swap."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from agen_policy import (
    ApprovalError,
    ConflictError,
    NotFoundError,
    PolicyError,
    PolicySet,
    SqliteApprovalStore,
)
from agen_policy.approvals import SqliteApprovalStore as FromModule

T0 = 1_795_600_800_000

DOC: dict[str, Any] = {
    "connectors": [{"id": "github", "tools": [{"name": "delete"}]}],
    "users": [{"id": "alice"}, {"id": "bob"}, {"id": "carol"}, {"id": "dan"}],
    "approval_flows": [
        {"id": "two", "steps": [{"users": ["bob", "carol"], "min_approvals": 2}]},
    ],
    "policies": [
        {
            "id": "deletes",
            "name": "Deletes need two people",
            "connector": "github",
            "action": "request_approval",
            "approval_flow": "two",
            "all_users": True,
            "tools": ["delete"],
        }
    ],
}
REQUEST = {"user": "alice", "connector": "github", "tool": "delete"}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def test_open_approve_grant_and_reopen_the_file(tmp_path: Path, policies: PolicySet) -> None:
    assert FromModule is SqliteApprovalStore
    path = tmp_path / "approvals.db"
    store = SqliteApprovalStore(path)
    opened = store.open(policies, REQUEST, "two", "apr-1", T0)
    assert store.get("apr-1") == opened and store.get("nope") is None
    store.approve(policies, "apr-1", "bob", T0 + 1)
    again = SqliteApprovalStore(path)  # the file keeps the state
    state = again.get("apr-1")
    assert state is not None and state["approvals"] == [["bob"]]
    assert again.approve(policies, "apr-1", "carol", T0 + 2)["status"] == "approved"
    grant = SqliteApprovalStore(path).grant(policies, "apr-1")
    assert grant["approvers"] == ["bob", "carol"]
    assert policies.evaluate("alice", "github", "delete", now=T0 + 3, grants=[grant]).allowed
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM approvals WHERE id = 'apr-1'").fetchone() == (3,)


def test_errors(tmp_path: Path, policies: PolicySet) -> None:
    store = SqliteApprovalStore(tmp_path / "a.db")
    calls: list[Callable[[], object]] = [
        lambda: store.approve(policies, "ghost", "bob", T0),
        lambda: store.cancel(policies, "ghost", T0),
        lambda: store.grant(policies, "ghost"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as missing:
            call()
        assert isinstance(missing.value, PolicyError) and missing.value.code == "not_found"
        assert "ghost" in str(missing.value)
    store.open(policies, REQUEST, "two", "a", T0)
    with pytest.raises(ConflictError) as conflict:
        store.open(policies, REQUEST, "two", "a", T0)
    assert conflict.value.code == "conflict"
    with pytest.raises(ApprovalError) as raised:
        store.approve(policies, "a", "dan", T0)
    assert raised.value.code == "not_an_approver"
    state = store.get("a")
    assert state is not None and state["approvals"] == [[]]  # nothing written
    store.cancel(policies, "a", T0 + 1)
    with pytest.raises(ApprovalError, match="not_pending"):
        store.reject(policies, "a", "bob", T0 + 2)


def test_pending_for_lists_what_a_person_may_act_on(tmp_path: Path, policies: PolicySet) -> None:
    store = SqliteApprovalStore(tmp_path / "a.db")
    store.open(policies, REQUEST, "two", "b", T0)
    store.open(policies, REQUEST, "two", "a", T0)
    store.open(policies, REQUEST, "two", "c", T0)
    store.cancel(policies, "c", T0)
    assert [s["id"] for s in store.pending_for(policies, "bob", T0)] == ["a", "b"]
    assert store.pending_for(policies, "dan", T0) == []
    assert store.pending_for(policies, "alice", T0) == []  # the requester
    with pytest.raises(ApprovalError) as raised:
        store.pending_for(policies, "", T0)
    assert raised.value.code == "invalid_request"


class Interfering:
    """A policy set whose ``approve`` lets another writer update the row between the store's
    read and its write, ``times`` times: the store's compare-and-swap must lose those races."""

    def __init__(self, policies: PolicySet, store: SqliteApprovalStore, times: int) -> None:
        self.policies = policies
        self.store = store
        self.times = times

    def approve(self, state: dict[str, Any], approver: str, now: int, groups: Any) -> Any:
        if self.times > 0:
            self.times -= 1
            with sqlite3.connect(self.store.path) as db:  # another writer
                db.execute(
                    "UPDATE approvals SET version = version + 1 WHERE id = ?", (state["id"],)
                )
        return self.policies.approve(state, approver, now, groups)


def test_a_lost_race_is_retried_and_never_overwrites(tmp_path: Path, policies: PolicySet) -> None:
    store = SqliteApprovalStore(tmp_path / "a.db")
    store.open(policies, REQUEST, "two", "a", T0)
    # Carol's vote lands between Bob's read and write.
    real = policies

    class CarolFirst:
        calls = 0

        def approve(self, state: dict[str, Any], approver: str, now: int, groups: Any) -> Any:
            CarolFirst.calls += 1
            if CarolFirst.calls == 1:
                store.approve(real, "a", "carol", T0 + 1)
            return real.approve(state, approver, now, groups)

    state = store.approve(cast(PolicySet, CarolFirst()), "a", "bob", T0 + 2)
    assert CarolFirst.calls == 2  # computed again on Carol's state
    assert state["status"] == "approved" and state["approvals"] == [["carol", "bob"]]
    assert store.get("a") == state


def test_endless_interference_is_a_conflict(tmp_path: Path, policies: PolicySet) -> None:
    store = SqliteApprovalStore(tmp_path / "a.db", retries=3)
    store.open(policies, REQUEST, "two", "a", T0)
    interfering = Interfering(policies, store, times=100)
    with pytest.raises(ConflictError) as raised:
        store.approve(cast(PolicySet, interfering), "a", "bob", T0 + 1)
    assert raised.value.code == "conflict" and interfering.times == 97
    state = store.get("a")
    assert state is not None and state["approvals"] == [[]]


def test_two_threads_approving_at_once_lose_no_vote(tmp_path: Path, policies: PolicySet) -> None:
    store = SqliteApprovalStore(tmp_path / "a.db")
    ids = [f"apr-{i}" for i in range(30)]
    for id in ids:
        store.open(policies, REQUEST, "two", id, T0)
    results: dict[str, list[dict[str, Any]]] = {"bob": [], "carol": []}
    barrier = threading.Barrier(2)

    def vote(person: str) -> None:
        for id in ids:
            barrier.wait()
            results[person].append(store.approve(policies, id, person, T0 + 1))

    threads = [threading.Thread(target=vote, args=(p,)) for p in ("bob", "carol")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, id in enumerate(ids):
        state = store.get(id)
        assert state is not None and state["status"] == "approved"
        assert sorted(state["approvals"][0]) == ["bob", "carol"]
        # Exactly one of the two votes closed it: it was approved once.
        closing = [r[i] for r in results.values() if r[i]["status"] == "approved"]
        assert len(closing) == 1


def _approve_in_process(path: str, ids: list[str], person: str, start: Any) -> None:
    policies = PolicySet.from_dict(DOC)
    store = SqliteApprovalStore(path)
    start.wait()
    for id in ids:
        store.approve(policies, id, person, T0 + 1)


def test_two_processes_approving_at_once_lose_no_vote(tmp_path: Path, policies: PolicySet) -> None:
    path = str(tmp_path / "a.db")
    store = SqliteApprovalStore(path)
    ids = [f"apr-{i}" for i in range(20)]
    for id in ids:
        store.open(policies, REQUEST, "two", id, T0)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_approve_in_process, args=(path, ids, p, start))
        for p in ("bob", "carol")
    ]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    for id in ids:
        state = store.get(id)
        assert state is not None and state["status"] == "approved"
        assert sorted(state["approvals"][0]) == ["bob", "carol"]
