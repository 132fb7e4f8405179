"""Guarding tool calls: ask the policies before a tool runs, raise when it may not run now.

Framework-neutral: it needs only a callable. The identity a call is made for comes from the
host, never from the agent:

* ``connector`` is given where the tool is wrapped; ``tool`` defaults to the function's name;
* ``user``, ``groups`` and ``context`` come from the innermost :func:`acting_for` block of the
  current thread or asyncio task, which the host enters when it knows who the agent acts for
  (per session, per request...), or from explicit arguments of :func:`check`;
* so does the evidence of SPEC §7.2: ``auth`` (the user's last authentication, as the host's
  session verified it) and ``grants`` (approval grants from the host's own store). ``now`` is
  the host's clock: unless the identity gives one, the guard reads ``time.time_ns()`` at each
  call that carries ``auth`` or ``grants`` (the engine itself never reads a clock).

The tool call's arguments are never merged into the context, so nothing a model writes into a
call can change who it is made for or what targeting sees (the rule the core's ``guard`` module
states for every language). With ``guard(..., bind_arguments=True)`` the guard passes their
``arguments_digest`` as the request's ``arguments``: evidence that is only compared with the
``arguments`` a grant was bound to, so an approval of one call does not let another run.

A call that is not allowed raises the :class:`ToolBlocked` subclass the core names for the
decision's action (:class:`ToolDenied`, :class:`StepUpRequired` or :class:`ApprovalRequired`,
each with the core's ``code``), carrying the decision. Nothing is decided here: the engine
decides, and the core says which outcome each action is.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from ._errors import _BLOCKED, ArgumentError, RequestError, ToolDenied
from ._native import Decision, Engine, PolicySet, arguments_digest
from .decision_log import DecisionCallback, decision_record, new_decision_id, now_millis

__all__ = ["Identity", "acting_for", "current_identity", "check", "enforce", "guard"]

P = ParamSpec("P")
R = TypeVar("R")

PolicySource = PolicySet | Engine | Callable[[], PolicySet]
"""A policy set, an :class:`Engine` (whose current set is used, so reloads apply at once), or
a callable returning the current set."""


Instant = str | int | datetime.datetime
"""An instant: RFC 3339 text, integer Unix milliseconds, or a timezone-aware ``datetime``."""


@dataclass(frozen=True)
class Identity:
    """Who a tool call is made for (the user, their group claims, the request context) and the
    host's evidence for them: ``auth``, ``grants`` and, if the host fixes it, ``now``."""

    user: str
    groups: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)
    now: Instant | None = None
    auth: dict[str, Any] | None = None
    grants: tuple[dict[str, Any], ...] = ()

    def evidence(self, arguments: str | None = None) -> dict[str, Any]:
        """The evidence keywords of ``evaluate`` for a call now (see :func:`acting_for`)."""
        return _evidence(self.now, self.auth, self.grants, arguments)


def _evidence(
    now: Instant | None,
    auth: Any,
    grants: Any,
    arguments: str | None,
) -> dict[str, Any]:
    """The evidence keywords of ``evaluate``: ``now`` is the one given, or the host's clock
    (Unix milliseconds) when ``auth`` or ``grants`` need an instant. No grants is no ``grants``."""
    evidence: dict[str, Any] = {}
    if auth is not None:
        evidence["auth"] = auth
    if grants:
        evidence["grants"] = list(grants) if isinstance(grants, tuple) else grants
    if now is not None:
        evidence["now"] = now
    elif evidence:
        evidence["now"] = time.time_ns() // 1_000_000
    if arguments is not None:
        evidence["arguments"] = arguments
    return evidence


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
    now: Instant | None = None,
    auth: Mapping[str, Any] | None = None,
    grants: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> Iterator[Identity]:
    """Makes guarded tool calls in this block act for ``user``, with the host's evidence.

    ``auth`` is the user's last authentication as the host's session verified it
    (``{"time", "acr", "amr"}``, ``time`` an instant); ``grants`` the approval grants the
    host's store holds for this user (what ``PolicySet.grant`` returns). Both come from the
    host, never from a model. ``now`` is the instant of the calls; left out, the guard reads
    the host's clock at each call that carries ``auth`` or ``grants``.

    The identity holds for the current thread or asyncio task (a :mod:`contextvars` variable),
    so concurrent sessions do not see each other's. ``context`` and ``auth`` are copied (one
    level deep). ``groups`` must be a list, tuple, set or frozenset, ``context`` and ``auth``
    mappings and ``grants`` a list or tuple, else ``RequestError``; the values themselves are
    judged by the engine at each call.
    """
    if not isinstance(groups, _GROUP_COLLECTIONS):
        raise RequestError(
            f"`groups` must be a list of group ids, not {type(groups).__name__}", "/groups"
        )
    if context is not None and not isinstance(context, Mapping):
        raise RequestError(f"`context` must be a dict, not {type(context).__name__}", "/context")
    if auth is not None and not isinstance(auth, Mapping):
        raise RequestError(f"`auth` must be a dict, not {type(auth).__name__}", "/auth")
    if not isinstance(grants, (list, tuple)):
        raise RequestError(f"`grants` must be a list, not {type(grants).__name__}", "/grants")
    identity = Identity(
        user,
        tuple(groups),
        dict(context or {}),
        now,
        dict(auth) if auth is not None else None,
        tuple(grants),
    )
    token = _current.set(identity)
    try:
        yield identity
    finally:
        _current.reset(token)


