//! The administration API: the edits of the Policies page, on a document, all or nothing.
//!
//! Every edit takes a validated [`Document`] (a set's [`PolicySet::document`]) and returns
//! either the new policy set, compiled and ready to be swapped into an
//! [`Engine`](crate::Engine), or an [`AdminError`] listing **every** problem the edit would
//! cause, each with its code and a JSON Pointer into the edited document (`/policies/3/name`).
//! The document given is never changed: an edit is applied to a copy, and the copy is loaded
//! exactly as a document file is (`docs/spec.md` §5), so the page's validation is the
//! engine's.
//!
//! ```
//! use agen_policy_core::admin::{self, PolicyDraft, TableQuery};
//! use agen_policy_core::{Action, Limits, PolicySet};
//!
//! let set = PolicySet::from_json(r#"{"connectors": [{"id": "github", "tools": [
//!     {"name": "list_user_repositories"}, {"name": "delete_repository"}]}]}"#)?;
//! let limits = Limits::default();
//!
//! let mut draft = PolicyDraft::new("Read GitHub", "github", "allow");
//! draft.all_users = true;
//! let created = admin::create_policy(set.document(), &draft, &limits)?;
//! assert_eq!(created.policy_id(), Some("read-github"));
//!
//! // A blank name is refused with its code and the pointer of the field.
//! let blank = PolicyDraft::new("  ", "github", "allow");
//! let error = admin::create_policy(created.document(), &blank, &limits).unwrap_err();
//! assert_eq!(error.problems()[0].code().as_str(), "empty_name");
//! assert_eq!(error.problems()[0].path(), "/policies/1/name");
//!
//! let rows = admin::table(created.document(), &TableQuery::default());
//! assert_eq!(rows[0].users, "All users");
//! assert_eq!(rows[0].action, Action::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod detail;
mod table;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Code, Problem};
use crate::limits::Limits;
use crate::model::Document;
use crate::set::PolicySet;

pub use detail::{policy_detail, DirectoryEntry, PolicyDetail, ToolState};
pub use table::{table, Row, SortKey, TableQuery};

/// The longest id [`create_policy`] derives from a name, in bytes.
const MAX_DERIVED_ID_BYTES: usize = 64;

/// A new policy, as the "Create policy" panel collects it.
///
/// Its strings are taken as typed: the action is checked by loading (an unknown one is
/// `invalid_document` at `/policies/N/action`), like every other field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDraft {
    /// The id; derived from the name when absent (see [`create_policy`]).
    #[serde(default)]
    pub id: Option<String>,
    /// The name; must hold a non-whitespace character.
    pub name: String,
    /// At most 160 characters.
    #[serde(default)]
    pub description: String,
    /// A connector id (application id) of the document.
    pub connector: String,
    /// `allow`, `step_up`, `request_approval` or `deny`.
    pub action: String,
    /// "Enforce policy action on all users".
    #[serde(default)]
    pub all_users: bool,
    /// An approval flow id of the document.
    #[serde(default)]
    pub approval_flow: Option<String>,
}

impl PolicyDraft {
    /// A draft with a name, a connector and an action; everything else defaulted.
    pub fn new(
        name: impl Into<String>,
        connector: impl Into<String>,
        action: impl Into<String>,
    ) -> PolicyDraft {
        PolicyDraft {
            id: None,
            name: name.into(),
            description: String::new(),
            connector: connector.into(),
            action: action.into(),
            all_users: false,
            approval_flow: None,
        }
    }
}

/// A policy's Settings tab: everything but its connector, tools, members and targeting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// The name; must hold a non-whitespace character.
    pub name: String,
    /// At most 160 characters.
    #[serde(default)]
    pub description: String,
    /// `allow`, `step_up`, `request_approval` or `deny`.
    pub action: String,
    /// "Enforce policy action on all users".
    #[serde(default)]
    pub all_users: bool,
    /// An approval flow id of the document, or none.
    #[serde(default)]
    pub approval_flow: Option<String>,
}

/// A policy's Tools tab: the master toggle and the per-tool toggles.
///
/// With `all` on, the policy governs every tool of its connector (also tools added later)
/// except those toggled off; with `all` off, exactly the tools toggled on. A toggle that
/// repeats what `all` already says (on under `all`, off without it) changes nothing, but its
/// tool must still exist.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolToggles {
    /// The master toggle.
    pub all: bool,
    /// Tool name → on or off, in the order given.
    #[serde(default)]
    pub tools: Vec<ToolToggle>,
}

/// One per-tool toggle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolToggle {
    /// The tool's name in its connector.
    pub name: String,
    /// Whether the policy governs it.
    pub on: bool,
}

