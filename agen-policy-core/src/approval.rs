//! Approval requests (SPEC §8): a pure, serializable state machine. The engine computes each
//! transition; the host stores the state, shows it to approvers and sends their answers back.
//!
//! Every operation takes the state and the instant `now` and returns a new state or an
//! [`ApprovalError`]; on an error nothing changes. Arguments are checked first
//! (`invalid_request`), then the state (`invalid_state`), then the operation's own rules, in
//! the order the specification gives.
//!
//! ```
//! use agen_policy_core::{Action, PolicySet, Request};
//!
//! let set = PolicySet::from_json(r#"{
//!   "connectors": [{ "id": "github", "tools": [{ "name": "delete_repository" }] }],
//!   "users": [{ "id": "alice" }, { "id": "bob" }],
//!   "approval_flows": [{ "id": "review", "steps": [{ "users": ["bob"] }] }],
//!   "policies": [{ "id": "p", "name": "Deletes need a review", "connector": "github",
//!                  "action": "request_approval", "approval_flow": "review",
//!                  "all_users": true, "tools": ["delete_repository"] }]
//! }"#)?;
//! let request = Request::new("alice", "github", "delete_repository")?;
//! let opened = set.open_approval(&request, "review", "apr-1", 1_000)?;
//! let approved = set.approve(&opened, "bob", 2_000, &[])?;
//! let grant = set.grant(&approved)?;
//!
//! let again = Request::builder("alice", "github", "delete_repository")
//!     .now(3_000)
//!     .grant(grant)
//!     .build()?;
//! assert_eq!(set.evaluate(&again).action(), Action::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision::Action;
use crate::evidence::{parse_timestamp, Grant, Millis};
use crate::model::{ApprovalFlow, ApprovalStep};
use crate::ops::time::MAX_EVIDENCE_MILLIS;
use crate::request::Request;
use crate::set::PolicySet;

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for approvers.
    Pending,
    /// Every step approved: a grant can be issued.
    Approved,
    /// An approver rejected it.
    Rejected,
    /// The host cancelled it.
    Cancelled,
    /// Its flow's timeout passed while it was pending.
    Expired,
}

