"""The exceptions the package raises. Every one derives from :class:`PolicyError`.

Each carries a stable ``code`` (the same string in every language), a ``message`` and, where one
exists, a ``path``:

==========================  =====================================  ===============================
class                       ``code``                               ``path``
==========================  =====================================  ===============================
``PolicyError``             ``internal_error`` (a failure inside   ``None``
                            the engine, which should not happen)
``DocumentError``           its first problem's code               its first problem's JSON Pointer
``RequestError``            ``invalid_request``                    JSON Pointer into the request
``PolicyFileError``         ``io_error`` (also an ``OSError``)     the file's path
``ArgumentError``           ``invalid_argument`` (also a           ``None``
                            ``TypeError``)
``ApprovalError``           the core's approval codes              into an argument, or ``None``
                            (``not_pending``, ``expired``...)
``ConflictError``           ``conflict``                           ``None``
``NotFoundError``           ``not_found``                          ``None``
``ToolDenied`` ...          the core's guard codes (``tool_denied``, ``None``
                            ``step_up_required``, ``approval_required``)
==========================  =====================================  ===============================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._native import blocked_outcome
from ._types import Action

if TYPE_CHECKING:
    from ._native import Decision, Problem

__all__ = [
    "PolicyError",
    "DocumentError",
    "RequestError",
    "PolicyFileError",
    "ArgumentError",
    "ApprovalError",
    "ConflictError",
    "NotFoundError",
    "ToolBlocked",
    "ToolDenied",
    "StepUpRequired",
    "ApprovalRequired",
]


class PolicyError(Exception):
    """The root of every error of this package.

    ``code`` is a stable, machine-readable code, ``message`` says what is wrong, and ``path``
    where, when there is a where. An unexpected failure inside the engine (which should never
    happen) is raised as a plain ``PolicyError`` with code ``internal_error``, never as a crash
    of the interpreter.
    """

    code: str = "internal_error"
    message: str
    path: str | None = None

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if path is not None:
            self.path = path


class DocumentError(PolicyError):
    """A policy document that does not load.

    ``problems`` lists every error found (never empty), each with a stable ``code``, a JSON
    Pointer ``path`` and a ``message``; ``warnings`` the warnings found on the way. ``code`` and
    ``path`` are those of the first problem.
    """

    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        warnings: Sequence[Problem] = (),
    ) -> None:
        problems = tuple(problems)
        first = problems[0] if problems else None
        super().__init__(
            message,
            code=first.code if first else "invalid_document",
            path=first.path if first else "",
        )
        self.problems = problems
        self.warnings = tuple(warnings)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.problems, self.warnings))


class RequestError(PolicyError):
    """A request the engine cannot decide on: it is rejected, never turned into a decision.

    ``code`` is always ``"invalid_request"``; ``path`` is a JSON Pointer to the offending part
    of the request (``""`` for the whole request); in a batch, ``index`` is the position of
    the offending request. ``message`` is the core's message; ``str()`` adds where.
    """

    code = "invalid_request"
    path: str = ""
    index: int | None

    def __init__(self, message: str, path: str = "", index: int | None = None) -> None:
        super().__init__(message, path=path)
        self.path = path
        self.index = index
        where = path or "the root"
        text = f"invalid request at {where}: {message}"
        if index is not None:
            text = f"request {index}: {text}"
        self.args = (text,)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.path, self.index))


class PolicyFileError(PolicyError, OSError):
    """A policy document file that cannot be read (missing, a directory, no permission...).

    Also an ``OSError``: ``errno``, ``strerror`` and ``filename`` are set as the operating system
    reported them. ``path`` is the file's path as given (a file system path, not a JSON Pointer).
    A file that is read but is too large or not a valid document raises ``DocumentError``.
    """

    code = "io_error"
    path: str = ""

    def __init__(self, message: str, path: str, errno: int | None = None) -> None:
        super().__init__(message, path=path)
        self.path = path
        self.filename = path
        self.errno = errno
        self.strerror = os.strerror(errno) if errno is not None else None

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.path, self.errno))


class ArgumentError(PolicyError, TypeError):
    """An argument of the wrong kind that is neither a request nor a document: a path that is
    not a path, a ``PolicySet`` that is not one, an action name that is no action. Also a
    ``TypeError``. (A bad request raises ``RequestError``, a bad document ``DocumentError``.)
    """

    code = "invalid_argument"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message,))


class ApprovalError(PolicyError):
    """An approval operation (SPEC §8.3) that did not happen; the state is unchanged.

    ``code`` is the core's: ``not_requested``, ``cannot_approve``, ``not_pending``, ``expired``,
    ``self_approval``, ``not_an_approver``, ``already_voted``, ``not_approved``,
    ``invalid_state`` (a state that is not of the SPEC §8.2 shape, or does not fit its flow)
    or ``invalid_request`` (a malformed argument). When a value inside an argument has no JSON
    form, the message names the argument and ``path`` points to the value within it
    (``/context/x`` of the request).
    """

    def __init__(self, message: str, code: str, path: str | None = None) -> None:
        super().__init__(message, code=code, path=path)
        self.args = (f"{code}: {message}",)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.code, self.path))


class ConflictError(PolicyError):
    """A stored approval request kept changing under an update: every compare-and-swap of a
    bounded number of tries lost its race. Nothing was written; the caller may try again."""

    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message,))


class NotFoundError(PolicyError):
    """An approval store holds no request of that id."""

    code = "not_found"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message,))


class ToolBlocked(PolicyError):
    """A guarded tool call that the policies do not allow to run now.

    Carries the ``decision``, the call it is about (``user``, ``connector``, ``tool``) and,
    from the guard, the ``request`` decided: a dict with the identity, the evidence (``now``,
    ``auth``, ``grants``) and the call's ``arguments`` digest, as ``PolicySet.open_approval``
    takes it. Catch this class to handle every outcome but ``allow``, or one of its
    subclasses; each has the ``code`` the core gives that outcome in every language.
    """

    code = "tool_blocked"
    decision: Decision
    user: str
    connector: str
    tool: str
    request: dict[str, Any] | None

    def __init__(
        self,
        decision: Decision,
        *,
        user: str,
        connector: str,
        tool: str,
        request: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{connector}/{tool} for user {user}: {decision}")
        self.decision = decision
        self.user = user
        self.connector = connector
        self.tool = tool
        self.request = request


class ToolDenied(ToolBlocked):
    """The decision is ``deny``: do not run the tool."""


class StepUpRequired(ToolBlocked):
    """The decision is ``step_up``: the user must re-authenticate, then the call may be retried
    with the new ``auth``."""

    @property
    def step_up(self) -> tuple[dict[str, Any], ...]:
        """What the authentication must meet, per policy: ``{"policy", "max_age",
        "acr_values"}`` (the decision's ``step_up``)."""
        return self.decision.step_up


class ApprovalRequired(ToolBlocked):
    """The decision is ``request_approval``: open an approval request through one of
    ``approval_flows`` for ``request`` (``PolicySet.open_approval``); once approved, its grant
    in the identity's ``grants`` lets the call run."""

    @property
    def approval_flows(self) -> tuple[str, ...]:
        """The approval flows to run (ids from the policy document)."""
        return self.decision.approval_flows


def _blocked_from_core() -> dict[Action, type[ToolBlocked]]:
    """The class raised for each action that blocks a call, and its code, as the core defines
    them for every language. A class the core names that this package lacks fails the import:
    better no guard than one that lets an outcome through unnamed."""
    classes = {cls.__name__: cls for cls in (ToolDenied, StepUpRequired, ApprovalRequired)}
    table: dict[Action, type[ToolBlocked]] = {}
    for action in Action:
        outcome = blocked_outcome(action)
        if outcome is None:
            continue
        code, class_name = outcome
        cls = classes[class_name]
        cls.code = code
        table[action] = cls
    return table


_BLOCKED: dict[Action, type[ToolBlocked]] = _blocked_from_core()
"""The ``ToolBlocked`` subclass for each action other than ``allow``."""


# Shown and pickled as members of the package, where they are imported from.
for _cls in (
    PolicyError,
    DocumentError,
    RequestError,
    PolicyFileError,
    ArgumentError,
    ApprovalError,
    ConflictError,
    NotFoundError,
    ToolBlocked,
    ToolDenied,
    StepUpRequired,
    ApprovalRequired,
):
    _cls.__module__ = "agen_policy"
