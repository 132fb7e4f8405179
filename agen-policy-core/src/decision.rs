//! What evaluation answers: an [`Action`], the [`Reason`] for it and the policies behind it.

use std::fmt;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::evidence::StepUpRequirement;

/// What the host does with the tool call, from least to most restrictive.
///
/// The derived order is the restrictiveness order (`Allow < StepUp < RequestApproval < Deny`),
/// so the most restrictive of several actions is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Run the tool.
    Allow,
    /// The user must re-authenticate before the tool runs.
    StepUp,
    /// Pause until a designated approver grants permission.
    RequestApproval,
    /// Do not run the tool.
    Deny,
}

impl Action {
    /// Every action, least restrictive first.
    pub const ALL: [Action; 4] = [
        Action::Allow,
        Action::StepUp,
        Action::RequestApproval,
        Action::Deny,
    ];

    /// The action's position in [`Action::ALL`] (its restrictiveness), for bindings that exchange
    /// it as a number.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The action's name in documents and decisions: `allow`, `step_up`, `request_approval`, `deny`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::StepUp => "step_up",
            Action::RequestApproval => "request_approval",
            Action::Deny => "deny",
        }
    }

    /// Parses an action name as written in documents.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The more restrictive of two actions: the whole "most restrictive wins" rule.
    #[must_use]
    pub fn most_restrictive(self, other: Action) -> Action {
        self.max(other)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a decision has its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The request's connector is not in the document.
    UnknownConnector,
    /// The connector is disabled.
    ConnectorDisabled,
    /// The connector has no tool of that name.
    UnknownTool,
    /// The tool is disabled.
    ToolDisabled,
    /// No policy applies to this user and tool: denied by default.
    NoPolicy,
    /// The action is the most restrictive one served by the applicable policies.
    Policy,
    /// The engine found itself in a state its construction rules out, and denied rather than
    /// guess. No valid policy set reaches it.
    Internal,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 7] = [
        Reason::UnknownConnector,
        Reason::ConnectorDisabled,
        Reason::UnknownTool,
        Reason::ToolDisabled,
        Reason::NoPolicy,
        Reason::Policy,
        Reason::Internal,
    ];

    /// The reason's position in [`Reason::ALL`], for bindings that exchange it as a number.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The reason's stable name, the same in every language.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::UnknownConnector => "unknown_connector",
            Reason::ConnectorDisabled => "connector_disabled",
            Reason::UnknownTool => "unknown_tool",
            Reason::ToolDisabled => "tool_disabled",
            Reason::NoPolicy => "no_policy",
            Reason::Policy => "policy",
            Reason::Internal => "internal",
        }
    }

    /// Parses a reason name.
    pub fn parse(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to one request.
///
/// It borrows the ids of its policies and approval flows from the [`PolicySet`](crate::PolicySet)
/// that made it, so making one does not allocate for up to four determining policies and two
/// approval flows. [`Decision::to_owned_decision`] detaches it from the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision<'s> {
    action: Action,
    reason: Reason,
    policies: SmallVec<[&'s str; 4]>,
    approval_flows: SmallVec<[&'s str; 2]>,
    satisfied: SmallVec<[&'s str; 2]>,
    step_up: SmallVec<[&'s StepUpRequirement; 1]>,
    version: &'s str,
    /// The same policies and flows as indices into the set's document, for bindings that
    /// exchange decisions as numbers.
    #[serde(skip)]
    indices: Indices,
}

/// A decision's policies, flows and satisfied policies as indices into the document's lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Indices {
    policies: SmallVec<[u32; 4]>,
    approval_flows: SmallVec<[u32; 2]>,
    satisfied: SmallVec<[u32; 2]>,
}

impl<'s> Decision<'s> {
    pub(crate) fn without_policy(reason: Reason, version: &'s str) -> Self {
        Decision {
            action: Action::Deny,
            reason,
            policies: SmallVec::new(),
            approval_flows: SmallVec::new(),
            satisfied: SmallVec::new(),
            step_up: SmallVec::new(),
            version,
            indices: Indices::default(),
        }
    }

    pub(crate) fn push_satisfied(&mut self, id: &'s str, index: u32) {
        self.satisfied.push(id);
        self.indices.satisfied.push(index);
    }

    pub(crate) fn push_step_up(&mut self, requirement: &'s StepUpRequirement) {
        self.step_up.push(requirement);
    }

    /// Makes this a `deny` that names no policy: an internal inconsistency fails closed.
    pub(crate) fn fail_closed(&mut self) {
        self.action = Action::Deny;
        self.reason = Reason::Internal;
        self.policies.clear();
        self.approval_flows.clear();
        self.satisfied.clear();
        self.step_up.clear();
        self.indices = Indices::default();
    }

    pub(crate) fn set_reason(&mut self, reason: Reason) {
        self.reason = reason;
    }

    /// Makes this a `policy` decision with `action` (policies and flows pushed separately).
    pub(crate) fn set_action(&mut self, action: Action) {
        self.action = action;
        self.reason = Reason::Policy;
    }

    pub(crate) fn push_policy(&mut self, id: &'s str, index: u32) {
        self.policies.push(id);
        self.indices.policies.push(index);
    }

    pub(crate) fn push_approval_flow(&mut self, id: &'s str, index: u32) {
        self.approval_flows.push(id);
        self.indices.approval_flows.push(index);
    }

    #[cfg(test)]
    pub(crate) fn from_policies(
        action: Action,
        policies: SmallVec<[&'s str; 4]>,
        approval_flows: SmallVec<[&'s str; 2]>,
        version: &'s str,
    ) -> Self {
        Decision {
            action,
            reason: Reason::Policy,
            policies,
            approval_flows,
            satisfied: SmallVec::new(),
            step_up: SmallVec::new(),
            version,
            indices: Indices::default(),
        }
    }

    /// The action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Why.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// `true` only for [`Action::Allow`].
    pub fn allowed(&self) -> bool {
        self.action == Action::Allow
    }

    /// Ids of the determining policies (those that served the action), in byte order;
    /// empty unless the reason is [`Reason::Policy`].
    pub fn policies(&self) -> &[&'s str] {
        &self.policies
    }

    /// For [`Action::RequestApproval`], the distinct approval flows of the determining policies,
    /// in byte order; empty otherwise.
    pub fn approval_flows(&self) -> &[&'s str] {
        &self.approval_flows
    }

    /// Ids of the candidates whose served `step_up` or `request_approval` the request's
    /// evidence satisfied (SPEC §7.3), in byte order, whatever the decision.
    pub fn satisfied(&self) -> &[&'s str] {
        &self.satisfied
    }

    /// For [`Action::StepUp`], the effective requirement of each determining policy, by policy
    /// id; empty otherwise.
    pub fn step_up(&self) -> &[&'s StepUpRequirement] {
        &self.step_up
    }

    /// [`Decision::policies`] as indices into the set's
    /// [`document().policies`](crate::PolicySet::document), in the same order: for bindings that
    /// exchange decisions as numbers rather than strings.
    pub fn policy_indices(&self) -> &[u32] {
        &self.indices.policies
    }

    /// [`Decision::approval_flows`] as indices into the document's `approval_flows`.
    pub fn approval_flow_indices(&self) -> &[u32] {
        &self.indices.approval_flows
    }

    /// [`Decision::satisfied`] as indices into the document's `policies`.
    pub fn satisfied_indices(&self) -> &[u32] {
        &self.indices.satisfied
    }

    /// The version of the policy set that made the decision: the SHA-256 of its document, in
    /// hex (see [`PolicySet::version`](crate::PolicySet::version)).
    pub fn version(&self) -> &'s str {
        self.version
    }

    /// A copy that owns its strings and outlives the policy set.
    pub fn to_owned_decision(&self) -> OwnedDecision {
        OwnedDecision {
            action: self.action,
            reason: self.reason,
            policies: self.policies.iter().map(|p| (*p).to_owned()).collect(),
            approval_flows: self
                .approval_flows
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            satisfied: self.satisfied.iter().map(|p| (*p).to_owned()).collect(),
            step_up: self.step_up.iter().map(|r| (*r).clone()).collect(),
            version: self.version.to_owned(),
        }
    }
}

impl fmt::Display for Decision<'_> {
    /// One line: `deny (policy: github-contractors-deny)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_decision_line(
            f,
            self.action,
            self.reason,
            &self.policies,
            &self.approval_flows,
        )
    }
}

/// A [`Decision`] that owns its strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OwnedDecision {
    /// The action.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Ids of the determining policies, in byte order.
    pub policies: Vec<String>,
    /// Approval flows to run, in byte order (only for `request_approval`).
    pub approval_flows: Vec<String>,
    /// Candidates whose step-up or approval the evidence satisfied, in byte order.
    #[serde(default)]
    pub satisfied: Vec<String>,
    /// For `step_up`, the requirement of each determining policy.
    #[serde(default)]
    pub step_up: Vec<StepUpRequirement>,
    /// The version of the policy set that made the decision.
    pub version: String,
}

