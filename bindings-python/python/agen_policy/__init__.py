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
    ApprovalRequired,
    ArgumentError,
    DocumentError,
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
    validate,
)
from ._types import Action, Reason
from .guard import Identity, acting_for, check, current_identity, enforce, guard

__all__ = [
    "Action",
    "ApprovalRequired",
    "ArgumentError",
    "ConditionTrace",
    "Decision",
    "DocumentError",
    "Engine",
    "Explanation",
    "Identity",
    "PolicyError",
    "PolicyFileError",
    "PolicySet",
    "PolicyTrace",
    "Problem",
    "Reason",
    "RequestError",
    "RuleTrace",
    "StepUpRequired",
    "ToolBlocked",
    "ToolDenied",
    "Validation",
    "__version__",
    "acting_for",
    "check",
    "current_identity",
    "enforce",
    "guard",
    "validate",
]
