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

Each call opens its own connection, so one store may be shared by threads, and several
processes may use the same file.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

from ._errors import ApprovalError, ConflictError, NotFoundError
from ._native import Engine, PolicySet

__all__ = ["SqliteApprovalStore"]

_Groups = list[str] | tuple[str, ...] | set[str] | frozenset[str]
_Instant = str | int | datetime.datetime
"""RFC 3339 text, integer Unix milliseconds, or a timezone-aware ``datetime``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status);
"""


def _policy_set(policies: PolicySet | Engine) -> PolicySet:
    return policies.current if isinstance(policies, Engine) else policies


class SqliteApprovalStore:
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

    def _read(self, db: sqlite3.Connection, id: str) -> tuple[dict[str, Any], int]:
        row = db.execute("SELECT state, version FROM approvals WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no approval request `{id}` in {self.path}")
        state: dict[str, Any] = json.loads(row[0])
        return state, int(row[1])

    def _update(
        self, id: str, compute: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        with self._connection() as db:
            for attempt in range(self.retries):
                state, version = self._read(db, id)
                new = compute(state)
                if new == state:
                    return new
                swapped = db.execute(
                    "UPDATE approvals SET state = ?, status = ?, version = version + 1 "
                    "WHERE id = ? AND version = ?",
                    (json.dumps(new), new["status"], id, version),
                ).rowcount
                if swapped == 1:
                    return new
                # Another writer came first: start again from its state, a little later.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConflictError(
            f"approval request `{id}` changed under each of {self.retries} tries to update it"
        )

    def open(
        self,
        policies: PolicySet | Engine,
        request: dict[str, Any],
        flow: str,
        id: str,
        now: _Instant,
    ) -> dict[str, Any]:
        """Opens an approval request (``PolicySet.open_approval``) and stores it; returns the
        state. An ``id`` already stored raises :class:`ConflictError`."""
        state = _policy_set(policies).open_approval(request, flow, id, now)
        with self._connection() as db:
            try:
                db.execute(
                    "INSERT INTO approvals (id, state, status, version) VALUES (?, ?, ?, 1)",
                    (id, json.dumps(state), state["status"]),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"approval request `{id}` exists already") from None
        return state

    def approve(
        self,
        policies: PolicySet | Engine,
        id: str,
        approver: str,
        now: _Instant,
        groups: _Groups = (),
    ) -> dict[str, Any]:
        """Records ``approver``'s approval (``PolicySet.approve``); returns the new state."""
        return self._update(
            id, lambda s: _policy_set(policies).approve(s, approver, now, groups)
        )

    def reject(
        self,
        policies: PolicySet | Engine,
        id: str,
        approver: str,
        now: _Instant,
        groups: _Groups = (),
    ) -> dict[str, Any]:
        """Records ``approver``'s rejection (``PolicySet.reject``); returns the new state."""
        return self._update(id, lambda s: _policy_set(policies).reject(s, approver, now, groups))

    def cancel(self, policies: PolicySet | Engine, id: str, now: _Instant) -> dict[str, Any]:
        """Cancels the request (``PolicySet.cancel``); returns the new state."""
        return self._update(id, lambda s: _policy_set(policies).cancel(s, now))

    def tick(self, policies: PolicySet | Engine, id: str, now: _Instant) -> dict[str, Any]:
        """Expires the request if its timeout has passed (``PolicySet.tick``); returns the
        state, changed or not."""
        return self._update(id, lambda s: _policy_set(policies).tick(s, now))

    def grant(self, policies: PolicySet | Engine, id: str) -> dict[str, Any]:
        """The grant of the approved request (``PolicySet.grant``)."""
        with self._connection() as db:
            state, _ = self._read(db, id)
        return _policy_set(policies).grant(state)

    def get(self, id: str) -> dict[str, Any] | None:
        """The stored state of request ``id``, or ``None``."""
        with self._connection() as db:
            try:
                return self._read(db, id)[0]
            except NotFoundError:
                return None

    def pending_for(
        self,
        policies: PolicySet | Engine,
        approver: str,
        now: _Instant,
        groups: _Groups = (),
    ) -> list[dict[str, Any]]:
        """The pending requests ``approver`` (with the host's group claims ``groups``) may act
        on at ``now``, as ``PolicySet.check_approver`` judges, in id order.

        A malformed ``approver``, ``now`` or ``groups`` raises ``ApprovalError``
        (``invalid_request``); a stored state the engine refuses is left out.
        """
        policy_set = _policy_set(policies)
        with self._connection() as db:
            rows = db.execute(
                "SELECT state FROM approvals WHERE status = 'pending' ORDER BY id"
            ).fetchall()
        found = []
        for (text,) in rows:
            state = json.loads(text)
            try:
                policy_set.check_approver(state, approver, now, groups)
            except ApprovalError as e:
                if e.code == "invalid_request":
                    raise
                continue
            found.append(state)
        return found

    def __repr__(self) -> str:
        return f"SqliteApprovalStore({self.path!r})"


SqliteApprovalStore.__module__ = "agen_policy"
