"""Type stubs of the native part of ``agen_policy``. Import from ``agen_policy`` instead."""

import datetime
import os
from collections.abc import Iterable
from typing import Any, final

from ._types import Action, Reason

__all__ = [
    "_run_tests",
    "arguments_digest",
    "blocked_outcome",
    "validate",
    "ConditionTrace",
    "Decision",
    "Engine",
    "Explanation",
    "PolicySet",
    "PolicyTrace",
    "Problem",
    "RuleTrace",
    "Validation",
    "__version__",
]

__version__: str

_Groups = list[str] | tuple[str, ...] | set[str] | frozenset[str]
"""Group ids as a list, tuple, set or frozenset of strings."""

_JsonText = str | bytes
"""JSON text, as ``str`` or UTF-8 ``bytes``."""

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]
"""A file system path."""

_Instant = str | int | datetime.datetime
"""RFC 3339 text with an offset, integer Unix milliseconds, or a timezone-aware ``datetime``."""

_Auth = dict[str, Any]
"""``{"time": instant, "acr": str, "amr": [str, ...]}`` (``acr`` and ``amr`` optional)."""

_Grants = list[dict[str, Any]] | tuple[dict[str, Any], ...]
"""Approval grants, as ``PolicySet.grant`` returns them."""

@final
class Engine:
    """A shared handle to the current policy set, reloadable while requests are evaluated.

    ``reload`` validates first: an invalid document raises ``DocumentError`` and the current set
    keeps serving. Every decision's ``version`` names the set that made it."""

    def __new__(cls, policies: PolicySet) -> Engine: ...
    @property
    def current(self) -> PolicySet:
        """The policy set currently served."""
    @property
    def version(self) -> str:
        """The current set's version."""
    def reload(self, document: _JsonText | dict[str, Any]) -> str:
        """Loads a document and, if valid, makes it current; returns its version."""
    def reload_file(self, path: _Path) -> str:
        """Like ``reload``, reading the document from a JSON file (as ``PolicySet.from_file``)."""
    def replace(self, policies: PolicySet) -> PolicySet:
        """Makes ``policies`` current; returns the set it replaces."""
    def evaluate(
        self,
        user: str,
        connector: str,
        tool: str,
        *,
        groups: _Groups | None = None,
        context: dict[str, Any] | None = None,
        now: _Instant | None = None,
        auth: _Auth | None = None,
        grants: _Grants | None = None,
        arguments: str | None = None,
    ) -> Decision:
        """``evaluate`` on the current set."""
    def evaluate_request(self, request: dict[str, Any] | _JsonText) -> Decision:
        """``evaluate_request`` on the current set."""
    def evaluate_json(self, text: _JsonText) -> Decision:
        """``evaluate_json`` on the current set."""
    def evaluate_many(self, requests: Any) -> list[Decision]:
        """``evaluate_many`` on the current set; one version decides the whole batch."""
    def explain(
        self,
        user: str,
        connector: str,
        tool: str,
        *,
        groups: _Groups | None = None,
        context: dict[str, Any] | None = None,
        now: _Instant | None = None,
        auth: _Auth | None = None,
        grants: _Grants | None = None,
        arguments: str | None = None,
    ) -> Explanation:
        """``explain`` on the current set."""
    def explain_request(self, request: dict[str, Any] | _JsonText) -> Explanation:
        """``explain_request`` on the current set."""