/// A policy's Targeting tab: If (rules, ORed; conditions of a rule ANDed) / Else (`otherwise`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetingEdit {
    /// The rules; none removes the targeting (the policy always serves its action).
    pub rules: Vec<RuleEdit>,
    /// What the policy serves when no rule matches: an action or `none`. Default `deny`.
    #[serde(default = "default_otherwise")]
    pub otherwise: String,
}

fn default_otherwise() -> String {
    "deny".to_owned()
}

/// One rule: conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEdit {
    /// At least one condition.
    pub conditions: Vec<ConditionEdit>,
}

/// One condition, as typed: an attribute, an operator and values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionEdit {
    /// A dotted attribute name, e.g. `agent.type`.
    pub attribute: String,
    /// An operator name, e.g. `equals`.
    pub operator: String,
    /// What the attribute is compared with.
    #[serde(default)]
    pub values: Vec<Value>,
    /// Invert the result.
    #[serde(default)]
    pub negate: bool,
    /// Compare strings ignoring case.
    #[serde(default)]
    pub ignore_case: bool,
}

/// The result of an edit that succeeded: the new set, compiled.
#[derive(Debug)]
pub struct Applied {
    set: PolicySet,
    policy: Option<String>,
}

impl Applied {
    /// The new policy set.
    pub fn set(&self) -> &PolicySet {
        &self.set
    }

    /// The new policy set, to hand to [`Engine::replace`](crate::Engine::replace).
    pub fn into_set(self) -> PolicySet {
        self.set
    }

    /// The new document.
    pub fn document(&self) -> &Document {
        self.set.document()
    }

    /// The id of the policy created or edited; `None` after a deletion.
    pub fn policy_id(&self) -> Option<&str> {
        self.policy.as_deref()
    }

    /// The warnings of the new document (`unknown_user`, `governs_nothing`, …).
    pub fn warnings(&self) -> &[Problem] {
        self.set.warnings()
    }
}

/// An edit refused: every problem it would cause. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct AdminError {
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    policy: Option<String>,
}

impl AdminError {
    fn unknown_policy(id: &str) -> AdminError {
        AdminError {
            problems: vec![Problem::new(
                Code::UnknownPolicy,
                "/policies".to_owned(),
                format!("no policy has the id `{id}`"),
            )],
            warnings: Vec::new(),
            policy: None,
        }
    }

    /// Every error, each with its code and a JSON Pointer into the edited document. Never empty.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The warnings the edited document would have had.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The code of the first problem, for callers that want one code.
    pub fn code(&self) -> Code {
        self.problems
            .first()
            .map_or(Code::InvalidDocument, Problem::code)
    }

