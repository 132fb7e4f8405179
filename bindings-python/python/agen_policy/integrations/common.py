"""What every framework adapter shares: one gate between a framework's tool call and the engine.

An adapter translates; the gate decides. For each tool call the adapter gives the gate the
call (:class:`ToolCall`: the framework's tool name, its tool-call id, its arguments) and the
identity the host vouches for (:class:`~agen_policy.Identity`: from an access token, the run
context or :func:`~agen_policy.acting_for`, never from the model), and gets an
:class:`Outcome` back. The gate:

* decides **twice**: :meth:`PolicyGate.pause` at the framework's pause point (memoized per
  tool-call id while the host's evidence is unchanged, so a step a framework replays sees the
  same answer) and :meth:`PolicyGate.final` just before the tool runs (never memoized);
* **opens approval requests** (SPEC §8, through the host's approval store) once per call and
  flow when the answer is ``request_approval``, and once one is approved adds its grant to the
  evidence of that call's next decisions: the core then judges the grant, as any other;
* binds grants to the call's arguments (their ``arguments_digest`` is the request's
  ``arguments``), so an approval of one call does not let another run;
* reports every decision to ``on_decision`` (a :class:`~agen_policy.JsonlDecisionLog`, or any
  callable taking a record);
* **fails closed**: any error while deciding (an invalid request, an identity that cannot be
  found, a store or a log callback that raises) is an outcome that blocks the call.

What the adapter does with each outcome is one table, :data:`OUTCOMES`, read from the core's
``guard::Blocked`` codes: the adapters do not decide anything themselves.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from .._errors import ApprovalError, PolicyError
from .._native import Decision, Engine, PolicySet, arguments_digest, blocked_outcome
from .._native import refusal_message as _refusal_message
from ..decision_log import DecisionCallback, decision_record, new_decision_id, now_millis
from ..guard import Identity, PolicySource, _evidence, _policy_set, current_identity

__all__ = [
    "OUTCOMES",
    "ApprovalStore",
    "Kind",
    "Outcome",
    "PolicyGate",
    "ToolCall",
    "identity_from_claims",
]

logger = logging.getLogger("agen_policy.integrations")


class Kind(Enum):
    """What an adapter does with a call."""

    RUN = "run"
    """Run the tool (after the final decision allows it too)."""
    REFUSE = "refuse"
    """Do not run it; give the model the refusal text; the run goes on."""
    STEP_UP = "step_up"
    """Do not run it; pause the framework's way until the user re-authenticated."""
    APPROVAL = "approval"
    """Do not run it; an approval request is open; pause until it is approved."""


OUTCOMES: Mapping[str | None, Kind] = {
    None: Kind.RUN,
    "tool_denied": Kind.REFUSE,
    "step_up_required": Kind.STEP_UP,
    "approval_required": Kind.APPROVAL,
}
"""The one table of the four actions, keyed by the code of the core's ``guard::Blocked``
outcome (``None`` for ``allow``). An action the core gives no known code is refused."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call as a framework presents it: the tool's ``name`` in the framework, the
    framework's ``call_id`` (when it has one) and the call's ``arguments``."""

    name: str
    call_id: str | None = None
    arguments: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    """The gate's answer for one call: what to do (``kind``), and what the host and the model
    are told."""

    kind: Kind
    connector: str
    tool: str
    message: str | None
    """The core's refusal text for the model (``None`` when the call runs)."""
    decision: Decision | None = None
    """The decision; ``None`` when deciding failed (``error`` says why)."""
    approvals: tuple[dict[str, Any], ...] = ()
    """The approval requests (SPEC §8.2 states) opened for this call."""
    error: str | None = None
    """Why the call was blocked without a decision (fail closed)."""
    decision_id: str | None = None

    @property
    def runs(self) -> bool:
        """Whether the tool may run."""
        return self.kind is Kind.RUN

    @property
    def step_up(self) -> tuple[dict[str, Any], ...]:
        """The step-up requirements, for ``step_up``."""
        return tuple(self.decision.step_up) if self.decision is not None else ()

    def payload(self) -> dict[str, Any]:
        """A JSON description of the outcome for a pause or a refusal the host shows:
        ``action``, ``connector``, ``tool``, ``message`` and, when there are any,
        ``approval_requests`` (their ids), ``approval_flows`` and ``step_up``."""
        out: dict[str, Any] = {
            "action": str(self.decision.action) if self.decision is not None else "deny",
            "connector": self.connector,
            "tool": self.tool,
            "message": self.message,
        }
        if self.approvals:
            out["approval_requests"] = [a["id"] for a in self.approvals]
        if self.decision is not None and self.decision.approval_flows:
            out["approval_flows"] = list(self.decision.approval_flows)
        if self.step_up:
            out["step_up"] = list(self.step_up)
        if self.error is not None:
            out["error"] = self.error
        return out