@final
class PolicySet:
    """A loaded policy document: validated, indexed and immutable; share it across threads."""

    @staticmethod
    def from_json(text: _JsonText) -> PolicySet:
        """Loads a document from JSON text; raises ``DocumentError`` listing every problem."""
    @staticmethod
    def from_dict(document: dict[str, Any]) -> PolicySet:
        """Loads a document given as Python values (as ``json.load`` makes them)."""
    @staticmethod
    def from_file(path: _Path) -> PolicySet:
        """Loads a document from a JSON file, reading at most one byte more than the document
        size limit; raises ``PolicyFileError`` when it cannot be read."""
    @property
    def version(self) -> str:
        """SHA-256, in hex, of the document as loaded; every decision carries it."""
    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The warnings found while loading."""
    def lint(self) -> dict[str, Any]: ...
    def access(self, connector: str, tool: str, user: str | None = None) -> dict[str, Any]: ...
    def document(self) -> dict[str, Any]:
        """The document as loaded, every default filled in, as a new ``dict``."""
    def evaluate(
        self,
        user: str,
        connector: str,
        tool: str,
        *,
        groups: _Groups | None = None,
        context: dict[str, Any] | None = None,
        now: _Instant | None = None,
        auth: _Auth | None = None,
        grants: _Grants | None = None,
        arguments: str | None = None,
    ) -> Decision:
        """Decides whether ``user`` may call ``tool`` of ``connector``; raises ``RequestError``
        for an invalid request. Without evidence the context is read in place: only the
        values a condition reads are converted, so only they are checked."""
    def evaluate_request(self, request: dict[str, Any] | _JsonText) -> Decision:
        """Decides on a whole request: a dict with ``user``, ``connector``, ``tool`` and
        optional ``groups``, ``context``, ``now``, ``auth``, ``grants`` and ``arguments``
        (JSON text is accepted too, as by ``evaluate_json``)."""
    def evaluate_json(self, text: _JsonText) -> Decision:
        """Decides on a request given as JSON text, parsed by the engine."""
    def evaluate_many(self, requests: Any) -> list[Decision]:
        """Decides on every request of an iterable (each as for ``evaluate_request``), in
        order; a dict of ``evaluate``'s fields is read in place as ``evaluate`` reads it (only
        the context values a condition reads are checked)."""
    def explain(
        self,
        user: str,
        connector: str,
        tool: str,
        *,
        groups: _Groups | None = None,
        context: dict[str, Any] | None = None,
        now: _Instant | None = None,
        auth: _Auth | None = None,
        grants: _Grants | None = None,
        arguments: str | None = None,
    ) -> Explanation:
        """Explains the decision on a request (same arguments as ``evaluate``)."""
    def explain_request(self, request: dict[str, Any] | _JsonText) -> Explanation:
        """Explains the decision on a whole request (as for ``evaluate_request``)."""
    def open_approval(
        self, request: dict[str, Any], flow: str, id: str, now: _Instant
    ) -> dict[str, Any]:
        """Opens an approval request for ``request`` through ``flow``; returns the state."""
    def approve(
        self, state: dict[str, Any], approver: str, now: _Instant, groups: _Groups | None = None
    ) -> dict[str, Any]:
        """Records ``approver``'s approval; returns the new state."""
    def reject(
        self, state: dict[str, Any], approver: str, now: _Instant, groups: _Groups | None = None
    ) -> dict[str, Any]:
        """Records ``approver``'s rejection; returns the new state."""
    def cancel(self, state: dict[str, Any], now: _Instant) -> dict[str, Any]:
        """Cancels a pending request; returns the new state."""
    def tick(self, state: dict[str, Any], now: _Instant) -> dict[str, Any]:
        """Expires a pending request whose timeout has passed; returns the state."""
    def grant(self, state: dict[str, Any]) -> dict[str, Any]:
        """The grant of an approved request."""
    def check_approver(
        self, state: dict[str, Any], person: str, now: _Instant, groups: _Groups | None = None
    ) -> None:
        """Raises the ``ApprovalError`` ``approve`` would (but ``already_voted``), else
        returns ``None``."""
    def eligible_approvers(self, state: dict[str, Any]) -> tuple[str, ...]:
        """The directory users who may approve the current step now, sorted."""

