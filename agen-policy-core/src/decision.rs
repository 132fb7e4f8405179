//! What evaluation answers: an [`Action`], the [`Reason`] for it and the policies behind it.

use std::fmt;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::evidence::StepUpRequirement;
use crate::set::PolicySet;

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
/// It refers to its policies and approval flows by their indices in the
/// [`PolicySet`](crate::PolicySet) that made it, and reads their ids from the set when asked, so
/// a decision is small (it is returned by value on the hot path) and making one does not
/// allocate for up to four determining policies and two approval flows.
/// [`Decision::to_owned_decision`] detaches it from the set.
#[derive(Clone)]
pub struct Decision<'s> {
    set: &'s PolicySet,
    action: Action,
    reason: Reason,
    /// Determining policies, as indices into the set's compiled policies (in id order).
    policies: SmallVec<[u32; 4]>,
    /// Approval flows, as indices into the set's sorted flow ids.
    approval_flows: SmallVec<[u32; 2]>,
    /// Satisfied candidates, as indices into the set's compiled policies (in id order).
    satisfied: SmallVec<[u32; 2]>,
}

impl<'s> Decision<'s> {
    pub(crate) fn without_policy(set: &'s PolicySet, reason: Reason) -> Self {
        Decision {
            set,
            action: Action::Deny,
            reason,
            policies: SmallVec::new(),
            approval_flows: SmallVec::new(),
            satisfied: SmallVec::new(),
        }
    }

    /// Records a satisfied candidate: `pi` indexes the set's compiled policies, and the caller
    /// has checked that it and its document policy exist.
    pub(crate) fn push_satisfied(&mut self, pi: u32) {
        self.satisfied.push(pi);
    }

    /// Makes this a `deny` that names no policy: an internal inconsistency fails closed.
    pub(crate) fn fail_closed(&mut self) {
        self.action = Action::Deny;
        self.reason = Reason::Internal;
        self.policies.clear();
        self.approval_flows.clear();
        self.satisfied.clear();
    }

    pub(crate) fn set_reason(&mut self, reason: Reason) {
        self.reason = reason;
    }

    /// Makes this a `policy` decision with `action` (policies and flows pushed separately).
    pub(crate) fn set_action(&mut self, action: Action) {
        self.action = action;
        self.reason = Reason::Policy;
    }

    /// Records the determining policies, in id order (each checked by the caller, as for
    /// `push_satisfied`), growing the list at most once.
    #[inline]
    pub(crate) fn push_policies(&mut self, pis: &[u32]) {
        self.policies.reserve(pis.len());
        for &pi in pis {
            self.policies.push(pi);
        }
    }

    /// Records an approval flow: `f` indexes the set's sorted flow ids (checked by the caller).
    pub(crate) fn push_approval_flow(&mut self, f: u32) {
        self.approval_flows.push(f);
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
    pub fn policies(&self) -> impl ExactSizeIterator<Item = &'s str> + Clone + '_ {
        let set = self.set;
        self.policies.iter().map(move |&pi| set.policy_id(pi))
    }

    /// For [`Action::RequestApproval`], the distinct approval flows of the determining policies,
    /// in byte order; empty otherwise.
    pub fn approval_flows(&self) -> impl ExactSizeIterator<Item = &'s str> + Clone + '_ {
        let set = self.set;
        self.approval_flows.iter().map(move |&f| set.flow_id(f))
    }

    /// Ids of the candidates whose served `step_up` or `request_approval` the request's
    /// evidence satisfied (SPEC §7.3), in byte order, whatever the decision.
    pub fn satisfied(&self) -> impl ExactSizeIterator<Item = &'s str> + Clone + '_ {
        let set = self.set;
        self.satisfied.iter().map(move |&pi| set.policy_id(pi))
    }

    /// For [`Action::StepUp`], the effective requirement of each determining policy, by policy
    /// id; empty otherwise.
    pub fn step_up(&self) -> impl Iterator<Item = &'s StepUpRequirement> + Clone + '_ {
        let set = self.set;
        let policies: &[u32] = if self.action == Action::StepUp {
            &self.policies
        } else {
            &[]
        };
        policies.iter().filter_map(move |&pi| set.step_up_of(pi))
    }

    /// [`Decision::policies`] as indices into the set's
    /// [`document().policies`](crate::PolicySet::document), in the same order: for bindings that
    /// exchange decisions as numbers rather than strings.
    pub fn policy_indices(&self) -> impl ExactSizeIterator<Item = u32> + Clone + '_ {
        let set = self.set;
        self.policies.iter().map(move |&pi| set.policy_source(pi))
    }

