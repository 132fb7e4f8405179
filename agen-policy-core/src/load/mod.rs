//! Loading: JSON text → validated [`Document`] and compiled targeting, or every problem
//! (SPEC §5).
//!
//! The walk never stops at the first problem: each part is checked as far as it can be, a
//! problem is recorded with the JSON Pointer of the value it is about, and the document is
//! accepted only when none was found.
//!
//! One concept a file: `path` (the JSON Pointer being walked), `shape` (JSON shapes and their
//! problems), `document` (the document, its directory and approval flows), `policy` (a policy
//! and its tool selector), `targeting` (rules and conditions, compiled).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::condition::{self, At, Attribute, CompiledCondition};
use crate::decision::Action;
use crate::error::{Code, LoadError, Problem};
use crate::json::{self, brief_str, Json, ParseError};
use crate::limits::Limits;
use crate::model::{
    ApprovalFlow, ApprovalStep, Condition, Connector, Document, Group, Operator, Otherwise, Policy,
    Rule, Scope, StepUp, Targeting, Tool, ToolSelector, User,
};

/// The compiled rules of one policy's targeting; `None` when it has none (or `rules: []`).
pub(crate) type CompiledRules = Option<Box<[Box<[CompiledCondition]>]>>;

/// One policy that loaded: its model and its compiled targeting, kept together so that no
/// policy can meet another's rules.
pub(crate) struct LoadedPolicy {
    pub(crate) model: Policy,
    pub(crate) rules: CompiledRules,
}

/// A document that loaded: the model (its `policies` still empty), each policy with its compiled
/// rules, in document order, and warnings.
pub(crate) struct Loaded {
    pub(crate) document: Document,
    pub(crate) policies: Vec<LoadedPolicy>,
    /// The distinct attributes the conditions read, indexed by `CompiledCondition::attribute`.
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) warnings: Vec<Problem>,
}

/// Loads a document.
pub(crate) fn load(bytes: &[u8], limits: &Limits) -> Result<Loaded, LoadError> {
    let mut ck = Checker::new(limits);
    if bytes.len() > limits.max_document_bytes {
        ck.error(
            Code::LimitExceeded,
            &Path::Root,
            // A host may hand over only the limit + 1 bytes of a larger input: name no size.
            format!(
                "document is larger than the limit of {} bytes",
                limits.max_document_bytes
            ),
        );
        return Err(ck.into_error());
    }
    let json = match json::parse(bytes, limits.max_document_depth) {
        Ok(json) => json,
        Err(ParseError::Syntax {
            message,
            line,
            column,
        }) => {
            ck.problems.push(
                Problem::new(
                    Code::InvalidDocument,
                    String::new(),
                    format!("not JSON: {message} at line {line} column {column}"),
                )
                .at_position(line, column),
            );
            return Err(ck.into_error());
        }
        Err(ParseError::TooDeep {
            max_depth,
            line,
            column,
        }) => {
            ck.problems.push(
                Problem::new(
                    Code::LimitExceeded,
                    String::new(),
                    format!(
                        "JSON nested more than {max_depth} levels deep at line {line} column {column}"
                    ),
                )
                .at_position(line, column),
            );
            return Err(ck.into_error());
        }
    };
    let parsed = ck.document(&json);
    match parsed {
        Some((document, policies)) if ck.problems.is_empty() => Ok(Loaded {
            document,
            policies,
            attributes: ck.attributes,
            warnings: ck.warnings,
        }),
        _ => Err(ck.into_error()),
    }
}

mod document;
mod path;
mod policy;
mod shape;
mod targeting;

use document::{Directory, Kind};
use path::Path;
use shape::{member, Obj};

/// What the connectors declare, for checking references to them.
struct ConnectorRef<'j> {
    tools: FxHashSet<&'j str>,
    tool_order: Vec<&'j str>,
    /// False when its tool list could not be read in full: references to its tools are then
    /// not checked, so one problem is not reported twice.
    complete: bool,
}

struct Checker<'l> {
    limits: &'l Limits,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    dropped: usize,
    /// Distinct attribute names, interned: conditions refer to them by index.
    attributes: Vec<Attribute>,
    attribute_ids: FxHashMap<Box<str>, u32>,
    regexes: condition::Shared,
}