impl ApprovalStatus {
    /// The status as written in the state.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Cancelled => "cancelled",
            ApprovalStatus::Expired => "expired",
        }
    }

    fn parse(name: &str) -> Option<ApprovalStatus> {
        [
            ApprovalStatus::Pending,
            ApprovalStatus::Approved,
            ApprovalStatus::Rejected,
            ApprovalStatus::Cancelled,
            ApprovalStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// The state of one approval request (SPEC §8.2), as the host stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// The host's id of the request.
    pub id: String,
    /// The approval flow it runs.
    pub flow: String,
    /// The requesting user.
    pub user: String,
    /// The connector of the call.
    pub connector: String,
    /// The tool of the call.
    pub tool: String,
    /// The arguments digest the grant will be bound to, or `None`.
    pub arguments: Option<String>,
    /// When it was opened, in Unix milliseconds.
    pub opened: Millis,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// The index of the step being decided; the number of steps once approved.
    pub step: usize,
    /// Per step reached so far, the approvers in the order they approved.
    pub approvals: Vec<Vec<String>>,
    /// Who rejected it, when rejected.
    pub rejected_by: Option<String>,
    /// When it left `pending`, in Unix milliseconds.
    pub closed: Option<Millis>,
}

const STATE_FIELDS: [&str; 12] = [
    "id",
    "flow",
    "user",
    "connector",
    "tool",
    "arguments",
    "opened",
    "status",
    "step",
    "approvals",
    "rejected_by",
    "closed",
];

impl ApprovalState {
    /// Reads a stored state strictly: exactly the fields of SPEC §8.2 with their types. Its
    /// consistency with the flow is checked by each operation.
    pub fn from_value(value: &Value) -> Result<ApprovalState, ApprovalError> {
        let Value::Object(m) = value else {
            return Err(ApprovalError::state("a state must be an object"));
        };
        if let Some(k) = m.keys().find(|k| !STATE_FIELDS.contains(&k.as_str())) {
            return Err(ApprovalError::state(format!("unknown field `{k}`")));
        }
        let text = |name: &str| match m.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(ApprovalError::state(format!(
                "`{name}` must be a non-empty string"
            ))),
        };
        let optional_text = |name: &str| match m.get(name) {
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(ApprovalError::state(format!(
                "`{name}` must be a string or null"
            ))),
        };
        let instant = |v: Option<&Value>, name: &str| {
            v.and_then(Value::as_i64)
                .filter(|t| t.unsigned_abs() <= MAX_EVIDENCE_MILLIS)
                .ok_or_else(|| {
                    ApprovalError::state(format!("`{name}` must be integer Unix milliseconds"))
                })
        };
        let status = m
            .get("status")
            .and_then(Value::as_str)
            .and_then(ApprovalStatus::parse)
            .ok_or_else(|| {
                ApprovalError::state(
                    "`status` must be pending, approved, rejected, cancelled or expired",
                )
            })?;
        let step = m
            .get("step")
            .and_then(Value::as_u64)
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| ApprovalError::state("`step` must be a non-negative integer"))?;
        let approvals = match m.get("approvals") {
            Some(Value::Array(steps)) => steps
                .iter()
                .map(|s| match s {
                    Value::Array(people) => people
                        .iter()
                        .map(|p| match p {
                            Value::String(p) if !p.is_empty() => Ok(p.clone()),
                            _ => Err(ApprovalError::state(
                                "an approver in `approvals` must be a non-empty string",
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>(),
                    _ => Err(ApprovalError::state(
                        "`approvals` must be a list of lists of approvers",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(ApprovalError::state(
                    "`approvals` must be a list of lists of approvers",
                ))
            }
        };
        let closed = match m.get("closed") {
            Some(Value::Null) => None,
            v => Some(instant(v, "closed")?),
        };
        Ok(ApprovalState {
            id: text("id")?,
            flow: text("flow")?,
            user: text("user")?,
            connector: text("connector")?,
            tool: text("tool")?,
            arguments: optional_text("arguments")?,
            opened: instant(m.get("opened"), "opened")?,
            status,
            step,
            approvals,
            rejected_by: optional_text("rejected_by")?,
            closed,
        })
    }

    /// This state as JSON, in the shape [`ApprovalState::from_value`] reads.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Why an approval operation refused to act (SPEC §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApprovalCode {
    /// A malformed argument: an empty approver, id or flow, bad groups, a malformed `now`, or
    /// an invalid request.
    InvalidRequest,
    /// The state is not of the §8.2 shape, or does not fit its flow.
    InvalidState,
    /// `open`: the decision is not `request_approval` through this flow.
    NotRequested,
    /// `open`: the flow can never approve.
    CannotApprove,
    /// The request is no longer pending.
    NotPending,
    /// The flow's timeout has passed: the host calls `tick`.
    Expired,
    /// The requester may not act on their own request in this flow.
    SelfApproval,
    /// The person is not an approver of the current step.
    NotAnApprover,
    /// The person has approved this request already.
    AlreadyVoted,
    /// `grant`: the request is not approved.
    NotApproved,
}

impl ApprovalCode {
    /// The code's stable name, the same in every language.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApprovalCode::InvalidRequest => "invalid_request",
            ApprovalCode::InvalidState => "invalid_state",
            ApprovalCode::NotRequested => "not_requested",
            ApprovalCode::CannotApprove => "cannot_approve",
            ApprovalCode::NotPending => "not_pending",
            ApprovalCode::Expired => "expired",
            ApprovalCode::SelfApproval => "self_approval",
            ApprovalCode::NotAnApprover => "not_an_approver",
            ApprovalCode::AlreadyVoted => "already_voted",
            ApprovalCode::NotApproved => "not_approved",
        }
    }
}

impl fmt::Display for ApprovalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An approval operation that did not happen; the state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{code}: {message}")]
pub struct ApprovalError {
    code: ApprovalCode,
    message: String,
}

impl ApprovalError {
    /// An error with `code`.
    pub fn new(code: ApprovalCode, message: impl Into<String>) -> Self {
        ApprovalError {
            code,
            message: message.into(),
        }
    }

    fn state(message: impl Into<String>) -> Self {
        ApprovalError::new(ApprovalCode::InvalidState, message)
    }

    fn argument(message: impl Into<String>) -> Self {
        ApprovalError::new(ApprovalCode::InvalidRequest, message)
    }

    /// The code.
    pub fn code(&self) -> ApprovalCode {
        self.code
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Reads the `now` of an approval operation: a §7.2 timestamp, else `invalid_request`.
pub fn approval_instant(value: &Value) -> Result<Millis, ApprovalError> {
    parse_timestamp(value).ok_or_else(|| {
        ApprovalError::argument(
            "`now` must be an RFC 3339 date-time with an offset or integer Unix milliseconds",
        )
    })
}

fn check_now(now: Millis) -> Result<(), ApprovalError> {
    if now.unsigned_abs() > MAX_EVIDENCE_MILLIS {
        return Err(ApprovalError::argument("`now` is out of range"));
    }
    Ok(())
}

fn check_person(person: &str, what: &str) -> Result<(), ApprovalError> {
    if person.is_empty() {
        return Err(ApprovalError::argument(format!(
            "{what} must be a non-empty string"
        )));
    }
    Ok(())
}

fn check_groups(groups: &[String]) -> Result<(), ApprovalError> {
    if groups.iter().any(String::is_empty) {
        return Err(ApprovalError::argument(
            "`groups` must be a list of non-empty group ids",
        ));
    }
    Ok(())
}

fn ms(seconds: u32) -> Millis {
    Millis::from(seconds) * 1000
}

impl PolicySet {
    fn flow(&self, id: &str) -> Option<&ApprovalFlow> {
        self.document().approval_flows.iter().find(|f| &*f.id == id)
    }

    /// The state's flow, once the state is checked against it: `step` and `approvals`
    /// consistent with each other and with the flow's steps, `closed` set exactly when not
    /// pending, `rejected_by` exactly when rejected.
    fn checked_flow(&self, state: &ApprovalState) -> Result<&ApprovalFlow, ApprovalError> {
        let flow = self.flow(&state.flow).ok_or_else(|| {
            ApprovalError::state(format!(
                "approval flow `{}` is not in the document",
                state.flow
            ))
        })?;
        for (name, value) in [
            ("id", &state.id),
            ("user", &state.user),
            ("connector", &state.connector),
            ("tool", &state.tool),
        ] {
            if value.is_empty() {
                return Err(ApprovalError::state(format!(
                    "`{name}` must be a non-empty string"
                )));
            }
        }
        let steps = flow.steps.len();
        let shape_ok = match state.status {
            ApprovalStatus::Approved => state.step == steps && state.approvals.len() == steps,
            _ => state.step < steps && state.approvals.len() == state.step + 1,
        };
        if !shape_ok {
            return Err(ApprovalError::state(format!(
                "`step` {} and {} lists of `approvals` do not fit a {} request of a flow of \
                 {steps} steps",
                state.step,
                state.approvals.len(),
                state.status.as_str()
            )));
        }
        if state
            .approvals
            .iter()
            .flatten()
            .any(|approver| approver.is_empty())
        {
            return Err(ApprovalError::state(
                "an approver must be a non-empty string",
            ));
        }
        let pending = state.status == ApprovalStatus::Pending;
        if state.closed.is_some() == pending {
            return Err(ApprovalError::state(
                "`closed` is set exactly when the request is not pending",
            ));
        }
        let rejected = state.status == ApprovalStatus::Rejected;
        if state.rejected_by.is_some() != rejected
            || state.rejected_by.as_ref().is_some_and(String::is_empty)
        {
            return Err(ApprovalError::state(
                "`rejected_by` is set exactly when the request is rejected",
            ));
        }
        for t in [Some(state.opened), state.closed].into_iter().flatten() {
            if t.unsigned_abs() > MAX_EVIDENCE_MILLIS {
                return Err(ApprovalError::state("an instant is out of range"));
            }
        }
        Ok(flow)
    }

    /// Opens an approval request for `request` through `flow` at `now` (SPEC §8.3): the
    /// engine evaluates the request itself, which must decide `request_approval` naming
    /// `flow`.
    pub fn open_approval(
        &self,
        request: &Request,
        flow: &str,
        id: &str,
        now: Millis,
    ) -> Result<ApprovalState, ApprovalError> {
        check_person(flow, "`flow`")?;
        check_person(id, "`id`")?;
        check_now(now)?;
        let decision = self.evaluate(request);
        if decision.action() != Action::RequestApproval
            || !decision.approval_flows().any(|f| f == flow)
        {
            return Err(ApprovalError::new(
                ApprovalCode::NotRequested,
                format!("the decision is {decision}, not request_approval through flow `{flow}`"),
            ));
        }
        let Some(f) = self.flow(flow) else {
            // The decision named it, so the document has it: anything else fails closed.
            return Err(ApprovalError::new(
                ApprovalCode::NotRequested,
                format!("approval flow `{flow}` is not in the document"),
            ));
        };
        if !f.can_approve() {
            return Err(ApprovalError::new(
                ApprovalCode::CannotApprove,
                format!("approval flow `{flow}` can never approve: a step names nobody"),
            ));
        }
        Ok(ApprovalState {
            id: id.to_owned(),
            flow: flow.to_owned(),
            user: request.user().to_owned(),
            connector: request.connector().to_owned(),
            tool: request.tool().to_owned(),
            arguments: if f.bind_arguments {
                request.arguments().map(str::to_owned)
            } else {
                None
            },
            opened: now,
            status: ApprovalStatus::Pending,
            step: 0,
            approvals: vec![Vec::new()],
            rejected_by: None,
            closed: None,
        })
    }

    /// Checks that `person` (with the host's group claims `groups`) may act on the pending
    /// request now: the checks `approve` and `reject` share, in their order (`not_pending`,
    /// `expired`, `self_approval`, `not_an_approver`). A pending-requests view calls it to
    /// show only what a person may act on.
    pub fn check_approver(
        &self,
        state: &ApprovalState,
        person: &str,
        now: Millis,
        groups: &[String],
    ) -> Result<(), ApprovalError> {
        check_person(person, "the approver")?;
        check_now(now)?;
        check_groups(groups)?;
        let flow = self.checked_flow(state)?;
        self.eligible(state, flow, person, now, groups).map(|_| ())
    }

    fn eligible<'f>(
        &self,
        state: &ApprovalState,
        flow: &'f ApprovalFlow,
        person: &str,
        now: Millis,
        groups: &[String],
    ) -> Result<&'f ApprovalStep, ApprovalError> {
        if state.status != ApprovalStatus::Pending {
            return Err(ApprovalError::new(
                ApprovalCode::NotPending,
                format!("the request is {}", state.status.as_str()),
            ));
        }
        if let Some(timeout) = flow.timeout {
            if now >= state.opened.saturating_add(ms(timeout)) {
                return Err(ApprovalError::new(
                    ApprovalCode::Expired,
                    format!("the request timed out after {timeout} s"),
                ));
            }
        }
        if person == state.user && !flow.allow_self_approval {
            return Err(ApprovalError::new(
                ApprovalCode::SelfApproval,
                format!(
                    "`{person}` requested this; flow `{}` does not allow self-approval",
                    flow.id
                ),
            ));
        }
        let step = flow
            .steps
            .get(state.step)
            .ok_or_else(|| ApprovalError::state("`step` does not fit the flow's steps"))?;
        let directory_groups = self.directory_groups(person);
        let in_step = step.users.iter().any(|u| &**u == person)
            || step.groups.iter().any(|g| {
                groups.iter().any(|c| c == &**g) || directory_groups.iter().any(|d| d == g)
            });
        if !in_step {
            return Err(ApprovalError::new(
                ApprovalCode::NotAnApprover,
                format!(
                    "`{person}` is not an approver of step {} of flow `{}`",
                    state.step, flow.id
                ),
            ));
        }
        Ok(step)
    }

    fn directory_groups(&self, person: &str) -> &[Box<str>] {
        self.document()
            .users
            .iter()
            .find(|u| &*u.id == person)
            .map_or(&[], |u| &u.groups)
    }

    /// Records `approver`'s approval (SPEC §8.3): errors `not_pending`, `expired`,
    /// `self_approval`, `not_an_approver`, `already_voted`, in that order.
    pub fn approve(
        &self,
        state: &ApprovalState,
        approver: &str,
        now: Millis,
        groups: &[String],
    ) -> Result<ApprovalState, ApprovalError> {
        check_person(approver, "the approver")?;
        check_now(now)?;
        check_groups(groups)?;
        let flow = self.checked_flow(state)?;
        let step = self.eligible(state, flow, approver, now, groups)?;
        if state.approvals.iter().flatten().any(|a| a == approver) {
            return Err(ApprovalError::new(
                ApprovalCode::AlreadyVoted,
                format!("`{approver}` has approved this request already"),
            ));
        }
        let mut next = state.clone();
        let Some(current) = next.approvals.get_mut(state.step) else {
            return Err(ApprovalError::state("`approvals` does not fit `step`"));
        };
        current.push(approver.to_owned());
        let reached = u64::try_from(current.len()).unwrap_or(u64::MAX) >= step.min_approvals;
        if reached {
            next.step += 1;
            if next.step == flow.steps.len() {
                next.status = ApprovalStatus::Approved;
                next.closed = Some(now);
            } else {
                next.approvals.push(Vec::new());
            }
        }
        Ok(next)
    }

    /// Records `approver`'s rejection (SPEC §8.3): the checks of [`PolicySet::approve`] but
    /// `already_voted`; the request is then `rejected`.
    pub fn reject(
        &self,
        state: &ApprovalState,
        approver: &str,
        now: Millis,
        groups: &[String],
    ) -> Result<ApprovalState, ApprovalError> {
        check_person(approver, "the approver")?;
        check_now(now)?;
        check_groups(groups)?;
        let flow = self.checked_flow(state)?;
        self.eligible(state, flow, approver, now, groups)?;
        let mut next = state.clone();
        next.status = ApprovalStatus::Rejected;
        next.rejected_by = Some(approver.to_owned());
        next.closed = Some(now);
        Ok(next)
    }

    /// Cancels a pending request (SPEC §8.3); the timeout is not checked.
    pub fn cancel(
        &self,
        state: &ApprovalState,
        now: Millis,
    ) -> Result<ApprovalState, ApprovalError> {
        check_now(now)?;
        self.checked_flow(state)?;
        if state.status != ApprovalStatus::Pending {
            return Err(ApprovalError::new(
                ApprovalCode::NotPending,
                format!("the request is {}", state.status.as_str()),
            ));
        }
        let mut next = state.clone();
        next.status = ApprovalStatus::Cancelled;
        next.closed = Some(now);
        Ok(next)
    }

    /// Expires a pending request whose flow's timeout has passed, with `closed` at
    /// `opened + timeout`; returns any other state unchanged (SPEC §8.3).
    pub fn tick(&self, state: &ApprovalState, now: Millis) -> Result<ApprovalState, ApprovalError> {
        check_now(now)?;
        let flow = self.checked_flow(state)?;
        let mut next = state.clone();
        if let (ApprovalStatus::Pending, Some(timeout)) = (state.status, flow.timeout) {
            let deadline = state.opened.saturating_add(ms(timeout));
            if now >= deadline {
                next.status = ApprovalStatus::Expired;
                next.closed = Some(deadline);
            }
        }
        Ok(next)
    }

    /// The grant of an approved request (SPEC §8.3), valid until `closed + grant_ttl`: what a
    /// request's evidence carries to be allowed.
    pub fn grant(&self, state: &ApprovalState) -> Result<Grant, ApprovalError> {
        let flow = self.checked_flow(state)?;
        if state.status != ApprovalStatus::Approved {
            return Err(ApprovalError::new(
                ApprovalCode::NotApproved,
                format!("the request is {}", state.status.as_str()),
            ));
        }
        let closed = state
            .closed
            .ok_or_else(|| ApprovalError::state("an approved request has `closed`"))?;
        Ok(Grant {
            id: state.id.clone(),
            flow: state.flow.clone(),
            user: state.user.clone(),
            connector: state.connector.clone(),
            tool: state.tool.clone(),
            arguments: state.arguments.clone(),
            expires: closed.saturating_add(ms(flow.grant_ttl)),
            approvers: state.approvals.iter().flatten().cloned().collect(),
        })
    }

    /// The directory users who may approve the current step of a pending request now: named
    /// by the step or members of one of its groups, not the requester unless the flow allows
    /// self-approval, and not those who already approved. People eligible only through the
    /// host's group claims are not in the directory and so not listed.
    pub fn eligible_approvers(&self, state: &ApprovalState) -> Result<Vec<&str>, ApprovalError> {
        let flow = self.checked_flow(state)?;
        if state.status != ApprovalStatus::Pending {
            return Ok(Vec::new());
        }
        let Some(step) = flow.steps.get(state.step) else {
            return Ok(Vec::new());
        };
        let voted = |p: &str| state.approvals.iter().flatten().any(|a| a == p);
        let allowed = |p: &str| p != state.user || flow.allow_self_approval;
        let mut people: Vec<&str> = step
            .users
            .iter()
            .map(|u| &**u)
            .chain(
                self.document()
                    .users
                    .iter()
                    .filter(|u| u.groups.iter().any(|g| step.groups.contains(g)))
                    .map(|u| &*u.id),
            )
            .filter(|p| allowed(p) && !voted(p))
            .collect();
        people.sort_unstable();
        people.dedup();
        Ok(people)
    }
}

/// One approval operation with its arguments as JSON values, as the test-file runner and the
/// bindings receive them; each argument is checked (`invalid_request`) before the state.
#[derive(Debug, Clone, Copy)]
pub enum ApprovalOp<'a> {
    /// [`PolicySet::approve`]: `by`, `now`, optional `groups`.
    Approve(&'a Value, &'a Value, Option<&'a Value>),
    /// [`PolicySet::reject`]: `by`, `now`, optional `groups`.
    Reject(&'a Value, &'a Value, Option<&'a Value>),
    /// [`PolicySet::check_approver`]: `by`, `now`, optional `groups`; the state comes back
    /// unchanged when the person may act.
    Check(&'a Value, &'a Value, Option<&'a Value>),
    /// [`PolicySet::cancel`]: `now`.
    Cancel(&'a Value),
    /// [`PolicySet::tick`]: `now`.
    Tick(&'a Value),
}

impl PolicySet {
    /// Applies an operation to a state given as JSON, checking arguments first, then the state.
    pub fn apply_approval(
        &self,
        state: &Value,
        op: ApprovalOp<'_>,
    ) -> Result<ApprovalState, ApprovalError> {
        let person = |v: &Value| match v {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(ApprovalError::argument(
                "the approver must be a non-empty string",
            )),
        };
        let groups = |v: Option<&Value>| -> Result<Vec<String>, ApprovalError> {
            match v {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|g| match g {
                        Value::String(s) if !s.is_empty() => Ok(s.clone()),
                        _ => Err(ApprovalError::argument(
                            "`groups` must be a list of non-empty group ids",
                        )),
                    })
                    .collect(),
                Some(_) => Err(ApprovalError::argument(
                    "`groups` must be a list of non-empty group ids",
                )),
            }
        };
        match op {
            ApprovalOp::Approve(by, now, g)
            | ApprovalOp::Reject(by, now, g)
            | ApprovalOp::Check(by, now, g) => {
                let by = person(by)?;
                let now = approval_instant(now)?;
                let g = groups(g)?;
                let state = ApprovalState::from_value(state)?;
                match op {
                    ApprovalOp::Approve(..) => self.approve(&state, &by, now, &g),
                    ApprovalOp::Reject(..) => self.reject(&state, &by, now, &g),
                    _ => self.check_approver(&state, &by, now, &g).map(|()| state),
                }
            }
            ApprovalOp::Cancel(now) => {
                let now = approval_instant(now)?;
                self.cancel(&ApprovalState::from_value(state)?, now)
            }
            ApprovalOp::Tick(now) => {
                let now = approval_instant(now)?;
                self.tick(&ApprovalState::from_value(state)?, now)
            }
        }
    }

    /// [`PolicySet::open_approval`] with its arguments as JSON values.
    pub fn open_approval_value(
        &self,
        request: &Value,
        flow: &Value,
        id: &Value,
        now: &Value,
    ) -> Result<ApprovalState, ApprovalError> {
        let text = |v: &Value, what: &str| match v {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(ApprovalError::argument(format!(
                "{what} must be a non-empty string"
            ))),
        };
        let flow = text(flow, "`flow`")?;
        let id = text(id, "`id`")?;
        let now = approval_instant(now)?;
        let request = Request::from_value(request)
            .map_err(|e| ApprovalError::argument(format!("invalid request: {e}")))?;
        self.open_approval(&request, &flow, &id, now)
    }

    /// [`PolicySet::grant`] of a state given as JSON.
    pub fn grant_value(&self, state: &Value) -> Result<Grant, ApprovalError> {
        self.grant(&ApprovalState::from_value(state)?)
    }
}