    /// [`Decision::approval_flows`] as indices into the document's `approval_flows`.
    pub fn approval_flow_indices(&self) -> impl ExactSizeIterator<Item = u32> + Clone + '_ {
        let set = self.set;
        self.approval_flows.iter().map(move |&f| set.flow_source(f))
    }

    /// [`Decision::satisfied`] as indices into the document's `policies`.
    pub fn satisfied_indices(&self) -> impl ExactSizeIterator<Item = u32> + Clone + '_ {
        let set = self.set;
        self.satisfied.iter().map(move |&pi| set.policy_source(pi))
    }

    /// What tells this decision from the set's other decisions, cheaply: its action, reason,
    /// and its policies, flows and satisfied policies as the set's internal indices (not the
    /// document's: those are [`Decision::policy_indices`] and the like). Two decisions of one
    /// set are equal exactly when their identities are; a binding that reuses decision objects
    /// keys them on it.
    pub fn identity(&self) -> (Action, Reason, &[u32], &[u32], &[u32]) {
        (
            self.action,
            self.reason,
            &self.policies,
            &self.approval_flows,
            &self.satisfied,
        )
    }

    /// The version of the policy set that made the decision: the SHA-256 of its document, in
    /// hex (see [`PolicySet::version`](crate::PolicySet::version)).
    pub fn version(&self) -> &'s str {
        self.set.version()
    }

    /// A copy that owns its strings and outlives the policy set.
    pub fn to_owned_decision(&self) -> OwnedDecision {
        OwnedDecision {
            action: self.action,
            reason: self.reason,
            policies: self.policies().map(str::to_owned).collect(),
            approval_flows: self.approval_flows().map(str::to_owned).collect(),
            satisfied: self.satisfied().map(str::to_owned).collect(),
            step_up: self.step_up().cloned().collect(),
            version: self.version().to_owned(),
        }
    }
}

impl PartialEq for Decision<'_> {
    /// Equal when they say the same: action, reason, policies, flows, satisfied candidates and
    /// version (two sets of one document make equal decisions).
    fn eq(&self, other: &Self) -> bool {
        self.action == other.action
            && self.reason == other.reason
            && self.version() == other.version()
            && self.policies().eq(other.policies())
            && self.approval_flows().eq(other.approval_flows())
            && self.satisfied().eq(other.satisfied())
    }
}

impl Eq for Decision<'_> {}

impl fmt::Debug for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("action", &self.action)
            .field("reason", &self.reason)
            .field("policies", &List(self.policies()))
            .field("approval_flows", &List(self.approval_flows()))
            .field("satisfied", &List(self.satisfied()))
            .field("step_up", &List(self.step_up()))
            .field("version", &self.version())
            .finish()
    }
}

impl Serialize for Decision<'_> {
    /// The same members as [`OwnedDecision`].
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Decision", 7)?;
        s.serialize_field("action", &self.action)?;
        s.serialize_field("reason", &self.reason)?;
        s.serialize_field("policies", &List(self.policies()))?;
        s.serialize_field("approval_flows", &List(self.approval_flows()))?;
        s.serialize_field("satisfied", &List(self.satisfied()))?;
        s.serialize_field("step_up", &List(self.step_up()))?;
        s.serialize_field("version", self.version())?;
        s.end()
    }
}

/// An iterator shown as a list (for `Debug` and `Serialize`).
struct List<I>(I);

impl<I: Iterator + Clone> fmt::Debug for List<I>
where
    I::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

impl<I: Iterator + Clone> Serialize for List<I>
where
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

impl fmt::Display for Decision<'_> {
    /// One line: `deny (policy: github-contractors-deny)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_decision_line(
            f,
            self.action,
            self.reason,
            self.policies(),
            self.approval_flows(),
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
            self.policies.iter(),
            self.approval_flows.iter(),
        )
    }
}

fn write_decision_line<S: AsRef<str>>(
    f: &mut fmt::Formatter<'_>,
    action: Action,
    reason: Reason,
    policies: impl ExactSizeIterator<Item = S>,
    flows: impl ExactSizeIterator<Item = S>,
) -> fmt::Result {
    write!(f, "{action} ({reason}")?;
    if policies.len() > 0 {
        f.write_str(": ")?;
        write_list(f, policies)?;
    }
    f.write_str(")")?;
    if flows.len() > 0 {
        f.write_str(" via approval flow ")?;
        write_list(f, flows)?;
    }
    Ok(())
}

fn write_list<S: AsRef<str>>(
    f: &mut fmt::Formatter<'_>,
    items: impl Iterator<Item = S>,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
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
        let mut d = OwnedDecision {
            action: Action::RequestApproval,
            reason: Reason::Policy,
            policies: vec!["a".into(), "b".into()],
            approval_flows: vec!["review".into()],
            satisfied: vec![],
            step_up: vec![],
            version: "v1".into(),
        };
        assert_eq!(
            d.to_string(),
            "request_approval (policy: a, b) via approval flow review"
        );
        d.action = Action::Deny;
        d.reason = Reason::NoPolicy;
        d.policies.clear();
        d.approval_flows.clear();
        assert_eq!(d.to_string(), "deny (no_policy)");
    }

    #[test]
    fn a_decision_stays_small() {
        // Returned by value on every evaluation: its size is part of the hot path's cost.
        assert!(
            std::mem::size_of::<Decision<'_>>() <= 88,
            "{}",
            std::mem::size_of::<Decision<'_>>()
        );
    }
}
