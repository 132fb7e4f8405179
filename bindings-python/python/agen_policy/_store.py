"""What every approval store shares: the SPEC §8 operations over a table of states, each update
a compare-and-swap on a version column.

The engine computes every transition on plain dicts; a store only reads a state with its
version and writes the engine's next state ``WHERE id = ? AND version = ?``. When another writer
came first, nothing is written and the update starts again from the new state, so no vote is
lost and a request is approved once; after ``retries`` lost races it raises
:class:`ConflictError`. A store names its connection and its four statements (read, swap,
insert, the pending states); the operations below are the same for every database.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from ._errors import ApprovalError, ConflictError, NotFoundError
from ._native import Engine, PolicySet

Groups = list[str] | tuple[str, ...] | set[str] | frozenset[str]
Instant = str | int | datetime.datetime
"""RFC 3339 text, integer Unix milliseconds, or a timezone-aware ``datetime``."""

C = TypeVar("C")


def policy_set(policies: PolicySet | Engine) -> PolicySet:
    """The set that computes a transition: an engine's current one."""
    return policies.current if isinstance(policies, Engine) else policies


class CasStore(Generic[C]):
    """The operations of an approval store over a connection type ``C``."""

    retries: int

    # What each database says in its own SQL.

    def _connection(self) -> AbstractContextManager[C]:
        raise NotImplementedError

    def _read(self, conn: C, id: str) -> tuple[dict[str, Any], int] | None:
        """The state of request ``id`` and its version, or ``None``."""
        raise NotImplementedError

    def _swap(self, conn: C, id: str, new: dict[str, Any], version: int) -> bool:
        """Writes ``new`` if the row still has ``version``; whether it did."""
        raise NotImplementedError

    def _insert(self, conn: C, id: str, state: dict[str, Any]) -> bool:
        """Stores a new request at version 1; ``False`` if ``id`` is taken."""
        raise NotImplementedError

    def _pending(self, conn: C) -> Iterator[dict[str, Any]]:
        """The pending states, in id order."""
        raise NotImplementedError

    def _where(self) -> str:
        """Where the store keeps its states, for messages."""
        raise NotImplementedError

    # The operations.

    def _state(self, conn: C, id: str) -> tuple[dict[str, Any], int]:
        found = self._read(conn, id)
        if found is None:
            raise NotFoundError(f"no approval request `{id}` in {self._where()}")
        return found

    def _update(
        self, id: str, compute: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        with self._connection() as conn:
            for attempt in range(self.retries):
                state, version = self._state(conn, id)
                # The engine's error (not_pending, already_voted, ...) is final: no retry.
                new = compute(state)
                if new == state:
                    return new
                # INVARIANT: a state is written only over the version it was computed from.
                if self._swap(conn, id, new, version):
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
        now: Instant,
    ) -> dict[str, Any]:
        """Opens an approval request (``PolicySet.open_approval``) and stores it; returns the
        state. An ``id`` already stored raises :class:`ConflictError`."""
        state = policy_set(policies).open_approval(request, flow, id, now)
        with self._connection() as conn:
            inserted = self._insert(conn, id, state)
        if not inserted:
            raise ConflictError(f"approval request `{id}` exists already")
        return state

    def approve(
        self,
        policies: PolicySet | Engine,
        id: str,
        approver: str,
        now: Instant,
        groups: Groups = (),
    ) -> dict[str, Any]:
        """Records ``approver``'s approval (``PolicySet.approve``); returns the new state."""
        return self._update(id, lambda s: policy_set(policies).approve(s, approver, now, groups))

    def reject(
        self,
        policies: PolicySet | Engine,
        id: str,
        approver: str,
        now: Instant,
        groups: Groups = (),
    ) -> dict[str, Any]:
        """Records ``approver``'s rejection (``PolicySet.reject``); returns the new state."""
        return self._update(id, lambda s: policy_set(policies).reject(s, approver, now, groups))

    def cancel(self, policies: PolicySet | Engine, id: str, now: Instant) -> dict[str, Any]:
        """Cancels the request (``PolicySet.cancel``); returns the new state."""
        return self._update(id, lambda s: policy_set(policies).cancel(s, now))

    def tick(self, policies: PolicySet | Engine, id: str, now: Instant) -> dict[str, Any]:
        """Expires the request if its timeout has passed (``PolicySet.tick``); returns the
        state, changed or not."""
        return self._update(id, lambda s: policy_set(policies).tick(s, now))

    def grant(self, policies: PolicySet | Engine, id: str) -> dict[str, Any]:
        """The grant of the approved request (``PolicySet.grant``)."""
        with self._connection() as conn:
            state, _ = self._state(conn, id)
        return policy_set(policies).grant(state)

    def get(self, id: str) -> dict[str, Any] | None:
        """The stored state of request ``id``, or ``None``."""
        with self._connection() as conn:
            found = self._read(conn, id)
        return None if found is None else found[0]

    def pending_for(
        self,
        policies: PolicySet | Engine,
        approver: str,
        now: Instant,
        groups: Groups = (),
    ) -> list[dict[str, Any]]:
        """The pending requests ``approver`` (with the host's group claims ``groups``) may act
        on at ``now``, as ``PolicySet.check_approver`` judges, in id order.

        A malformed ``approver``, ``now`` or ``groups`` raises ``ApprovalError``
        (``invalid_request``); a stored state the engine refuses is left out.
        """
        judge = policy_set(policies)
        with self._connection() as conn:
            pending = list(self._pending(conn))
        found = []
        for state in pending:
            try:
                judge.check_approver(state, approver, now, groups)
            except ApprovalError as e:
                if e.code == "invalid_request":
                    raise
                continue
            found.append(state)
        return found
