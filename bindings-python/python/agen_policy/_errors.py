"""The exceptions the package raises. Every one derives from :class:`PolicyError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ._native import Decision, Problem

__all__ = [
    "PolicyError",
    "DocumentError",
    "RequestError",
    "ToolBlocked",
    "ToolDenied",
    "StepUpRequired",
    "ApprovalRequired",
]


class PolicyError(Exception):
    """The root of every error of this package.

    An unexpected failure inside the engine (which should never happen) is raised as a
    plain ``PolicyError`` too, never as a crash of the interpreter.
    """


class DocumentError(PolicyError):
    """A policy document that does not load.

    ``problems`` lists every error found (never empty), each with a stable ``code``, a JSON
    Pointer ``path`` and a ``message``; ``warnings`` the warnings found on the way.
    """

    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        warnings: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)

    @property
    def code(self) -> str:
        """The code of the first problem, for callers that want one code."""
        return self.problems[0].code if self.problems else "invalid_document"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.problems, self.warnings))


class RequestError(PolicyError):
    """A request the engine cannot decide on: it is rejected, never turned into a decision.

    ``code`` is always ``"invalid_request"``; ``path`` is a JSON Pointer to the offending part
    of the request (``""`` for the whole request); in a batch, ``index`` is the position of
    the offending request.
    """

    code: ClassVar[str] = "invalid_request"
    message: str
    path: str
    index: int | None

    def __init__(self, message: str, path: str = "", index: int | None = None) -> None:
        where = path or "the root"
        text = f"invalid request at {where}: {message}"
        if index is not None:
            text = f"request {index}: {text}"
        super().__init__(text)
        self.message = message
        self.path = path
        self.index = index

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.path, self.index))


class ToolBlocked(PolicyError):
    """A guarded tool call that the policies do not allow to run now.

    Carries the ``decision`` and the call it is about (``user``, ``connector``, ``tool``).
    Catch this class to handle every outcome but ``allow``, or one of its subclasses.
    """

    decision: Decision
    user: str
    connector: str
    tool: str

    def __init__(self, decision: Decision, *, user: str, connector: str, tool: str) -> None:
        super().__init__(f"{connector}/{tool} for user {user}: {decision}")
        self.decision = decision
        self.user = user
        self.connector = connector
        self.tool = tool


class ToolDenied(ToolBlocked):
    """The decision is ``deny``: do not run the tool."""


class StepUpRequired(ToolBlocked):
    """The decision is ``step_up``: the user must re-authenticate, then the call may be retried."""


class ApprovalRequired(ToolBlocked):
    """The decision is ``request_approval``: run one of ``approval_flows`` before the tool."""

    @property
    def approval_flows(self) -> tuple[str, ...]:
        """The approval flows to run (ids from the policy document)."""
        return self.decision.approval_flows


# Shown and pickled as members of the package, where they are imported from.
for _cls in (
    PolicyError,
    DocumentError,
    RequestError,
    ToolBlocked,
    ToolDenied,
    StepUpRequired,
    ApprovalRequired,
):
    _cls.__module__ = "agen_policy"
