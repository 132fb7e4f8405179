"""Guarding tool calls: ask the policies before a tool runs, raise when it may not run now.

Framework-neutral: it needs only a callable. The identity a call is made for comes from the
host, never from the agent:

* ``connector`` is given where the tool is wrapped; ``tool`` defaults to the function's name;
* ``user``, ``groups`` and ``context`` come from the innermost :func:`acting_for` block of the
  current thread or asyncio task, which the host enters when it knows who the agent acts for
  (per session, per request...), or from explicit arguments of :func:`check`.

A call that is not allowed raises a :class:`ToolBlocked` subclass carrying the decision:
:class:`ToolDenied`, :class:`StepUpRequired` or :class:`ApprovalRequired`. Nothing is merged
and nothing is decided here: the engine decides, this module maps its answer to exceptions.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from ._errors import (
    ApprovalRequired,
    RequestError,
    StepUpRequired,
    ToolBlocked,
    ToolDenied,
)
from ._native import Decision, Engine, PolicySet
from ._types import Action

__all__ = ["Identity", "acting_for", "current_identity", "check", "enforce", "guard"]

P = ParamSpec("P")
R = TypeVar("R")

PolicySource = PolicySet | Engine | Callable[[], PolicySet]
"""A policy set, an :class:`Engine` (whose current set is used, so reloads apply at once), or
a callable returning the current set."""


@dataclass(frozen=True)
class Identity:
    """Who a tool call is made for: the user, their group claims and the request context."""

    user: str
    groups: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)


_current: ContextVar[Identity | None] = ContextVar("agen_policy_identity", default=None)

_BLOCKED: dict[str, type[ToolBlocked]] = {
    Action.DENY: ToolDenied,
    Action.STEP_UP: StepUpRequired,
    Action.REQUEST_APPROVAL: ApprovalRequired,
}


@contextmanager
def acting_for(
    user: str,
    *,
    groups: Collection[str] = (),
    context: Mapping[str, Any] | None = None,
) -> Iterator[Identity]:
    """Makes guarded tool calls in this block act for ``user``.

    The identity holds for the current thread or asyncio task (a :mod:`contextvars` variable),
    so concurrent sessions do not see each other's. ``context`` is copied (one level deep).
    """
    identity = Identity(user, tuple(groups), dict(context or {}))
    token = _current.set(identity)
    try:
        yield identity
    finally:
        _current.reset(token)


def current_identity() -> Identity | None:
    """The identity of the innermost :func:`acting_for` block, if any."""
    return _current.get()


def enforce(decision: Decision, *, user: str, connector: str, tool: str) -> Decision:
    """Returns ``decision`` if it allows the call, else raises the matching :class:`ToolBlocked`."""
    if decision.allowed:
        return decision
    raise _BLOCKED.get(decision.action, ToolDenied)(
        decision, user=user, connector=connector, tool=tool
    )


def check(
    policies: PolicySource,
    *,
    connector: str,
    tool: str,
    user: str | None = None,
    groups: Collection[str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Evaluates one tool call and returns the decision if it is ``allow``; raises otherwise.

    Without ``user``, the identity of the current :func:`acting_for` block is used (and then
    ``groups`` and ``context`` must not be given: they belong to that identity). Raises
    ``RequestError`` when there is no identity at all.
    """
    if user is None:
        identity = _current.get()
        if identity is None:
            raise RequestError(
                "no user to act for: call inside acting_for(...) or pass user=", "/user"
            )
        if groups is not None or context is not None:
            raise TypeError("groups and context come with user=; without it, acting_for gives them")
        user, group_list, context_dict = identity.user, list(identity.groups), identity.context
    else:
        group_list = list(groups or ())
        context_dict = dict(context or {})
    source: PolicySet | Engine = (
        policies if isinstance(policies, (PolicySet, Engine)) else policies()
    )
    decision = source.evaluate(user, connector, tool, groups=group_list, context=context_dict)
    return enforce(decision, user=user, connector=connector, tool=tool)


def guard(
    policies: PolicySource,
    *,
    connector: str,
    tool: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wraps a tool so that every call is checked (:func:`check`) before the tool runs.

    ``tool`` defaults to the function's ``__name__``; the user, groups and context come from
    :func:`acting_for`. Coroutine functions are checked when awaited, before their body runs.

    >>> @guard(policies, connector="github")              # doctest: +SKIP
    ... def delete_repository(name: str) -> None: ...
    >>> with acting_for("alice", context={"agent": {"type": "Claude"}}):  # doctest: +SKIP
    ...     delete_repository("old-repo")                  # raises ApprovalRequired
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        name = tool if tool is not None else fn.__name__

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                check(policies, connector=connector, tool=name)
                return await fn(*args, **kwargs)

            return cast(Callable[P, R], guarded_async)

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            check(policies, connector=connector, tool=name)
            return fn(*args, **kwargs)

        return guarded

    return decorate
