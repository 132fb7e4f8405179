"""The decision log: one record per decision, made by the core, and a JSON-lines sink for them.

A record (:func:`decision_record`) is the core's ``log::DecisionRecord``: the same members, in
the same order, whether Python, Node or ``agen-policy serve`` wrote it. The guard and every
framework adapter take a callback (``on_decision=``) that receives each record as a ``dict``;
:class:`JsonlDecisionLog` is such a callback, writing one JSON object per line.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import IO, Any

from ._native import Decision, _decision_record_line

__all__ = ["DecisionCallback", "JsonlDecisionLog", "decision_record", "new_decision_id"]

DecisionCallback = Callable[[dict[str, Any]], object]
"""What takes decision log records: ``on_decision=`` of the guard and the adapters."""


def decision_record(
    decision: Decision,
    *,
    id: str,
    time: int | datetime.datetime,
    user: str,
    connector: str,
    tool: str,
    groups: Iterable[str] = (),
    tool_call_id: str | None = None,
    arguments_digest: str | None = None,
    arguments: Any = None,
) -> dict[str, Any]:
    """The decision log record of ``decision`` (``log::DecisionRecord``), as a ``dict`` whose
    members are in the core's order.

    ``id`` is the host's id of the decision, ``time`` when it was made (integer Unix
    milliseconds or an aware ``datetime``), ``groups`` the call's group claims,
    ``tool_call_id`` the framework's id of the call, ``arguments_digest`` the request's
    ``arguments`` evidence and ``arguments`` the call's argument values (pass them only when
    the log may hold them). A wrong argument raises ``ArgumentError``.
    """
    line = _decision_record_line(
        decision,
        id=id,
        time=time,
        user=user,
        connector=connector,
        tool=tool,
        groups=list(groups) if not isinstance(groups, list) else groups,
        tool_call_id=tool_call_id,
        arguments_digest=arguments_digest,
        arguments=arguments,
    )
    record: dict[str, Any] = json.loads(line)
    return record


def new_decision_id() -> str:
    """A fresh decision id (a random UUID, as text)."""
    return str(uuid.uuid4())


def now_millis() -> int:
    """The host's clock, in Unix milliseconds."""
    return time.time_ns() // 1_000_000


class JsonlDecisionLog:
    """A decision log callback writing each record as one line of JSON.

    ``target`` is a path (opened for appending, created if missing) or a text file object
    (written to, never closed here). Records keep their members in the core's order. The
    ``arguments`` member (the call's argument values) is left out unless
    ``include_arguments=True``; the ``arguments_digest`` always stays. One log may be shared by
    threads: each record is written and flushed whole, under a lock.

    >>> log = JsonlDecisionLog("decisions.jsonl")          # doctest: +SKIP
    >>> @guard(policies, connector="github", on_decision=log)  # doctest: +SKIP
    ... def create_issue(title: str) -> None: ...
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[str],
        *,
        include_arguments: bool = False,
    ) -> None:
        self.include_arguments = include_arguments
        self._lock = threading.Lock()
        self._owned: IO[str] | None
        if isinstance(target, (str, os.PathLike)):
            self._owned = open(target, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
            self._file: IO[str] = self._owned
        elif isinstance(target, io.TextIOBase) or hasattr(target, "write"):
            self._owned = None
            self._file = target
        else:
            raise TypeError(f"a path or a text file, not {type(target).__name__}")

    def __call__(self, record: dict[str, Any]) -> None:
        if not self.include_arguments and "arguments" in record:
            record = {k: v for k, v in record.items() if k != "arguments"}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        """Closes the file this log opened (a file object it was given stays open)."""
        with self._lock:
            if self._owned is not None:
                self._owned.close()
                self._owned = None

    def __enter__(self) -> JsonlDecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        name = getattr(self._file, "name", None)
        return f"JsonlDecisionLog({name!r})"


JsonlDecisionLog.__module__ = "agen_policy"