    /// The JSON Pointer of the policy the edit was about (`/policies/3`), when there is one:
    /// problems under it concern the fields of the edit, and a page strips it to find the field.
    pub fn policy_path(&self) -> Option<&str> {
        self.policy.as_deref()
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "edit refused ({n} problem{})",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// Creates a policy, appended after the others. Its tools start empty (it governs nothing, so
/// creating it changes no decision until tools are switched on) and it has no targeting.
///
/// Without an id in the draft, the id is derived from the name: lowercase ASCII letters and
/// digits, other runs of characters as one `-`, at most 64 bytes (`policy` when nothing is
/// left), then `-2`, `-3`, … until it is unused. An id given in the draft is taken as is (a
/// taken one is `duplicate_id`).
pub fn create_policy(
    document: &Document,
    draft: &PolicyDraft,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    let mut tree = to_tree(document);
    let id = match &draft.id {
        Some(id) => id.clone(),
        None => derive_id(document, &draft.name),
    };
    let mut policy = Map::new();
    policy.insert("id".into(), Value::from(id.as_str()));
    policy.insert("name".into(), Value::from(draft.name.as_str()));
    policy.insert(
        "description".into(),
        Value::from(draft.description.as_str()),
    );
    policy.insert("connector".into(), Value::from(draft.connector.as_str()));
    policy.insert("action".into(), Value::from(draft.action.as_str()));
    policy.insert("all_users".into(), Value::Bool(draft.all_users));
    policy.insert("users".into(), Value::Array(Vec::new()));
    policy.insert("groups".into(), Value::Array(Vec::new()));
    policy.insert(
        "tools".into(),
        serde_json::json!({ "all": false, "include": [], "exclude": [] }),
    );
    policy.insert(
        "approval_flow".into(),
        draft
            .approval_flow
            .as_deref()
            .map_or(Value::Null, Value::from),
    );
    let index = document.policies.len();
    if let Some(Value::Array(policies)) = tree.get_mut("policies") {
        policies.push(Value::Object(policy));
    }
    finish(tree, Some(index), Some(id), limits)
}

/// Replaces a policy's settings: name, description, action, the all-users toggle and its
/// approval flow.
pub fn update_settings(
    document: &Document,
    policy_id: &str,
    settings: &PolicySettings,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    edit_policy(document, policy_id, limits, |policy| {
        policy.insert("name".into(), Value::from(settings.name.as_str()));
        policy.insert(
            "description".into(),
            Value::from(settings.description.as_str()),
        );
        policy.insert("action".into(), Value::from(settings.action.as_str()));
        policy.insert("all_users".into(), Value::Bool(settings.all_users));
        policy.insert(
            "approval_flow".into(),
            settings
                .approval_flow
                .as_deref()
                .map_or(Value::Null, Value::from),
        );
        Vec::new()
    })
}

/// Sets a policy's tools from the Tools tab's toggles ([`ToolToggles`]). A toggle naming a
/// tool its connector lacks is `unknown_tool` at `/policies/N/tools`.
pub fn set_tools(
    document: &Document,
    policy_id: &str,
    toggles: &ToolToggles,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    let connector = document
        .policies
        .iter()
        .find(|p| &*p.id == policy_id)
        .and_then(|p| document.connectors.iter().find(|c| c.id == p.connector));
    edit_policy(document, policy_id, limits, |policy| {
        let mut problems = Vec::new();
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for toggle in &toggles.tools {
            let known = connector.is_some_and(|c| c.tools.iter().any(|t| *t.name == toggle.name));
            if !known {
                problems.push((
                    Code::UnknownTool,
                    "tools".to_owned(),
                    format!(
                        "unknown tool `{}` in connector `{}`",
                        toggle.name,
                        connector.map_or("", |c| &*c.id)
                    ),
                ));
                continue;
            }
            match (toggles.all, toggle.on) {
                (true, false) => push_once(&mut exclude, &toggle.name),
                (false, true) => push_once(&mut include, &toggle.name),
                _ => {}
            }
        }
        let mut selector = Map::new();
        selector.insert("all".into(), Value::Bool(toggles.all));
        selector.insert("include".into(), strings(&include));
        selector.insert("exclude".into(), strings(&exclude));
        policy.insert("tools".into(), Value::Object(selector));
        problems
    })
}

/// Adds users to a policy's scope (ids already there stay once, in their place).
pub fn add_users(
    document: &Document,
    policy_id: &str,
    users: &[String],
    limits: &Limits,
) -> Result<Applied, AdminError> {
    change_members(document, policy_id, "users", users, true, limits)
}

/// Removes users from a policy's scope (an id it does not hold is no change).
pub fn remove_users(
    document: &Document,
    policy_id: &str,
    users: &[String],
    limits: &Limits,
) -> Result<Applied, AdminError> {
    change_members(document, policy_id, "users", users, false, limits)
}

/// Adds groups to a policy's scope (ids already there stay once, in their place).
pub fn add_groups(
    document: &Document,
    policy_id: &str,
    groups: &[String],
    limits: &Limits,
) -> Result<Applied, AdminError> {
    change_members(document, policy_id, "groups", groups, true, limits)
}

/// Removes groups from a policy's scope (an id it does not hold is no change).
pub fn remove_groups(
    document: &Document,
    policy_id: &str,
    groups: &[String],
    limits: &Limits,
) -> Result<Applied, AdminError> {
    change_members(document, policy_id, "groups", groups, false, limits)
}

/// Sets a policy's targeting. With no rules the targeting is removed; `otherwise` is still
/// checked (an unknown one is `invalid_document` at `/policies/N/targeting/otherwise`).
pub fn set_targeting(
    document: &Document,
    policy_id: &str,
    targeting: &TargetingEdit,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    edit_policy(document, policy_id, limits, |policy| {
        let mut problems = Vec::new();
        if targeting.rules.is_empty() {
            if crate::model::Otherwise::parse(&targeting.otherwise).is_none() {
                problems.push((
                    Code::InvalidDocument,
                    "targeting/otherwise".to_owned(),
                    format!(
                        "`{}` is not an action nor `none`",
                        targeting.otherwise.escape_debug()
                    ),
                ));
            }
            policy.remove("targeting");
            return problems;
        }
        let rules = targeting
            .rules
            .iter()
            .map(|rule| {
                let conditions = rule
                    .conditions
                    .iter()
                    .map(|c| {
                        let mut condition = Map::new();
                        condition.insert("attribute".into(), Value::from(c.attribute.as_str()));
                        condition.insert("operator".into(), Value::from(c.operator.as_str()));
                        condition.insert("values".into(), Value::Array(c.values.clone()));
                        condition.insert("negate".into(), Value::Bool(c.negate));
                        condition.insert("ignore_case".into(), Value::Bool(c.ignore_case));
                        Value::Object(condition)
                    })
                    .collect();
                serde_json::json!({ "conditions": Value::Array(conditions) })
            })
            .collect();
        let mut t = Map::new();
        t.insert("rules".into(), Value::Array(rules));
        t.insert(
            "otherwise".into(),
            Value::from(targeting.otherwise.as_str()),
        );
        policy.insert("targeting".into(), Value::Object(t));
        problems
    })
}

/// Deletes a policy.
pub fn delete_policy(
    document: &Document,
    policy_id: &str,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    let index = find(document, policy_id)?;
    let mut tree = to_tree(document);
    if let Some(Value::Array(policies)) = tree.get_mut("policies") {
        if index < policies.len() {
            policies.remove(index);
        }
    }
    finish(tree, None, None, limits)
}

/// The index of the policy `id`, or `unknown_policy`.
fn find(document: &Document, id: &str) -> Result<usize, AdminError> {
    document
        .policies
        .iter()
        .position(|p| &*p.id == id)
        .ok_or_else(|| AdminError::unknown_policy(id))
}

/// A problem the edit itself finds: code, path relative to the policy, message.
type EditProblem = (Code, String, String);

/// Applies `edit` to a copy of the policy `id`'s JSON object, then loads the copy.
fn edit_policy(
    document: &Document,
    id: &str,
    limits: &Limits,
    edit: impl FnOnce(&mut Map<String, Value>) -> Vec<EditProblem>,
) -> Result<Applied, AdminError> {
    let index = find(document, id)?;
    let mut tree = to_tree(document);
    let own = match tree
        .get_mut("policies")
        .and_then(|p| p.get_mut(index))
        .and_then(Value::as_object_mut)
    {
        Some(policy) => edit(policy),
        None => Vec::new(),
    };
    let current_id = tree
        .get("policies")
        .and_then(|p| p.get(index))
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match finish(tree, Some(index), current_id, limits) {
        Ok(applied) if own.is_empty() => Ok(applied),
        Ok(applied) => Err(AdminError {
            problems: at_policy(index, own),
            warnings: applied.set.warnings().to_vec(),
            policy: Some(policy_path(index)),
        }),
        Err(mut e) => {
            // The edit's own problems first, then the loader's: every problem is reported.
            let mut problems = at_policy(index, own);
            problems.append(&mut e.problems);
            e.problems = problems;
            Err(e)
        }
    }
}

fn at_policy(index: usize, problems: Vec<EditProblem>) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|(code, rest, message)| {
            Problem::new(code, format!("{}/{rest}", policy_path(index)), message)
        })
        .collect()
}

