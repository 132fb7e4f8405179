"""A store for pending approval requests, on the standard library's :mod:`sqlite3`.

The engine computes every transition of an approval request (SPEC §8) on plain dicts; the host
keeps the states. :class:`SqliteApprovalStore` keeps them in one table of an SQLite file::

    approvals(id TEXT PRIMARY KEY, state TEXT, status TEXT, version INTEGER)

``state`` is the state's JSON, ``status`` a copy of its ``status`` (to find pending requests
without reading every row) and ``version`` counts the updates. Every update is a
compare-and-swap on ``version``: read the state and its version, compute the next state with the
engine, then ``UPDATE ... WHERE id = ? AND version = ?``. When another thread or process updated
the row in between, nothing is written and the update starts again from the new state (so no
approval is lost, and a request is approved once); after ``retries`` lost races it raises
:class:`ConflictError`.

The operations are those of every approval store (``agen_policy._store``). Each call opens its
own connection, so one store may be shared by threads, and several
processes may use the same file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from ._store import CasStore

__all__ = ["SqliteApprovalStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status);
"""


class SqliteApprovalStore(CasStore[sqlite3.Connection]):
    """Approval requests kept in the SQLite file at ``path`` (created if missing).

    ``policies`` in every method is the :class:`PolicySet` (or :class:`Engine`, whose current
    set is used) that computes the transition. ``retries`` bounds the compare-and-swap tries of
    one update; ``timeout`` is how long, in seconds, a call waits for another writer's lock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        retries: int = 16,
        timeout: float = 30.0,
    ) -> None:
        self.path = os.fspath(path)
        self.retries = retries
        self.timeout = timeout
        with self._connection() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # Autocommit: each statement is its own transaction, and the compare-and-swap is one
        # UPDATE statement.
        with closing(
            sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        ) as db:
            yield db

    def _read(self, conn: sqlite3.Connection, id: str) -> tuple[dict[str, Any], int] | None:
        row = conn.execute("SELECT state, version FROM approvals WHERE id = ?", (id,)).fetchone()
        if row is None:
            return None
        state: dict[str, Any] = json.loads(row[0])
        return state, int(row[1])

    def _swap(self, conn: sqlite3.Connection, id: str, new: dict[str, Any], version: int) -> bool:
        swapped = conn.execute(
            "UPDATE approvals SET state = ?, status = ?, version = version + 1 "
            "WHERE id = ? AND version = ?",
            (json.dumps(new), new["status"], id, version),
        ).rowcount
        return bool(swapped == 1)

    def _insert(self, conn: sqlite3.Connection, id: str, state: dict[str, Any]) -> bool:
        try:
            conn.execute(
                "INSERT INTO approvals (id, state, status, version) VALUES (?, ?, ?, 1)",
                (id, json.dumps(state), state["status"]),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def _pending(self, conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        rows = conn.execute(
            "SELECT state FROM approvals WHERE status = 'pending' ORDER BY id"
        ).fetchall()
        for (text,) in rows:
            state: dict[str, Any] = json.loads(text)
            yield state

    def _where(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"SqliteApprovalStore({self.path!r})"


SqliteApprovalStore.__module__ = "agen_policy"
