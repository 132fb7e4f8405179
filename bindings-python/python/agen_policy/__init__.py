"""agen_policy: decide, in-process, whether an AI agent acting for a user may call a tool.

Load a policy document once, then evaluate tool calls against it::

    import agen_policy

    policies = agen_policy.PolicySet.from_file("examples/acme.json")
    decision = policies.evaluate("alice", "github", "delete_repository",
                                 context={"agent": {"type": "Claude"}})
    if decision.action == agen_policy.Action.REQUEST_APPROVAL:
        print("approval by", decision.approval_flows)

The semantics (documents, targeting, evaluation) are the engine's, the same in Rust, Python,
Node and the ``agen-policy`` command.
"""

from ._errors import (
    ApprovalError,
    ApprovalRequired,
    ArgumentError,
    ConflictError,
    DocumentError,
    NotFoundError,
    PolicyError,
    PolicyFileError,
    RequestError,
    StepUpRequired,
    ToolBlocked,
    ToolDenied,
)
from ._native import (
    ConditionTrace,
    Decision,
    Engine,
    Explanation,
    PolicySet,
    PolicyTrace,
    Problem,
    RuleTrace,
    Validation,
    __version__,
    arguments_digest,
    diff,
    refusal_message,
    replay,
    validate,
)
from ._testing import FileReport, TestFailure, TestReport, run_tests
from ._types import Action, Reason
from .approvals import SqliteApprovalStore
from .decision_log import JsonlDecisionLog, decision_record
from .guard import Identity, acting_for, check, current_identity, enforce, guard
from .postgres import PostgresApprovalStore, StoreError
from .sources import FileSource, SourceError, UrlSource

__all__ = [
    "Action",
    "ApprovalError",
    "ApprovalRequired",
    "ArgumentError",
    "ConditionTrace",
    "ConflictError",
    "Decision",
    "DocumentError",
    "Engine",
    "Explanation",
    "FileSource",
    "FileReport",
    "Identity",
    "JsonlDecisionLog",
    "NotFoundError",
    "PolicyError",
    "PolicyFileError",
    "PolicySet",
    "PolicyTrace",
    "PostgresApprovalStore",
    "Problem",
    "Reason",
    "RequestError",
    "RuleTrace",
    "SourceError",
    "SqliteApprovalStore",
    "StepUpRequired",
    "StoreError",
    "TestFailure",
    "TestReport",
    "ToolBlocked",
    "ToolDenied",
    "UrlSource",
    "Validation",
    "__version__",
    "acting_for",
    "arguments_digest",
    "check",
    "current_identity",
    "decision_record",
    "diff",
    "enforce",
    "guard",
    "refusal_message",
    "replay",
    "run_tests",
    "validate",
]
