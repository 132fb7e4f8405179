"""Guarding tool calls: ask the policies before a tool runs, raise when it may not run now.

Framework-neutral: it needs only a callable. The identity a call is made for comes from the
host, never from the agent:

* ``connector`` is given where the tool is wrapped; ``tool`` defaults to the function's name;
* ``user``, ``groups`` and ``context`` come from the innermost :func:`acting_for` block of the
  current thread or asyncio task, which the host enters when it knows who the agent acts for
  (per session, per request...), or from explicit arguments of :func:`check`.

The tool call's arguments are not an input of the guard at all: nothing is merged, so nothing a
model writes into a call can change who it is made for or what targeting sees (the rule the
core's ``guard`` module states for every language).

A call that is not allowed raises the :class:`ToolBlocked` subclass the core names for the
decision's action (:class:`ToolDenied`, :class:`StepUpRequired` or :class:`ApprovalRequired`,
each with the core's ``code``), carrying the decision. Nothing is decided here: the engine
decides, and the core says which outcome each action is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from ._errors import _BLOCKED, ArgumentError, RequestError, ToolDenied
from ._native import Decision, Engine, PolicySet

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

Groups = list[str] | tuple[str, ...] | set[str] | frozenset[str]
"""Group ids, in what ``PolicySet.evaluate`` takes them."""

_GROUP_COLLECTIONS = (list, tuple, set, frozenset)


@contextmanager
def acting_for(
    user: str,
    *,
    groups: Groups = (),
    context: Mapping[str, Any] | None = None,
) -> Iterator[Identity]:
    """Makes guarded tool calls in this block act for ``user``.

    The identity holds for the current thread or asyncio task (a :mod:`contextvars` variable),
    so concurrent sessions do not see each other's. ``context`` is copied (one level deep).
    ``groups`` must be a list, tuple, set or frozenset and ``context`` a mapping, else
    ``RequestError``; the values themselves are judged by the engine at each call.
    """
    if not isinstance(groups, _GROUP_COLLECTIONS):
        raise RequestError(
            f"`groups` must be a list of group ids, not {type(groups).__name__}", "/groups"
        )
    if context is not None and not isinstance(context, Mapping):
        raise RequestError(f"`context` must be a dict, not {type(context).__name__}", "/context")
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
    """Returns ``decision`` if it allows the call, else raises the matching :class:`ToolBlocked`.

    An action the core names no outcome for (there is none today) is refused as ``ToolDenied``.
    """
    if decision.allowed:
        return decision
    raise _BLOCKED.get(decision.action, ToolDenied)(
        decision, user=user, connector=connector, tool=tool
    )


def _policy_set(policies: PolicySource) -> PolicySet | Engine:
    """The set (or engine) to ask now; ``ArgumentError`` for anything else."""
    if isinstance(policies, (PolicySet, Engine)):
        return policies
    if callable(policies):
        current: object = policies()
        if isinstance(current, (PolicySet, Engine)):
            return current
        raise ArgumentError(
            f"the policies callable returned {type(current).__name__}, not a PolicySet"
        )
    raise ArgumentError(
        "`policies` must be a PolicySet, an Engine or a callable returning a PolicySet, "
        f"not {type(policies).__name__}"
    )


def check(
    policies: PolicySource,
    *,
    connector: str,
    tool: str,
    user: str | None = None,
    groups: Groups | None = None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Evaluates one tool call and returns the decision if it is ``allow``; raises otherwise.

    Without ``user``, the identity of the current :func:`acting_for` block is used (and then
    ``groups`` and ``context`` must not be given: they belong to that identity, and
    ``ArgumentError`` says so). Raises ``RequestError`` when there is no identity at all, or
    when the engine refuses the request.
    """
    source = _policy_set(policies)
    if user is None:
        identity = _current.get()
        if identity is None:
            raise RequestError(
                "no user to act for: call inside acting_for(...) or pass user=", "/user"
            )
        if groups is not None or context is not None:
            raise ArgumentError(
                "groups and context come with user=; without it, acting_for gives them"
            )
        decision = source.evaluate(
            identity.user, connector, tool, groups=identity.groups, context=identity.context
        )
        return enforce(decision, user=identity.user, connector=connector, tool=tool)
    # Passed on as given: the engine refuses anything that is not a list of group ids or a
    # dict (a mapping is copied into one).
    call_context = dict(context) if isinstance(context, Mapping) else context
    decision = source.evaluate(user, connector, tool, groups=groups, context=call_context)
    return enforce(decision, user=user, connector=connector, tool=tool)


def guard(
    policies: PolicySource,
    *,
    connector: str,
    tool: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wraps a tool so that every call is checked (:func:`check`) before the tool runs.

    ``tool`` defaults to the function's ``__name__``; the user, groups and context come from
    :func:`acting_for`, never from the call's arguments. Coroutine functions are checked when
    awaited (not when called), before their body runs.

    >>> @guard(policies, connector="github")              # doctest: +SKIP
    ... def delete_repository(name: str) -> None: ...
    >>> with acting_for("alice", context={"agent": {"type": "Claude"}}):  # doctest: +SKIP
    ...     delete_repository("old-repo")                  # raises ApprovalRequired
    """

    if not (isinstance(policies, (PolicySet, Engine)) or callable(policies)):
        _policy_set(policies)  # raises ArgumentError

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
