//! The policy document as data (SPEC §2): what a loaded [`PolicySet`](crate::PolicySet) was
//! built from, with every default filled in.
//!
//! These types are the validated document, not a second way to write one: they are produced by
//! the loader and serialize back to a document that loads to the same decisions. Strings are
//! `Box<str>`: a loaded set keeps its document, and a `String`'s spare capacity and third word
//! add up over a million policies.

use serde::Serialize;
use serde_json::Value;

use crate::decision::Action;

/// A whole policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// Format version; always 1.
    pub version: u32,
    /// The step-up freshness policies inherit field by field (SPEC §7.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUp>,
    /// The SaaS integrations and their tools.
    pub connectors: Vec<Connector>,
    /// The group directory.
    pub groups: Vec<Group>,
    /// The user directory.
    pub users: Vec<User>,
    /// Approval flows that `request_approval` policies name.
    pub approval_flows: Vec<ApprovalFlow>,
    /// The policies.
    pub policies: Vec<Policy>,
}

/// A SaaS integration, identified by its application id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connector {
    /// The application id, e.g. `github`.
    pub id: Box<str>,
    /// Display name; the id when the document gives none.
    pub name: Box<str>,
    /// A disabled connector denies every tool.
    pub enabled: bool,
    /// Its tools.
    pub tools: Vec<Tool>,
}

/// One tool of a connector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// API-level identifier, e.g. `delete_repository`.
    pub name: Box<str>,
    /// Display title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Box<str>>,
    /// Display description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Box<str>>,
    /// A disabled tool is denied.
    pub enabled: bool,
}

/// A group of the directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Its id.
    pub id: Box<str>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Box<str>>,
    /// Display description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Box<str>>,
}

/// A user of the directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Its id, as requests name it.
    pub id: Box<str>,
    /// Display name (the `user.name` attribute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Box<str>>,
    /// E-mail address (the `user.email` attribute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Box<str>>,
    /// Group ids the user belongs to.
    pub groups: Vec<Box<str>>,
}

/// Who must approve a `request_approval` decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalFlow {
    /// Its id.
    pub id: Box<str>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Box<str>>,
    /// The steps, in order.
    pub steps: Vec<ApprovalStep>,
    /// Seconds a grant stays valid after the final approval (SPEC §8.1). Default 3,600.
    pub grant_ttl: u32,
    /// Seconds after which a pending request expires; `None` for never.
    pub timeout: Option<u32>,
    /// Whether the requesting user may approve or reject their own request.
    pub allow_self_approval: bool,
    /// Whether a grant is bound to the request's arguments digest. Default `true`.
    pub bind_arguments: bool,
}

impl ApprovalFlow {
    /// Whether a request of this flow can ever be approved: it has steps, and every step
    /// names some user or group.
    pub fn can_approve(&self) -> bool {
        !self.steps.is_empty()
            && self
                .steps
                .iter()
                .all(|s| !s.users.is_empty() || !s.groups.is_empty())
    }
}

/// The freshness a step-up asks for (SPEC §7.1). A field left out is taken from the
/// document's `step_up`, else from the defaults (`max_age` 300 s, any `acr`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct StepUp {
    /// Seconds the last authentication may be old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Accepted authentication context classes (OIDC `acr`); empty means any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<Vec<Box<str>>>,
}

/// One step of an approval flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalStep {
    /// Users who may approve.
    pub users: Vec<Box<str>>,
    /// Groups whose members may approve.
    pub groups: Vec<Box<str>>,
    /// Approvals needed to pass the step (at least 1).
    pub min_approvals: u64,
}

/// A policy: who it applies to, which tools it governs, and what it serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Unique id.
    pub id: Box<str>,
    /// Display name.
    pub name: Box<str>,
    /// Description, at most 160 characters.
    pub description: Box<str>,
    /// The connector whose tools it governs.
    pub connector: Box<str>,
    /// What it serves when it applies and its targeting (if any) matches.
    pub action: Action,
    /// Who it applies to.
    #[serde(flatten)]
    pub scope: Scope,
    /// Which tools it governs.
    pub tools: ToolSelector,
    /// Conditions on the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targeting: Option<Targeting>,
    /// The approval flow to run when it determines a `request_approval` decision.
    pub approval_flow: Option<Box<str>>,
    /// Its own step-up freshness, field by field over the document's (SPEC §7.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUp>,
}