def current_identity() -> Identity | None:
    """The identity of the innermost :func:`acting_for` block, if any."""
    return _current.get()


def enforce(
    decision: Decision,
    *,
    user: str,
    connector: str,
    tool: str,
    request: dict[str, Any] | None = None,
) -> Decision:
    """Returns ``decision`` if it allows the call, else raises the matching :class:`ToolBlocked`
    (carrying ``request``, the request decided, when given).

    An action the core names no outcome for (there is none today) is refused as ``ToolDenied``.
    """
    if decision.allowed:
        return decision
    raise _BLOCKED.get(decision.action, ToolDenied)(
        decision, user=user, connector=connector, tool=tool, request=request
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
    now: Instant | None = None,
    auth: Mapping[str, Any] | None = None,
    grants: list[dict[str, Any]] | tuple[dict[str, Any], ...] | None = None,
    arguments: str | None = None,
    on_decision: DecisionCallback | None = None,
) -> Decision:
    """Evaluates one tool call and returns the decision if it is ``allow``; raises otherwise.

    Without ``user``, the identity of the current :func:`acting_for` block is used, with its
    evidence (and then ``groups``, ``context``, ``now``, ``auth`` and ``grants`` must not be
    given: they belong to that identity, and ``ArgumentError`` says so). ``arguments`` is the
    call's ``arguments_digest``. Raises ``RequestError`` when there is no identity at all, or
    when the engine refuses the request.

    A blocked call's error carries the request decided (``request``, a dict for
    ``PolicySet.open_approval``); ``now`` is the host's clock as in :func:`acting_for`.

    ``on_decision``, when given, receives the decision's log record (:func:`decision_record`,
    with a fresh id and the host's clock) before the call is let through or blocked; an error
    it raises propagates, so the tool does not run.
    """
    source = _policy_set(policies)
    call_groups: Any
    call_context: Any
    if user is None:
        identity = _current.get()
        if identity is None:
            raise RequestError(
                "no user to act for: call inside acting_for(...) or pass user=", "/user"
            )
        if any(v is not None for v in (groups, context, now, auth, grants)):
            raise ArgumentError(
                "groups, context and evidence come with user=; without it, acting_for gives them"
            )
        user, call_groups, call_context = identity.user, identity.groups, identity.context
        evidence = identity.evidence(arguments)
    else:
        # Passed on as given: the engine refuses anything that is not a list of group ids or
        # a dict (a mapping is copied into one).
        call_groups = groups
        call_context = dict(context) if isinstance(context, Mapping) else context
        call_auth = dict(auth) if isinstance(auth, Mapping) else auth
        evidence = _evidence(now, call_auth, grants, arguments)
    decision = source.evaluate(
        user, connector, tool, groups=call_groups, context=call_context, **evidence
    )
    if on_decision is not None:
        on_decision(
            decision_record(
                decision,
                id=new_decision_id(),
                time=now_millis(),
                user=user,
                connector=connector,
                tool=tool,
                groups=list(call_groups or ()),
                arguments_digest=arguments,
            )
        )
    if decision.allowed:
        return decision
    request: dict[str, Any] = {"user": user, "connector": connector, "tool": tool}
    if call_groups:
        request["groups"] = list(call_groups)
    if call_context:
        request["context"] = dict(call_context)
    request.update(evidence)
    return enforce(decision, user=user, connector=connector, tool=tool, request=request)


def guard(
    policies: PolicySource,
    *,
    connector: str,
    tool: str | None = None,
    bind_arguments: bool = False,
    on_decision: DecisionCallback | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wraps a tool so that every call is checked (:func:`check`) before the tool runs.

    ``tool`` defaults to the function's ``__name__``; the user, groups, context and evidence
    come from :func:`acting_for`, never from the call's arguments. Coroutine functions are
    checked when awaited (not when called), before their body runs.

    With ``bind_arguments=True``, each call passes the ``arguments_digest`` of its arguments
    (``inspect.signature(fn).bind(*args, **kwargs).arguments``: the arguments given, by
    parameter name, defaults left out) as the request's ``arguments``, so a grant bound to
    other arguments does not let it run. Arguments that do not fit the signature raise
    ``ArgumentError``; values without a JSON form raise ``RequestError``.

    ``on_decision`` receives each call's decision log record, as in :func:`check`.

    >>> @guard(policies, connector="github")              # doctest: +SKIP
    ... def delete_repository(name: str) -> None: ...
    >>> with acting_for("alice", context={"agent": {"type": "Claude"}}):  # doctest: +SKIP
    ...     delete_repository("old-repo")                  # raises ApprovalRequired
    """

    if not (isinstance(policies, (PolicySet, Engine)) or callable(policies)):
        _policy_set(policies)  # raises ArgumentError

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        name = tool if tool is not None else fn.__name__
        signature = inspect.signature(fn) if bind_arguments else None

        def digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
            if signature is None:
                return None
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as e:
                raise ArgumentError(f"the arguments do not fit {name}: {e}") from None
            return arguments_digest(dict(bound.arguments))

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                check(
                policies,
                connector=connector,
                tool=name,
                arguments=digest(args, kwargs),
                on_decision=on_decision,
            )
                return await fn(*args, **kwargs)

            return cast(Callable[P, R], guarded_async)

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            check(
                policies,
                connector=connector,
                tool=name,
                arguments=digest(args, kwargs),
                on_decision=on_decision,
            )
            return fn(*args, **kwargs)

        return guarded

    return decorate
