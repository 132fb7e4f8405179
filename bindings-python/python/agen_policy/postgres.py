"""An approval store on PostgreSQL, for a fleet of services sharing approval requests.

:class:`PostgresApprovalStore` offers the operations of :class:`SqliteApprovalStore` (``open``,
``approve``, ``reject``, ``cancel``, ``tick``, ``grant``, ``get``, ``pending_for``) on one table::

    agen_policy_approvals(id text PRIMARY KEY, state jsonb, status text, version bigint, ...)

The engine computes every transition (SPEC §8.3); the store only reads a state with its
version and writes the engine's next state with a compare-and-swap,
``UPDATE ... WHERE id = %s AND version = %s``, in autocommit (one statement, one transaction).
Under PostgreSQL's READ COMMITTED an ``UPDATE`` that waited for a concurrent writer re-checks its
``WHERE`` on the row that writer committed, so of two updates computed from the same version
exactly one writes; the other starts again from the new state. No vote is lost and no request is
approved twice, whatever the number of processes and machines.

The schema ships as SQL files in ``agen_policy/sql/`` (``migrations.sql``, then
``0001_approvals.sql``, ...); :meth:`PostgresApprovalStore.migrate` applies those not yet
recorded in ``agen_policy_migrations``, in one transaction under an advisory lock.

A database that cannot be reached fails closed: every operation raises :class:`StoreError`
with code ``store_unavailable`` (``store_not_migrated`` when the table is missing,
``store_error`` for any other database error) and no state changes.

Needs ``psycopg`` 3 (``pip install 'agen-policy[postgres]'``), imported when a store first
connects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from ._errors import PolicyError
from ._store import CasStore

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresApprovalStore", "StoreError", "migrations"]

_TABLE = "agen_policy_approvals"
# The key of the advisory lock migrations hold: the same in every language.
_MIGRATION_LOCK = 7_316_948_201


class StoreError(PolicyError):
    """The approval store's database did not answer as it should; nothing was written.

    ``code`` is ``store_unavailable`` (the database cannot be reached, or the connection broke),
    ``store_not_migrated`` (the table is missing: run ``migrate()``) or ``store_error`` (any
    other database error). Approvals fail closed: no request is opened, approved or granted.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)
        self.args = (f"{code}: {message}",)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.code))


def migrations() -> list[tuple[int, str, str]]:
    """The shipped migrations, in order: ``(version, file name, SQL text)``."""
    folder = resources.files("agen_policy") / "sql"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _bookkeeping() -> str:
    return (resources.files("agen_policy") / "sql" / "migrations.sql").read_text(encoding="utf-8")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as e:
        raise StoreError(
            "PostgresApprovalStore needs psycopg 3: pip install 'agen-policy[postgres]'",
            "store_unavailable",
        ) from e
    return psycopg


def _store_error(error: Exception) -> StoreError:
    """The package's error for a database error."""
    pg = _psycopg()
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, pg.errors.UndefinedTable):
        return StoreError(
            f"the table `{_TABLE}` does not exist: apply the migrations (migrate()): {detail}",
            "store_not_migrated",
        )
    if isinstance(error, (pg.OperationalError, pg.InterfaceError)):
        return StoreError(f"the approval database cannot be reached: {detail}", "store_unavailable")
    return StoreError(f"the approval database failed: {detail}", "store_error")


class PostgresApprovalStore(CasStore["psycopg.Connection[Any]"]):
    """Approval requests kept in PostgreSQL, reached through ``conninfo`` (a libpq connection
    string or URI, as ``psycopg.connect`` takes it).

    ``policies`` in every method is the :class:`PolicySet` (or :class:`Engine`, whose current
    set is used) that computes the transition. ``retries`` bounds the compare-and-swap tries of
    one update; ``connect_timeout`` is how long, in seconds, connecting may take before the call
    fails with ``store_unavailable``. Up to ``pool_size`` idle connections are kept for reuse;
    one store may be shared by threads. :meth:`close` closes them.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        retries: int = 16,
        connect_timeout: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        if retries < 1:
            raise ValueError("retries must be at least 1")
        self.conninfo = conninfo
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.pool_size = pool_size
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    # --- Connections ---------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        pg = _psycopg()
        try:
            conn: psycopg.Connection[Any] = pg.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=max(1, round(self.connect_timeout)),
            )
        except pg.Error as e:
            raise _store_error(e) from e
        return conn

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one operation: an idle one, or a new one. A connection that failed
        is closed, not kept; any database error becomes a :class:`StoreError`."""
        pg = _psycopg()
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = self._connect()
        try:
            yield conn
        except pg.Error as e:
            conn.close()
            if isinstance(e, (pg.OperationalError, pg.InterfaceError)):
                # The server went away or restarted: the idle connections are as dead as this
                # one, and the next call should connect afresh rather than fail on them too.
                self.close()
            raise _store_error(e) from e
        finally:
            if not conn.closed:
                self._release(conn)

    def _release(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Closes the idle connections (the store connects again when next used)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> PostgresApprovalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Schema --------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Applies the shipped migrations the database has not recorded, in order, in one
        transaction under an advisory lock (processes migrating together apply each once);
        returns the versions applied now."""
        applied: list[int] = []
        with self._connection() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute(_bookkeeping())
                done = {
                    row[0] for row in conn.execute("SELECT version FROM agen_policy_migrations")
                }
                for version, name, text in migrations():
                    if version in done:
                        continue
                    conn.execute(text)
                    conn.execute(
                        "INSERT INTO agen_policy_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                    applied.append(version)
        return applied

    # --- The statements of the operations (``agen_policy._store``) ---------------------------

    def _read(self, conn: psycopg.Connection[Any], id: str) -> tuple[dict[str, Any], int] | None:
        row = conn.execute(f"SELECT state, version FROM {_TABLE} WHERE id = %s", (id,)).fetchone()
        if row is None:
            return None
        state: dict[str, Any] = row[0]
        return state, int(row[1])

    def _swap(
        self, conn: psycopg.Connection[Any], id: str, new: dict[str, Any], version: int
    ) -> bool:
        jsonb = _psycopg().types.json.Jsonb
        swapped = conn.execute(
            f"UPDATE {_TABLE} SET state = %s, status = %s, version = version + 1, "
            "updated = now() WHERE id = %s AND version = %s",
            (jsonb(new), new["status"], id, version),
        ).rowcount
        return bool(swapped == 1)

    def _insert(self, conn: psycopg.Connection[Any], id: str, state: dict[str, Any]) -> bool:
        jsonb = _psycopg().types.json.Jsonb
        inserted = conn.execute(
            f"INSERT INTO {_TABLE} (id, state, status, version) VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (id) DO NOTHING",
            (id, jsonb(state), state["status"]),
        ).rowcount
        return bool(inserted == 1)

    def _pending(self, conn: psycopg.Connection[Any]) -> Iterator[dict[str, Any]]:
        rows = conn.execute(
            f"SELECT state FROM {_TABLE} WHERE status = 'pending' ORDER BY id"
        ).fetchall()
        for (state,) in rows:
            yield state

    def _where(self) -> str:
        return f"the table {_TABLE}"

    def __repr__(self) -> str:
        return "PostgresApprovalStore(...)"


PostgresApprovalStore.__module__ = "agen_policy"
StoreError.__module__ = "agen_policy"