@final
class Decision:
    """The answer to one request. Immutable, comparable and hashable."""

    @property
    def action(self) -> Action: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def policies(self) -> tuple[str, ...]:
        """Ids of the determining policies, in byte order."""
    @property
    def approval_flows(self) -> tuple[str, ...]:
        """For ``request_approval``, the approval flows to run, in byte order."""
    @property
    def satisfied(self) -> tuple[str, ...]:
        """Policies whose step-up or approval the request's evidence satisfied."""
    @property
    def step_up(self) -> tuple[dict[str, Any], ...]:
        """For ``step_up``, ``{"policy", "max_age", "acr_values"}`` per determining policy."""
    @property
    def version(self) -> str:
        """The version of the policy set that made the decision."""
    @property
    def allowed(self) -> bool:
        """``True`` only when the action is ``allow``."""
    def to_dict(self) -> dict[str, Any]:
        """``{"action", "reason", "policies", "approval_flows", "satisfied", "step_up",
        "version"}``."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Problem:
    """One error or warning of a document: stable ``code``, JSON Pointer ``path``, ``message``,
    and for a JSON syntax error a 1-based ``line`` and ``column``."""

    def __new__(
        cls,
        code: str,
        path: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> Problem: ...
    @property
    def code(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Validation:
    """Every error (``problems``) and warning of a document; ``valid`` when it loads."""

    @property
    def valid(self) -> bool: ...
    @property
    def problems(self) -> tuple[Problem, ...]: ...
    @property
    def warnings(self) -> tuple[Problem, ...]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Explanation:
    """A decision and how it came about; ``str()`` is the engine's readable text."""

    @property
    def decision(self) -> Decision: ...
    @property
    def user(self) -> str: ...
    @property
    def user_in_directory(self) -> bool: ...
    @property
    def effective_groups(self) -> tuple[str, ...]: ...
    @property
    def connector(self) -> str: ...
    @property
    def tool(self) -> str: ...
    @property
    def policies(self) -> tuple[PolicyTrace, ...]:
        """A trace of every policy of the request's connector, in id order."""
    def to_dict(self) -> dict[str, Any]: ...

@final
class PolicyTrace:
    """How one policy bears on the request."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def action(self) -> Action: ...
    @property
    def governs_tool(self) -> bool: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def rules(self) -> tuple[RuleTrace, ...]: ...
    @property
    def otherwise(self) -> str | None: ...
    @property
    def served(self) -> str | None: ...
    @property
    def determining(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class RuleTrace:
    """One rule of a policy's targeting."""

    @property
    def matched(self) -> bool: ...
    @property
    def conditions(self) -> tuple[ConditionTrace, ...]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class ConditionTrace:
    """One condition and its result."""

    @property
    def attribute(self) -> str: ...
    @property
    def operator(self) -> str: ...
    @property
    def values(self) -> tuple[Any, ...]: ...
    @property
    def negate(self) -> bool: ...
    @property
    def ignore_case(self) -> bool: ...
    @property
    def actual(self) -> Any: ...
    @property
    def outcome(self) -> str:
        """``"true"``, ``"false"`` or ``"missing"``."""
    def to_dict(self) -> dict[str, Any]: ...

def validate(document: dict[str, Any] | _JsonText) -> Validation:
    """Validates a document without raising for its content."""

def diff(old: PolicySet, new: PolicySet) -> dict[str, Any]: ...
def replay(policies: PolicySet, records: Iterable[dict[str, Any] | str]) -> dict[str, Any]: ...
def arguments_digest(value: Any) -> str:
    """The lowercase hex SHA-256 of the RFC 8785 canonical JSON of ``value`` (SPEC §8.5)."""

def _run_tests(path: _Path) -> tuple[dict[str, Any], str, bool]:
    """The engine's report of the test files at ``path``, its text, and whether it is ok."""

def blocked_outcome(action: str) -> tuple[str, str] | None:
    """What a guard does with ``action``, as the core defines it for every language: ``None``
    for ``allow``, else the code and the class name of the error raised."""

# Test hooks (`_panic_for_tests`, `_panic_in_next_boundary`, `PolicySet._probe_*`) exist only in
# a build with the `test-hooks` feature, and have no stubs.

def refusal_message(action: str, connector: str, tool: str) -> str | None:
    """The text a model reads when a call with this ``action`` did not run
    (``guard::Blocked::model_message``); ``None`` for ``allow``."""

def _decision_record_line(
    decision: Decision,
    *,
    id: str,
    time: int | datetime.datetime,
    user: str,
    connector: str,
    tool: str,
    groups: list[str] | tuple[str, ...] | set[str] | frozenset[str] | None = None,
    tool_call_id: str | None = None,
    arguments_digest: str | None = None,
    arguments: Any = None,
) -> str:
    """One decision log record (``log::DecisionRecord``) as one line of JSON."""
