"""``PostgresApprovalStore``: approval states kept in PostgreSQL, updated by compare-and-swap.

These tests need a PostgreSQL server: ``AGEN_TEST_POSTGRES_DSN`` names one (a libpq connection
string of a role that may create schemas); ``scripts/test-fleet`` starts a throwaway cluster and
sets it. Without it they are skipped, saying so. Each test works in a schema of its own.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from agen_policy import (
    ApprovalError,
    ConflictError,
    NotFoundError,
    PolicySet,
    PostgresApprovalStore,
    StoreError,
)
from agen_policy.postgres import migrations
from harness import REPO_ROOT

DSN = os.environ.get("AGEN_TEST_POSTGRES_DSN", "")
needs_postgres = pytest.mark.skipif(
    not DSN,
    reason="no PostgreSQL server: set AGEN_TEST_POSTGRES_DSN (scripts/test-fleet starts one)",
)

T0 = 1_795_600_800_000
APPROVERS = [f"p{i}" for i in range(8)]

DOC: dict[str, Any] = {
    "connectors": [{"id": "github", "tools": [{"name": "delete"}, {"name": "purge"}]}],
    "users": [{"id": "alice"}, {"id": "bob"}, {"id": "carol"}, {"id": "dan"}]
    + [{"id": p} for p in APPROVERS],
    "approval_flows": [
        {"id": "two", "steps": [{"users": ["bob", "carol"], "min_approvals": 2}]},
        {"id": "eight", "steps": [{"users": APPROVERS, "min_approvals": 8}]},
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
        },
        {
            "id": "purges",
            "name": "Purges need eight people",
            "connector": "github",
            "action": "request_approval",
            "approval_flow": "eight",
            "all_users": True,
            "tools": ["purge"],
        },
    ],
}
REQUEST = {"user": "alice", "connector": "github", "tool": "delete"}
PURGE = {"user": "alice", "connector": "github", "tool": "purge"}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def _in_schema(schema: str) -> str:
    import psycopg.conninfo

    return psycopg.conninfo.make_conninfo(DSN, options=f"-c search_path={schema}")


@pytest.fixture
def dsn() -> Iterator[str]:
    """A connection string whose tables live in a fresh schema, dropped after the test."""
    import psycopg

    schema = f"agen_test_{secrets.token_hex(6)}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _in_schema(schema)
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(dsn: str) -> Iterator[PostgresApprovalStore]:
    with PostgresApprovalStore(dsn) as store:
        store.migrate()
        yield store


def _version(dsn: str, id: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT version FROM agen_policy_approvals WHERE id = %s", (id,))
        return int(cast(tuple[int], row.fetchone())[0])


def test_the_shipped_migrations_match_the_node_package() -> None:
    node = REPO_ROOT / "bindings-node" / "sql"
    python = Path(__file__).resolve().parents[1] / "python" / "agen_policy" / "sql"
    names = sorted(p.name for p in python.glob("*.sql"))
    assert names == sorted(p.name for p in node.glob("*.sql"))
    for name in names:
        assert (python / name).read_bytes() == (node / name).read_bytes(), name
    assert [m[:2] for m in migrations()] == [(1, "0001_approvals.sql")]


@needs_postgres
def test_open_approve_grant_and_reopen(
    dsn: str, store: PostgresApprovalStore, policies: PolicySet
) -> None:
    opened = store.open(policies, REQUEST, "two", "apr-1", T0)
    assert store.get("apr-1") == opened and store.get("nope") is None
    store.approve(policies, "apr-1", "bob", T0 + 1)
    with PostgresApprovalStore(dsn) as again:  # another process would see the same
        state = again.get("apr-1")
        assert state is not None and state["approvals"] == [["bob"]]
        assert again.approve(policies, "apr-1", "carol", T0 + 2)["status"] == "approved"
        grant = again.grant(policies, "apr-1")
    assert grant["approvers"] == ["bob", "carol"]
    assert policies.evaluate("alice", "github", "delete", now=T0 + 3, grants=[grant]).allowed
    assert _version(dsn, "apr-1") == 3
    assert store.tick(policies, "apr-1", T0 + 4)["status"] == "approved"
    assert _version(dsn, "apr-1") == 3  # an unchanged state is not written


@needs_postgres
def test_migrations_apply_once(dsn: str) -> None:
    stores = [PostgresApprovalStore(dsn) for _ in range(6)]
    applied: list[list[int]] = []
    barrier = threading.Barrier(len(stores))

    def migrate(store: PostgresApprovalStore) -> None:
        barrier.wait()
        applied.append(store.migrate())

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(applied) == [[]] * 5 + [[1]]
    for s in stores:
        s.close()


@needs_postgres
def test_errors(store: PostgresApprovalStore, policies: PolicySet) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.approve(policies, "ghost", "bob", T0),
        lambda: store.cancel(policies, "ghost", T0),
        lambda: store.grant(policies, "ghost"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as missing:
            call()
        assert missing.value.code == "not_found" and "ghost" in str(missing.value)
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


@needs_postgres
def test_pending_for_lists_what_a_person_may_act_on(
    store: PostgresApprovalStore, policies: PolicySet
) -> None:
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


@needs_postgres
def test_a_lost_race_is_retried_and_never_overwrites(
    store: PostgresApprovalStore, policies: PolicySet
) -> None:
    store.open(policies, REQUEST, "two", "a", T0)
    real = policies

    class CarolFirst:
        calls = 0

        def approve(self, state: dict[str, Any], approver: str, now: int, groups: Any) -> Any:
            CarolFirst.calls += 1
            if CarolFirst.calls == 1:  # Carol's vote lands between Bob's read and write
                store.approve(real, "a", "carol", T0 + 1)
            return real.approve(state, approver, now, groups)

    state = store.approve(cast(PolicySet, CarolFirst()), "a", "bob", T0 + 2)
    assert CarolFirst.calls == 2  # computed again on Carol's state
    assert state["status"] == "approved" and state["approvals"] == [["carol", "bob"]]
    assert store.get("a") == state


@needs_postgres
def test_endless_interference_is_a_conflict(dsn: str, policies: PolicySet) -> None:
    import psycopg

    with PostgresApprovalStore(dsn, retries=3) as store:
        store.migrate()
        store.open(policies, REQUEST, "two", "a", T0)
        tries = 0

        class Interfering:
            def approve(self, state: dict[str, Any], approver: str, now: int, g: Any) -> Any:
                nonlocal tries
                tries += 1
                with psycopg.connect(dsn, autocommit=True) as conn:  # another writer
                    conn.execute(
                        "UPDATE agen_policy_approvals SET version = version + 1 WHERE id = 'a'"
                    )
                return policies.approve(state, approver, now, g)

        with pytest.raises(ConflictError) as raised:
            store.approve(cast(PolicySet, Interfering()), "a", "bob", T0 + 1)
        assert raised.value.code == "conflict" and tries == 3
        state = store.get("a")
        assert state is not None and state["approvals"] == [[]]


def _vote_in_process(dsn: str, ids: list[str], person: str, start: Any, out: Any) -> None:
    policies = PolicySet.from_dict(DOC)
    counted = 0
    with PostgresApprovalStore(dsn) as store:
        start.wait()
        for id in ids:
            try:
                store.approve(policies, id, person, T0 + 1)
                counted += 1
            except ApprovalError as e:
                assert e.code == "not_pending", e  # rejected first
    out.put((person, counted))


@needs_postgres
def test_eight_processes_voting_at_once_lose_no_vote(
    dsn: str, store: PostgresApprovalStore, policies: PolicySet
) -> None:
    ids = [f"apr-{i:02}" for i in range(24)]
    for id in ids:
        store.open(policies, PURGE, "eight", id, T0)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    out = context.Queue()
    workers = [
        context.Process(target=_vote_in_process, args=(dsn, ids, p, start, out)) for p in APPROVERS
    ]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    counted = dict(out.get(timeout=5) for _ in workers)
    assert counted == {p: len(ids) for p in APPROVERS}
    for id in ids:
        state = store.get(id)
        assert state is not None and state["status"] == "approved"
        assert sorted(state["approvals"][0]) == APPROVERS
        assert _version(dsn, id) == 1 + len(APPROVERS)  # one write per vote, no more


@needs_postgres
def test_approve_and_reject_racing_end_in_one_final_state(
    store: PostgresApprovalStore, policies: PolicySet
) -> None:
    ids = [f"r-{i:02}" for i in range(20)]
    for id in ids:
        store.open(policies, REQUEST, "two", id, T0)
        store.approve(policies, id, "bob", T0)
    outcomes: dict[str, list[str]] = {id: [] for id in ids}
    barrier = threading.Barrier(2)

    def act(op: str) -> None:
        for id in ids:
            barrier.wait()
            try:
                if op == "approve":
                    store.approve(policies, id, "carol", T0 + 1)
                else:
                    store.reject(policies, id, "bob", T0 + 1)
                outcomes[id].append(op)
            except ApprovalError as e:
                assert e.code == "not_pending"

    threads = [threading.Thread(target=act, args=(op,)) for op in ("approve", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for id in ids:
        state = store.get(id)
        assert state is not None
        assert len(outcomes[id]) == 1  # exactly one of the two happened
        assert state["status"] == {"approve": "approved", "reject": "rejected"}[outcomes[id][0]]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_database_that_is_down_fails_closed(policies: PolicySet) -> None:
    store = PostgresApprovalStore(
        f"host=127.0.0.1 port={_closed_port()} dbname=none user=none", connect_timeout=2
    )
    calls: list[Callable[[], object]] = [
        lambda: store.migrate(),
        lambda: store.open(policies, REQUEST, "two", "a", T0),
        lambda: store.approve(policies, "a", "bob", T0),
        lambda: store.grant(policies, "a"),
        lambda: store.get("a"),
        lambda: store.pending_for(policies, "bob", T0),
    ]
    for call in calls:
        with pytest.raises(StoreError) as raised:
            call()
        assert raised.value.code == "store_unavailable"
        assert str(raised.value).startswith("store_unavailable: the approval database cannot")


@needs_postgres
def test_a_missing_table_says_to_migrate(dsn: str, policies: PolicySet) -> None:
    with PostgresApprovalStore(dsn) as store:
        with pytest.raises(StoreError) as raised:
            store.open(policies, REQUEST, "two", "a", T0)
        assert raised.value.code == "store_not_migrated" and "migrate()" in str(raised.value)


@needs_postgres
def test_a_restarted_connection_is_replaced(
    store: PostgresApprovalStore, policies: PolicySet
) -> None:
    import psycopg

    store.open(policies, REQUEST, "two", "a", T0)
    # The server ends every connection of this store (as a restart would).
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query LIKE '%agen_policy_approvals%'"
        )
    with pytest.raises(StoreError) as raised:
        store.get("a")  # the one call that meets the broken connection fails closed
    assert raised.value.code == "store_unavailable"
    assert store.get("a") is not None  # the next one connects again