fn change_members(
    document: &Document,
    id: &str,
    field: &str,
    ids: &[String],
    add: bool,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    edit_policy(document, id, limits, |policy| {
        let mut list: Vec<String> = policy
            .get(field)
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if add {
            for id in ids {
                push_once(&mut list, id);
            }
        } else {
            list.retain(|m| !ids.contains(m));
        }
        policy.insert(field.into(), strings(&list));
        Vec::new()
    })
}

fn push_once(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|m| m == id) {
        list.push(id.to_owned());
    }
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| Value::from(s.as_str())).collect())
}

fn policy_path(index: usize) -> String {
    format!("/policies/{index}")
}

/// The document as a JSON object, the form edits are made in.
fn to_tree(document: &Document) -> Map<String, Value> {
    match serde_json::to_value(document) {
        Ok(Value::Object(map)) => map,
        // INVARIANT: a `Document` serializes to an object (plain structs of strings, numbers
        // and lists); should it not, loading the empty object refuses the edit.
        _ => Map::new(),
    }
}

/// Loads the edited tree: the new set, or every problem.
fn finish(
    tree: Map<String, Value>,
    index: Option<usize>,
    policy: Option<String>,
    limits: &Limits,
) -> Result<Applied, AdminError> {
    let bytes = serde_json::to_vec(&Value::Object(tree)).unwrap_or_default();
    match PolicySet::from_slice_with_limits(&bytes, limits) {
        Ok(set) => Ok(Applied { set, policy }),
        Err(e) => Err(AdminError {
            problems: e.problems().to_vec(),
            warnings: e.warnings().to_vec(),
            policy: index.map(policy_path),
        }),
    }
}

/// An unused policy id made from a name.
fn derive_id(document: &Document, name: &str) -> String {
    let mut base = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if base.len() >= MAX_DERIVED_ID_BYTES {
                break;
            }
            base.push(c.to_ascii_lowercase());
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    while base.ends_with('-') {
        base.pop();
    }
    if base.is_empty() {
        base.push_str("policy");
    }
    let taken = |id: &str| document.policies.iter().any(|p| &*p.id == id);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests;