impl OwnedDecision {
    /// `true` only for [`Action::Allow`].
    pub fn allowed(&self) -> bool {
        self.action == Action::Allow
    }
}

impl fmt::Display for OwnedDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_decision_line(
            f,
            self.action,
            self.reason,
            &self.policies,
            &self.approval_flows,
        )
    }
}

fn write_decision_line<S: AsRef<str>>(
    f: &mut fmt::Formatter<'_>,
    action: Action,
    reason: Reason,
    policies: &[S],
    flows: &[S],
) -> fmt::Result {
    write!(f, "{action} ({reason}")?;
    if !policies.is_empty() {
        f.write_str(": ")?;
        write_list(f, policies)?;
    }
    f.write_str(")")?;
    if !flows.is_empty() {
        f.write_str(" via approval flow ")?;
        write_list(f, flows)?;
    }
    Ok(())
}

fn write_list<S: AsRef<str>>(f: &mut fmt::Formatter<'_>, items: &[S]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(item.as_ref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_ordered_by_restrictiveness() {
        assert!(Action::Allow < Action::StepUp);
        assert!(Action::StepUp < Action::RequestApproval);
        assert!(Action::RequestApproval < Action::Deny);
        assert_eq!(
            Action::StepUp.most_restrictive(Action::Allow),
            Action::StepUp
        );
    }

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Action::parse("permit"), None);
    }

    #[test]
    fn display_is_one_line() {
        let d = Decision::from_policies(
            Action::RequestApproval,
            SmallVec::from_slice(&["a", "b"]),
            SmallVec::from_slice(&["review"]),
            "v1",
        );
        assert_eq!(
            d.to_string(),
            "request_approval (policy: a, b) via approval flow review"
        );
        assert_eq!(
            Decision::without_policy(Reason::NoPolicy, "v1").to_string(),
            "deny (no_policy)"
        );
    }
}