const DOCUMENT_FIELDS: &[&str] = &[
    "version",
    "step_up",
    "connectors",
    "groups",
    "users",
    "approval_flows",
    "policies",
];
const CONNECTOR_FIELDS: &[&str] = &["id", "name", "enabled", "tools"];
const TOOL_FIELDS: &[&str] = &["name", "title", "description", "enabled"];
const GROUP_FIELDS: &[&str] = &["id", "name", "description"];
const USER_FIELDS: &[&str] = &["id", "name", "email", "groups"];
const FLOW_FIELDS: &[&str] = &[
    "id",
    "name",
    "steps",
    "grant_ttl",
    "timeout",
    "allow_self_approval",
    "bind_arguments",
];
const STEP_UP_FIELDS: &[&str] = &["max_age", "acr_values"];
/// The largest number of seconds a duration field holds (SPEC §7.1, §8.1).
const MAX_SECONDS: u64 = 2_147_483_647;
const STEP_FIELDS: &[&str] = &["users", "groups", "min_approvals"];
const POLICY_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "connector",
    "action",
    "all_users",
    "users",
    "groups",
    "tools",
    "targeting",
    "approval_flow",
    "step_up",
];
const SELECTOR_FIELDS: &[&str] = &["all", "include", "exclude"];
const TARGETING_FIELDS: &[&str] = &["rules", "otherwise"];
const RULE_FIELDS: &[&str] = &["conditions"];
const CONDITION_FIELDS: &[&str] = &["attribute", "operator", "values", "negate", "ignore_case"];

/// The most problems one load reports; past it, one `limit_exceeded` says how many were left out.
const MAX_PROBLEMS: usize = 1000;

/// A policy description's bound, in Unicode scalar values.
const MAX_DESCRIPTION_CHARS: usize = 160;

impl<'l> Checker<'l> {
    fn new(limits: &'l Limits) -> Self {
        Checker {
            limits,
            problems: Vec::new(),
            warnings: Vec::new(),
            dropped: 0,
            attributes: Vec::new(),
            attribute_ids: FxHashMap::default(),
            regexes: condition::Shared::default(),
        }
    }

    fn into_error(mut self) -> LoadError {
        if self.dropped > 0 {
            self.problems.push(Problem::new(
                Code::LimitExceeded,
                String::new(),
                format!(
                    "{} more problems were found and not listed (at most {MAX_PROBLEMS} are)",
                    self.dropped
                ),
            ));
        }
        LoadError::new(self.problems, self.warnings)
    }

    fn error(&mut self, code: Code, path: &Path<'_>, message: String) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.dropped += 1;
        } else {
            self.problems
                .push(Problem::new(code, path.render(), message));
        }
    }

    fn warn(&mut self, code: Code, path: &Path<'_>, message: String) {
        if self.warnings.len() < MAX_PROBLEMS {
            self.warnings
                .push(Problem::new(code, path.render(), message));
        }
    }

    fn invalid(&mut self, path: &Path<'_>, message: String) {
        self.error(Code::InvalidDocument, path, message);
    }

    fn intern_attribute(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.attribute_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.attributes.len()).unwrap_or(u32::MAX);
        self.attributes.push(Attribute::new(name));
        self.attribute_ids.insert(name.into(), id);
        id
    }

    fn push_rendered(&mut self, code: Code, path: String, message: String) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.dropped += 1;
        } else {
            self.problems.push(Problem::new(code, path, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shape::{closest, distance};
    use super::*;

    #[test]
    fn misspelt_fields_get_a_hint() {
        assert_eq!(closest("acton", POLICY_FIELDS), Some("action"));
        assert_eq!(closest("zzzzzz", POLICY_FIELDS), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn paths_escape_their_tokens() {
        let root = Path::Root;
        let a = root.key("policies");
        let b = a.index(3);
        let c = b.key("a/b~c");
        assert_eq!(c.render(), "/policies/3/a~1b~0c");
        assert_eq!(root.render(), "");
    }
}