class ApprovalStore(Protocol):
    """What the gate needs of an approval store (:class:`~agen_policy.SqliteApprovalStore`
    has it): open a request, read one back."""

    def open(
        self,
        policies: PolicySet | Engine,
        request: dict[str, Any],
        flow: str,
        id: str,
        now: Any,
    ) -> dict[str, Any]: ...

    def get(self, id: str) -> dict[str, Any] | None: ...


def identity_from_claims(
    subject: str | None,
    claims: Mapping[str, Any] | None,
    *,
    groups_claim: str = "groups",
) -> Identity | None:
    """An identity from a verified access token: the user is its subject, ``groups`` its
    groups claim, and ``auth`` its ``auth_time`` (seconds, as OIDC gives it) with ``acr`` and
    ``amr`` when present. ``None`` without a subject."""
    if not subject:
        return None
    claims = claims or {}
    raw_groups = claims.get(groups_claim) or ()
    groups = (
        tuple(g for g in raw_groups if isinstance(g, str))
        if isinstance(raw_groups, (list, tuple))
        else ()
    )
    auth: dict[str, Any] | None = None
    auth_time = claims.get("auth_time")
    if isinstance(auth_time, int) and not isinstance(auth_time, bool):
        auth = {"time": auth_time * 1000}
        if isinstance(claims.get("acr"), str):
            auth["acr"] = claims["acr"]
        if isinstance(claims.get("amr"), list):
            auth["amr"] = list(claims["amr"])
    return Identity(subject, groups, {}, None, auth, ())


IdentityResolver = Callable[[Any], Identity | None]
"""Finds the identity of a call from what the framework gives the host (a run context, deps,
an access token...)."""


@dataclass
class _Memo:
    fingerprint: str
    outcome: Outcome


@dataclass
class _Opened:
    """The approval request ids opened for one call, by flow."""

    ids: dict[str, str] = field(default_factory=dict)