/// Who a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// Every user ("Enforce policy action on all users"); `users` and `groups` are then kept
    /// but not enforced.
    pub all_users: bool,
    /// User ids.
    pub users: Vec<Box<str>>,
    /// Group ids.
    pub groups: Vec<Box<str>>,
}

/// Which tools of its connector a policy governs: `(all or t ∈ include) and t ∉ exclude`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolSelector {
    /// Every tool of the connector.
    pub all: bool,
    /// Tools governed when `all` is off.
    pub include: Vec<Box<str>>,
    /// Tools never governed.
    pub exclude: Vec<Box<str>>,
}

impl ToolSelector {
    /// Whether the selector selects the tool named `tool`.
    pub fn selects(&self, tool: &str) -> bool {
        (self.all || self.include.iter().any(|t| &**t == tool))
            && !self.exclude.iter().any(|t| &**t == tool)
    }
}

/// If (rules) / Else (`otherwise`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targeting {
    /// Rules, ORed. Empty means no targeting.
    pub rules: Vec<Rule>,
    /// What the policy serves when no rule matches.
    pub otherwise: Otherwise,
}

/// What a policy serves when no rule of its targeting matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Otherwise {
    /// Serve this action.
    Serve(Action),
    /// The policy does not apply to the request.
    None,
}

impl Otherwise {
    /// The name as written in documents: an action's name or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Otherwise::Serve(a) => a.as_str(),
            Otherwise::None => "none",
        }
    }

    /// Parses `allow`, `step_up`, `request_approval`, `deny` or `none`.
    pub fn parse(name: &str) -> Option<Otherwise> {
        if name == "none" {
            Some(Otherwise::None)
        } else {
            Action::parse(name).map(Otherwise::Serve)
        }
    }
}

impl Serialize for Otherwise {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Conditions that all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// At least one condition, ANDed.
    pub conditions: Vec<Condition>,
}

/// A test of one attribute of the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// A dotted attribute name, e.g. `agent.type`.
    pub attribute: Box<str>,
    /// The comparison.
    pub operator: Operator,
    /// What the attribute is compared with.
    pub values: Vec<Value>,
    /// Invert the result (never on data that could not be read, but for `exists`).
    pub negate: bool,
    /// Compare strings under Unicode simple case folding.
    pub ignore_case: bool,
}

/// A condition's comparison (SPEC §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operator {
    /// Strictly typed equality with some value.
    Equals,
    /// Whole-string glob match (`*`, `?`, `\` escapes).
    Matches,
    /// Unanchored regular-expression search.
    Regex,
    /// String prefix.
    StartsWith,
    /// String suffix.
    EndsWith,
    /// Substring.
    Contains,
    /// Number less than.
    Lt,
    /// Number less than or equal.
    Lte,
    /// Number greater than.
    Gt,
    /// Number greater than or equal.
    Gte,
    /// Instant strictly before.
    Before,
    /// Instant strictly after.
    After,
    /// SemVer precedence equal.
    SemverEq,
    /// SemVer precedence lower.
    SemverLt,
    /// SemVer precedence higher.
    SemverGt,
    /// IP address inside a CIDR block.
    InCidr,
    /// Attribute present and not null.
    Exists,
}

impl Operator {
    /// Every operator.
    pub const ALL: [Operator; 17] = [
        Operator::Equals,
        Operator::Matches,
        Operator::Regex,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Contains,
        Operator::Lt,
        Operator::Lte,
        Operator::Gt,
        Operator::Gte,
        Operator::Before,
        Operator::After,
        Operator::SemverEq,
        Operator::SemverLt,
        Operator::SemverGt,
        Operator::InCidr,
        Operator::Exists,
    ];

    /// The operator's name in documents.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::Matches => "matches",
            Operator::Regex => "regex",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::Contains => "contains",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Before => "before",
            Operator::After => "after",
            Operator::SemverEq => "semver_eq",
            Operator::SemverLt => "semver_lt",
            Operator::SemverGt => "semver_gt",
            Operator::InCidr => "in_cidr",
            Operator::Exists => "exists",
        }
    }

    /// Parses an operator name.
    pub fn parse(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether `ignore_case` applies to this operator.
    pub const fn takes_ignore_case(self) -> bool {
        matches!(
            self,
            Operator::Equals
                | Operator::Matches
                | Operator::Regex
                | Operator::StartsWith
                | Operator::EndsWith
                | Operator::Contains
        )
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
