"""The names a decision is made of: its action and its reason."""

from enum import StrEnum

__all__ = ["Action", "Reason"]


class Action(StrEnum):
    """What the host does with the tool call.

    Members are strings equal to the specification's names, so ``Action.DENY == "deny"`` and
    ``json.dumps`` writes them as such. From least to most restrictive: ``ALLOW``, ``STEP_UP``,
    ``REQUEST_APPROVAL``, ``DENY``.
    """

    ALLOW = "allow"
    """Run the tool."""
    STEP_UP = "step_up"
    """The user must re-authenticate before the tool runs."""
    REQUEST_APPROVAL = "request_approval"
    """Pause until a designated approver grants permission."""
    DENY = "deny"
    """Do not run the tool."""


class Reason(StrEnum):
    """Why a decision has its action."""

    UNKNOWN_CONNECTOR = "unknown_connector"
    """The request's connector is not in the document."""
    CONNECTOR_DISABLED = "connector_disabled"
    """The connector is disabled."""
    UNKNOWN_TOOL = "unknown_tool"
    """The connector has no tool of that name."""
    TOOL_DISABLED = "tool_disabled"
    """The tool is disabled."""
    NO_POLICY = "no_policy"
    """No policy applies to this user and tool: denied by default."""
    POLICY = "policy"
    """The action is the most restrictive one served by the applicable policies."""
    INTERNAL = "internal"
    """The engine found itself in a state its construction rules out and denied rather than
    guess; no valid policy set reaches it."""


# Shown and pickled as members of the package, where they are imported from.
for _cls in (Action, Reason):
    _cls.__module__ = "agen_policy"