class PolicyGate:
    """Decides a framework's tool calls with the engine; every adapter holds one.

    ``policies`` is a :class:`PolicySet`, an :class:`Engine` or a callable returning the set.
    A framework's tool name maps to a policy ``(connector, tool)``: with ``connector`` alone,
    the tool keeps its framework name; ``tools`` renames some (``{"gh_delete":
    "delete_repository"}``); ``route`` replaces both (a callable ``name -> (connector,
    tool)``). ``approvals`` is the host's approval store (e.g. a
    :class:`~agen_policy.SqliteApprovalStore`); without one, a call needing approval is paused
    without a request, and the host must bring a grant its own way. ``bind_arguments`` (on by
    default) passes the call's ``arguments_digest`` as the request's ``arguments``.
    ``on_decision`` receives each decision's log record (with the call's argument values:
    :class:`~agen_policy.JsonlDecisionLog` leaves them out unless asked).
    ``approval_id`` makes the id of a new approval request (default: ``apr-`` and a UUID).
    """

    def __init__(
        self,
        policies: PolicySource,
        *,
        connector: str | None = None,
        tools: Mapping[str, str] | None = None,
        route: Callable[[str], tuple[str, str]] | None = None,
        approvals: ApprovalStore | None = None,
        bind_arguments: bool = True,
        on_decision: DecisionCallback | None = None,
        approval_id: Callable[[ToolCall], str] | None = None,
    ) -> None:
        if connector is None and route is None:
            raise TypeError("PolicyGate needs connector= or route=")
        _policy_set(policies)  # raises ArgumentError for anything else
        self.policies = policies
        self.connector = connector
        self.tools = dict(tools or {})
        self.route = route
        self.approvals = approvals
        self.bind_arguments = bind_arguments
        self.on_decision = on_decision
        self.approval_id = approval_id or (lambda call: f"apr-{uuid.uuid4()}")
        self._lock = threading.Lock()
        self._memo: dict[str, _Memo] = {}
        self._opened: dict[str, _Opened] = {}

    # -- the two decisions ---------------------------------------------------------------

    def pause(self, call: ToolCall, identity: Identity | None) -> Outcome:
        """The decision at the framework's pause point. Memoized per call (its ``call_id``,
        else its user, tool and arguments) while the evidence is unchanged; opens the approval
        requests a ``request_approval`` asks for, once per call and flow."""
        return self._decide(call, identity, at_pause=True)

    def final(self, call: ToolCall, identity: Identity | None) -> Outcome:
        """The decision just before the tool runs, with the evidence the host holds now (and
        the grants of this call's approved requests). Never memoized; opens nothing."""
        return self._decide(call, identity, at_pause=False)

    def remembered(self, call_id: str) -> Outcome | None:
        """The last pause-point outcome of the call with this tool-call id, if any."""
        with self._lock:
            memo = self._memo.get("id:" + call_id)
        return memo.outcome if memo is not None else None

    def forget(self, call: ToolCall, identity: Identity | None = None) -> None:
        """Drops what the gate remembers of a call (its memo and its approval requests)."""
        key = self._key(call, identity)
        with self._lock:
            self._memo.pop(key, None)
            self._opened.pop(key, None)

    # -- the work ------------------------------------------------------------------------

    def resolve(self, name: str) -> tuple[str, str]:
        """The policy ``(connector, tool)`` of a framework tool name."""
        if self.route is not None:
            return self.route(name)
        assert self.connector is not None
        return self.connector, self.tools.get(name, name)

    def _digest(self, call: ToolCall) -> str | None:
        if not self.bind_arguments:
            return None
        return arguments_digest(dict(call.arguments or {}))

    def _key(self, call: ToolCall, identity: Identity | None) -> str:
        if call.call_id:
            return "id:" + call.call_id
        user = identity.user if identity is not None else ""
        try:
            digest = arguments_digest(dict(call.arguments or {}))
        except PolicyError:
            digest = ""
        return json.dumps(["call", user, call.name, digest])

    def _own_grants(self, key: str, policies: PolicySet) -> list[dict[str, Any]]:
        """The grants of this call's approval requests that the core grants (approved ones)."""
        with self._lock:
            opened = dict(self._opened[key].ids) if key in self._opened else {}
        if not opened or self.approvals is None:
            return []
        grants = []
        for approval in opened.values():
            state = self.approvals.get(approval)
            if state is None:
                continue
            try:
                grants.append(policies.grant(state))
            except ApprovalError:
                continue  # not approved (yet): the core says so
        return grants

    def _decide(self, call: ToolCall, identity: Identity | None, *, at_pause: bool) -> Outcome:
        try:
            connector, tool = self.resolve(call.name)
        except Exception as e:  # noqa: BLE001 (fail closed: any error blocks the call)
            return self._failed(call.name, "", f"cannot map the tool: {e}")
        try:
            return self._evaluate(call, identity, connector, tool, at_pause=at_pause)
        except Exception as e:  # noqa: BLE001 (fail closed)
            logger.warning("blocked %s/%s: %s", connector, tool, e)
            return self._failed(connector, tool, f"{type(e).__name__}: {e}")

    def failed_message(self, name: str, error: BaseException) -> str:
        """The refusal text for a call of ``name`` that could not be decided (``error``)."""
        logger.warning("blocked %s: %s", name, error)
        try:
            connector, tool = self.resolve(name)
        except Exception:  # noqa: BLE001
            connector, tool = "?", name
        return _refusal_message("deny", connector, tool) or "the call did not run"

    def _failed(self, connector: str, tool: str, why: str) -> Outcome:
        return Outcome(
            Kind.REFUSE,
            connector,
            tool,
            _refusal_message("deny", connector or "?", tool or "?"),
            error=why,
        )

    def _evaluate(
        self,
        call: ToolCall,
        identity: Identity | None,
        connector: str,
        tool: str,
        *,
        at_pause: bool,
    ) -> Outcome:
        if identity is None:
            identity = current_identity()
        if identity is None:
            raise LookupError("no identity: the host gave no user for this call")
        policies = _policy_set(self.policies)
        policy_set = policies.current if isinstance(policies, Engine) else policies
        key = self._key(call, identity)
        digest = self._digest(call)
        grants = list(identity.grants) + self._own_grants(key, policy_set)
        evidence = _evidence(identity.now, identity.auth, grants, digest)
        fingerprint = json.dumps(
            [
                policy_set.version,
                identity.user,
                list(identity.groups),
                identity.context,
                identity.auth,
                grants,
                digest,
            ],
            sort_keys=True,
            default=str,
        )
        if at_pause:
            with self._lock:
                memo = self._memo.get(key)
            if memo is not None and memo.fingerprint == fingerprint:
                return memo.outcome
        decision = policy_set.evaluate(
            identity.user,
            connector,
            tool,
            groups=list(identity.groups),
            context=identity.context,
            **evidence,
        )
        decision_id = new_decision_id()
        if self.on_decision is not None:
            self.on_decision(
                decision_record(
                    decision,
                    id=decision_id,
                    time=now_millis(),
                    user=identity.user,
                    connector=connector,
                    tool=tool,
                    groups=identity.groups,
                    tool_call_id=call.call_id,
                    arguments_digest=digest,
                    arguments=dict(call.arguments) if call.arguments is not None else None,
                )
            )
        blocked = blocked_outcome(str(decision.action))
        kind = OUTCOMES.get(blocked[0] if blocked else None, Kind.REFUSE)
        approvals: tuple[dict[str, Any], ...] = ()
        if kind is Kind.APPROVAL and at_pause and self.approvals is not None:
            request: dict[str, Any] = {"user": identity.user, "connector": connector, "tool": tool}
            if identity.groups:
                request["groups"] = list(identity.groups)
            if identity.context:
                request["context"] = dict(identity.context)
            request.update(evidence)
            approvals = self._open(key, call, request, decision, policy_set)
        outcome = Outcome(
            kind,
            connector,
            tool,
            _refusal_message(str(decision.action), connector, tool),
            decision,
            approvals,
            decision_id=decision_id,
        )
        if at_pause:
            with self._lock:
                self._memo[key] = _Memo(fingerprint, outcome)
        return outcome

    def _open(
        self,
        key: str,
        call: ToolCall,
        request: dict[str, Any],
        decision: Decision,
        policies: PolicySet,
    ) -> tuple[dict[str, Any], ...]:
        """Opens (once per call and flow) the approval requests the decision asks for; returns
        their current states."""
        assert self.approvals is not None
        now = request.get("now", now_millis())
        states = []
        for flow in decision.approval_flows:
            with self._lock:
                opened = self._opened.setdefault(key, _Opened())
                existing = opened.ids.get(flow)
            if existing is not None:
                state = self.approvals.get(existing)
                if state is not None:
                    states.append(state)
                continue
            approval = self.approval_id(call)
            state = self.approvals.open(policies, request, flow, approval, now)
            with self._lock:
                opened.ids[flow] = approval
            states.append(state)
        return tuple(states)


def resolve_identity(host_value: Any, resolver: IdentityResolver | None) -> Identity | None:
    """The identity of a call: the host's ``resolver`` applied to what the framework carries for
    the host (its run context, deps, runtime...), else that value itself when it is an
    :class:`~agen_policy.Identity`, else the current :func:`~agen_policy.acting_for` block."""
    if resolver is not None:
        return resolver(host_value)
    if isinstance(host_value, Identity):
        return host_value
    return current_identity()
