//! Loading: JSON text → validated [`Document`] and compiled targeting, or every problem
//! (SPEC §5).
//!
//! The walk never stops at the first problem: each part is checked as far as it can be, a
//! problem is recorded with the JSON Pointer of the value it is about, and the document is
//! accepted only when none was found.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::condition::{self, At, Attribute, CompiledCondition};
use crate::decision::Action;
use crate::error::{escape_token, Code, LoadError, Problem};
use crate::json::{self, brief_str, Json, ParseError};
use crate::limits::Limits;
use crate::model::{
    ApprovalFlow, ApprovalStep, Condition, Connector, Document, Group, Operator, Otherwise, Policy,
    Rule, Scope, StepUp, Targeting, Tool, ToolSelector, User,
};

/// The compiled rules of one policy's targeting; `None` when it has none (or `rules: []`).
pub(crate) type CompiledRules = Option<Box<[Box<[CompiledCondition]>]>>;

/// A document that loaded: the model, the compiled rules of each policy (same order), warnings.
pub(crate) struct Loaded {
    pub(crate) document: Document,
    pub(crate) rules: Vec<CompiledRules>,
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
        Some((document, rules)) if ck.problems.is_empty() => Ok(Loaded {
            document,
            rules,
            attributes: ck.attributes,
            warnings: ck.warnings,
        }),
        _ => Err(ck.into_error()),
    }
}

/// A JSON Pointer being walked, kept on the stack and rendered only when a problem needs it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(out);
                out.push('/');
                escape_token(key, out);
            }
            Path::Index(parent, i) => {
                parent.render_into(out);
                out.push('/');
                out.push_str(&i.to_string());
            }
        }
    }
}

/// The members of a JSON object, once unknown and repeated fields have been reported.
struct Obj<'j> {
    members: &'j [(std::borrow::Cow<'j, str>, Json<'j>)],
}

impl<'j> Obj<'j> {
    /// The member named `name`. Of repeated members (already reported) the last is read, as
    /// JSON parsers in JavaScript, Python and serde_json do, so that the paths of problems
    /// inside it resolve in their view of the document too.
    fn get(&self, name: &str) -> Option<&'j Json<'j>> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

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

    // ---- JSON shapes -------------------------------------------------------------------------

    fn object<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        what: &str,
        fields: &[&str],
    ) -> Option<Obj<'j>> {
        let Json::Object(members) = json else {
            self.invalid(
                path,
                format!("{what} must be an object, not {}", json.kind()),
            );
            return None;
        };
        let mut seen = 0u32;
        for (key, _) in members {
            let field_path = path.key(key);
            match fields.iter().position(|f| f == key) {
                None => {
                    let hint = closest(key, fields)
                        .map(|f| format!("; did you mean `{f}`?"))
                        .unwrap_or_default();
                    self.invalid(
                        &field_path,
                        format!("unknown field `{key}` in {what}{hint}"),
                    );
                }
                Some(i) => {
                    let bit = 1u32 << i;
                    if seen & bit != 0 {
                        self.invalid(
                            &field_path,
                            format!("field `{key}` appears more than once in {what}"),
                        );
                    }
                    seen |= bit;
                }
            }
        }
        Some(Obj { members })
    }

    fn required<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j Json<'j>> {
        let v = obj.get(name);
        if v.is_none() {
            self.invalid(path, format!("missing required field `{name}` in {what}"));
        }
        v
    }

    /// A string, possibly empty.
    fn text<'j>(&mut self, json: &'j Json<'j>, path: &Path<'_>, what: &str) -> Option<&'j str> {
        match json {
            Json::String(s) => Some(s),
            other => {
                self.invalid(
                    path,
                    format!("{what} must be a string, not {}", other.brief()),
                );
                None
            }
        }
    }

    /// An id or name: a non-empty string.
    fn id<'j>(&mut self, json: &'j Json<'j>, path: &Path<'_>, what: &str) -> Option<&'j str> {
        let s = self.text(json, path, what)?;
        if s.is_empty() {
            self.invalid(path, format!("{what} must not be empty"));
            return None;
        }
        Some(s)
    }

    fn optional_id<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j str> {
        let v = obj.get(name)?;
        self.id(v, &path.key(name), what)
    }

    fn optional_text<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j str> {
        let v = obj.get(name)?;
        self.text(v, &path.key(name), what)
    }

    fn boolean(&mut self, obj: &Obj<'_>, name: &str, path: &Path<'_>, default: bool) -> bool {
        match obj.get(name) {
            None => default,
            Some(Json::Bool(b)) => *b,
            Some(other) => {
                self.invalid(
                    &path.key(name),
                    format!("`{name}` must be true or false, not {}", other.brief()),
                );
                default
            }
        }
    }

    fn array<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j [Json<'j>]> {
        match json {
            Json::Array(items) => Some(items),
            other => {
                self.invalid(path, format!("{what} must be a list, not {}", other.kind()));
                None
            }
        }
    }

    /// An optional list of ids; bad entries are reported and left out.
    fn id_list<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Vec<(usize, &'j str)> {
        let Some(v) = obj.get(name) else {
            return Vec::new();
        };
        let list_path = path.key(name);
        let Some(items) = self.array(v, &list_path, &format!("`{name}`")) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.id(item, &list_path.index(i), what).map(|s| (i, s)))
            .collect()
    }

    /// Reports `duplicate_id` at every later occurrence of an id.
    fn unique<'j>(
        &mut self,
        seen: &mut FxHashSet<&'j str>,
        id: &'j str,
        path: &Path<'_>,
        what: &str,
    ) {
        if !seen.insert(id) {
            self.error(
                Code::DuplicateId,
                path,
                format!("{what} `{id}` is defined more than once"),
            );
        }
    }

    // ---- the document ------------------------------------------------------------------------

    fn document(&mut self, json: &Json<'_>) -> Option<(Document, Vec<CompiledRules>)> {
        let root = Path::Root;
        let obj = self.object(json, &root, "the document", DOCUMENT_FIELDS)?;

        if let Some(v) = obj.get("version") {
            let path = root.key("version");
            match v {
                Json::Number(n) if n.as_u64() == Some(1) => {}
                Json::Null => {
                    self.invalid(&path, "`version` must be the integer 1, not null".into())
                }
                other => {
                    self.error(
                        Code::UnsupportedVersion,
                        &path,
                        format!(
                            "unsupported version {}, this engine reads version 1",
                            other.brief()
                        ),
                    );
                    // The rest is in a format this engine does not know: its problems would be noise.
                    return None;
                }
            }
        }

        let step_up = obj
            .get("step_up")
            .and_then(|v| self.step_up(v, &root.key("step_up")));

        let connectors_json = self.required(&obj, "connectors", &root, "the document");
        let mut connectors = Vec::new();
        let mut connector_refs: FxHashMap<&str, ConnectorRef<'_>> = FxHashMap::default();
        if let Some(v) = connectors_json {
            let path = root.key("connectors");
            let mut seen = FxHashSet::default();
            for (i, item) in self
                .array(v, &path, "`connectors`")
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if let Some((c, r)) = self.connector(item, &path.index(i), &mut seen) {
                    connector_refs.entry(r.0).or_insert(r.1);
                    connectors.push(c);
                }
            }
        }

        let groups = self.list(&obj, "groups", &root, Self::group);
        let users = self.list(&obj, "users", &root, Self::user);
        let flows = self.list(&obj, "approval_flows", &root, Self::flow);

        let directory = Directory {
            users: users.iter().map(|u| u.id.as_ref()).collect(),
            groups: groups.iter().map(|g| g.id.as_ref()).collect(),
            flows: flows.iter().map(|f| f.id.as_ref()).collect(),
        };
        self.flow_members(&obj, &root, &directory);

        let mut policies = Vec::new();
        let mut rules = Vec::new();
        if let Some(v) = obj.get("policies") {
            let path = root.key("policies");
            if let Some(items) = self.array(v, &path, "`policies`") {
                policies.reserve_exact(items.len().min(self.limits.max_policies));
                rules.reserve_exact(items.len().min(self.limits.max_policies));
                if items.len() > self.limits.max_policies {
                    self.error(
                        Code::LimitExceeded,
                        &path,
                        format!(
                            "{} policies, more than the limit of {}",
                            items.len(),
                            self.limits.max_policies
                        ),
                    );
                } else {
                    let mut seen = FxHashSet::default();
                    for (i, item) in items.iter().enumerate() {
                        let p = path.index(i);
                        if let Some((policy, compiled)) =
                            self.policy(item, &p, &mut seen, &connector_refs, &directory)
                        {
                            policies.push(policy);
                            rules.push(compiled);
                        }
                    }
                }
            }
        }

        Some((
            Document {
                version: 1,
                step_up,
                connectors,
                groups,
                users,
                approval_flows: flows,
                policies,
            },
            rules,
        ))
    }

    /// An optional top-level list of objects with unique ids.
    fn list<'j, T>(
        &mut self,
        obj: &Obj<'j>,
        name: &'static str,
        root: &Path<'_>,
        item: fn(&mut Self, &'j Json<'j>, &Path<'_>) -> Option<T>,
    ) -> Vec<T>
    where
        T: HasId,
    {
        let Some(v) = obj.get(name) else {
            return Vec::new();
        };
        let path = root.key(name);
        let Some(items) = self.array(v, &path, &format!("`{name}`")) else {
            return Vec::new();
        };
        let mut out: Vec<T> = Vec::with_capacity(items.len());
        let mut seen: FxHashSet<String> = FxHashSet::default();
        for (i, json) in items.iter().enumerate() {
            let p = path.index(i);
            if let Some(t) = item(self, json, &p) {
                if !seen.insert(t.id().to_owned()) {
                    self.error(
                        Code::DuplicateId,
                        &p.key("id"),
                        format!("{} `{}` is defined more than once", T::WHAT, t.id()),
                    );
                }
                out.push(t);
            }
        }
        out
    }

    fn connector<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        seen: &mut FxHashSet<&'j str>,
    ) -> Option<(Connector, (&'j str, ConnectorRef<'j>))> {
        let obj = self.object(json, path, "a connector", CONNECTOR_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "a connector")
            .and_then(|v| self.id(v, &path.key("id"), "a connector id"));
        let name = self.optional_id(&obj, "name", path, "a connector name");
        let enabled = self.boolean(&obj, "enabled", path, true);
        let mut tools = Vec::new();
        let mut reference = ConnectorRef {
            tools: FxHashSet::default(),
            tool_order: Vec::new(),
            complete: false,
        };
        if let Some(v) = self.required(&obj, "tools", path, "a connector") {
            let tools_path = path.key("tools");
            if let Some(items) = self.array(v, &tools_path, "`tools`") {
                if items.len() > self.limits.max_tools_per_connector {
                    self.error(
                        Code::LimitExceeded,
                        &tools_path,
                        format!(
                            "{} tools, more than the limit of {} per connector",
                            items.len(),
                            self.limits.max_tools_per_connector
                        ),
                    );
                } else {
                    reference.complete = true;
                    for (i, item) in items.iter().enumerate() {
                        let p = tools_path.index(i);
                        let Some((tool, name)) = self.tool(item, &p) else {
                            reference.complete = false;
                            continue;
                        };
                        {
                            if reference.tools.insert(name) {
                                reference.tool_order.push(name);
                            } else {
                                self.error(
                                    Code::DuplicateId,
                                    &p.key("name"),
                                    format!(
                                        "tool `{name}` is defined more than once in this connector"
                                    ),
                                );
                            }
                            tools.push(tool);
                        }
                    }
                }
            }
        }
        let id = id?;
        self.unique(seen, id, &path.key("id"), "connector");
        Some((
            Connector {
                id: id.into(),
                name: name.unwrap_or(id).into(),
                enabled,
                tools,
            },
            (id, reference),
        ))
    }

    fn tool<'j>(&mut self, json: &'j Json<'j>, path: &Path<'_>) -> Option<(Tool, &'j str)> {
        let obj = self.object(json, path, "a tool", TOOL_FIELDS)?;
        let name = self
            .required(&obj, "name", path, "a tool")
            .and_then(|v| self.id(v, &path.key("name"), "a tool name"));
        let title = self.optional_text(&obj, "title", path, "a tool title");
        let description = self.optional_text(&obj, "description", path, "a tool description");
        let enabled = self.boolean(&obj, "enabled", path, true);
        let name = name?;
        Some((
            Tool {
                name: name.into(),
                title: title.map(Box::from),
                description: description.map(Box::from),
                enabled,
            },
            name,
        ))
    }

    fn group(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<Group> {
        let obj = self.object(json, path, "a group", GROUP_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "a group")
            .and_then(|v| self.id(v, &path.key("id"), "a group id"));
        let name = self.optional_id(&obj, "name", path, "a group name");
        let description = self.optional_text(&obj, "description", path, "a group description");
        Some(Group {
            id: id?.into(),
            name: name.map(Box::from),
            description: description.map(Box::from),
        })
    }

    fn user(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<User> {
        let obj = self.object(json, path, "a user", USER_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "a user")
            .and_then(|v| self.id(v, &path.key("id"), "a user id"));
        let name = self.optional_id(&obj, "name", path, "a user name");
        let email = self.optional_text(&obj, "email", path, "a user email");
        let groups = self.id_list(&obj, "groups", path, "a group id");
        Some(User {
            id: id?.into(),
            name: name.map(Box::from),
            email: email.map(Box::from),
            groups: groups.into_iter().map(|(_, g)| Box::from(g)).collect(),
        })
    }

    fn flow(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<ApprovalFlow> {
        let obj = self.object(json, path, "an approval flow", FLOW_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "an approval flow")
            .and_then(|v| self.id(v, &path.key("id"), "an approval flow id"));
        let name = self.optional_id(&obj, "name", path, "an approval flow name");
        let mut steps = Vec::new();
        if let Some(v) = self.required(&obj, "steps", path, "an approval flow") {
            let steps_path = path.key("steps");
            for (i, item) in self
                .array(v, &steps_path, "`steps`")
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let p = steps_path.index(i);
                let Some(step) = self.object(item, &p, "an approval step", STEP_FIELDS) else {
                    continue;
                };
                let users = self.id_list(&step, "users", &p, "a user id");
                let groups = self.id_list(&step, "groups", &p, "a group id");
                let min_approvals = match step.get("min_approvals") {
                    None => 1,
                    Some(Json::Number(n)) if n.as_u64().is_some_and(|m| m >= 1) => {
                        n.as_u64().unwrap_or(1)
                    }
                    Some(other) => {
                        self.invalid(
                            &p.key("min_approvals"),
                            format!(
                                "`min_approvals` must be an integer of at least 1, not {}",
                                other.brief()
                            ),
                        );
                        1
                    }
                };
                steps.push(ApprovalStep {
                    users: users.into_iter().map(|(_, u)| Box::from(u)).collect(),
                    groups: groups.into_iter().map(|(_, g)| Box::from(g)).collect(),
                    min_approvals,
                });
            }
        }
        let grant_ttl = match obj.get("grant_ttl") {
            None => Some(3600),
            Some(v) => self.seconds(v, &path.key("grant_ttl"), "`grant_ttl`", 1),
        };
        let timeout = match obj.get("timeout") {
            None | Some(Json::Null) => Some(None),
            Some(v) => self
                .seconds(v, &path.key("timeout"), "`timeout`", 1)
                .map(Some),
        };
        let allow_self_approval = self.boolean(&obj, "allow_self_approval", path, false);
        let bind_arguments = self.boolean(&obj, "bind_arguments", path, true);
        let flow = ApprovalFlow {
            id: id?.into(),
            name: name.map(Box::from),
            steps,
            grant_ttl: grant_ttl?,
            timeout: timeout?,
            allow_self_approval,
            bind_arguments,
        };
        if flow.steps.is_empty() {
            self.warn(
                Code::FlowCannotApprove,
                path,
                format!(
                    "approval flow `{}` has no steps: it can never approve",
                    flow.id
                ),
            );
        }
        for (i, step) in flow.steps.iter().enumerate() {
            if step.users.is_empty() && step.groups.is_empty() {
                self.warn(
                    Code::FlowCannotApprove,
                    &path.key("steps").index(i),
                    format!(
                        "step {i} of approval flow `{}` names no users and no groups: \
                         the flow can never approve",
                        flow.id
                    ),
                );
            }
        }
        Some(flow)
    }

    /// A duration in whole seconds, from `min` to 2,147,483,647.
    fn seconds(&mut self, json: &Json<'_>, path: &Path<'_>, what: &str, min: u64) -> Option<u32> {
        match json {
            Json::Number(n) => {
                if let Some(v) = n
                    .as_u64()
                    .filter(|v| (min..=MAX_SECONDS).contains(v))
                    .and_then(|v| u32::try_from(v).ok())
                {
                    return Some(v);
                }
                self.invalid(
                    path,
                    format!(
                        "{what} must be an integer number of seconds from {min} to {MAX_SECONDS}, \
                         not {}",
                        json.brief()
                    ),
                );
            }
            other => self.invalid(
                path,
                format!(
                    "{what} must be an integer number of seconds, not {}",
                    other.brief()
                ),
            ),
        }
        None
    }

    /// A `step_up` freshness object (SPEC §7.1), on the document or on a policy.
    fn step_up(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<StepUp> {
        let obj = self.object(json, path, "`step_up`", STEP_UP_FIELDS)?;
        let mut ok = true;
        let max_age = match obj.get("max_age") {
            None => None,
            Some(v) => {
                let seconds = self.seconds(v, &path.key("max_age"), "`max_age`", 0);
                ok &= seconds.is_some();
                seconds
            }
        };
        let acr_values = match obj.get("acr_values") {
            None => None,
            Some(v) => {
                let list_path = path.key("acr_values");
                match self.array(v, &list_path, "`acr_values`") {
                    None => {
                        ok = false;
                        None
                    }
                    Some(items) => {
                        let mut values: Vec<Box<str>> = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            let p = list_path.index(i);
                            match self.id(item, &p, "an `acr_values` entry") {
                                None => ok = false,
                                Some(acr) if values.iter().any(|v| &**v == acr) => {
                                    ok = false;
                                    self.invalid(
                                        &p,
                                        format!("`acr_values` lists `{acr}` more than once"),
                                    );
                                }
                                Some(acr) => values.push(acr.into()),
                            }
                        }
                        Some(values)
                    }
                }
            }
        };
        ok.then_some(StepUp {
            max_age,
            acr_values,
        })
    }

    /// Warns about approvers absent from the directory.
    fn flow_members(&mut self, obj: &Obj<'_>, root: &Path<'_>, directory: &Directory<'_>) {
        let Some(Json::Array(flows)) = obj.get("approval_flows") else {
            return;
        };
        let flows_path = root.key("approval_flows");
        for (i, flow) in flows.iter().enumerate() {
            let Json::Object(_) = flow else { continue };
            let flow_path = flows_path.index(i);
            let Some(Json::Array(steps)) = member(flow, "steps") else {
                continue;
            };
            let steps_path = flow_path.key("steps");
            for (k, step) in steps.iter().enumerate() {
                let step_path = steps_path.index(k);
                for (field, kind) in [("users", Kind::User), ("groups", Kind::Group)] {
                    if let Some(Json::Array(ids)) = member(step, field) {
                        let list_path = step_path.key(field);
                        for (j, id) in ids.iter().enumerate() {
                            if let Json::String(id) = id {
                                self.check_known(directory, kind, id, &list_path.index(j));
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_known(&mut self, directory: &Directory<'_>, kind: Kind, id: &str, path: &Path<'_>) {
        let (known, code, what, list) = match kind {
            Kind::User => (&directory.users, Code::UnknownUser, "user", "users"),
            Kind::Group => (&directory.groups, Code::UnknownGroup, "group", "groups"),
        };
        if !known.is_empty() && !known.contains(id) {
            self.warn(
                code,
                path,
                format!("{what} `{id}` is not in the document's `{list}`"),
            );
        }
    }

    fn policy<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        seen: &mut FxHashSet<&'j str>,
        connectors: &FxHashMap<&str, ConnectorRef<'_>>,
        directory: &Directory<'_>,
    ) -> Option<(Policy, CompiledRules)> {
        const WHAT: &str = "a policy";
        let obj = self.object(json, path, WHAT, POLICY_FIELDS)?;

        let id = self
            .required(&obj, "id", path, WHAT)
            .and_then(|v| self.id(v, &path.key("id"), "a policy id"));
        if let Some(id) = id {
            self.unique(seen, id, &path.key("id"), "policy");
        }

        let name = self
            .required(&obj, "name", path, WHAT)
            .and_then(|v| self.text(v, &path.key("name"), "a policy name"));
        if let Some(n) = name {
            if n.trim().is_empty() {
                self.error(
                    Code::EmptyName,
                    &path.key("name"),
                    format!("policy name {} has no visible character", brief_str(n)),
                );
            }
        }

        let description = self
            .optional_text(&obj, "description", path, "a policy description")
            .unwrap_or_default();
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            self.error(
                Code::DescriptionTooLong,
                &path.key("description"),
                format!(
                    "description {} has {chars} characters, more than {MAX_DESCRIPTION_CHARS}",
                    brief_str(description)
                ),
            );
        }

        let connector_id = self
            .required(&obj, "connector", path, WHAT)
            .and_then(|v| self.id(v, &path.key("connector"), "a policy's connector"));
        let connector = connector_id.and_then(|c| {
            let found = connectors.get(c);
            if found.is_none() {
                self.error(
                    Code::UnknownConnector,
                    &path.key("connector"),
                    format!("unknown connector `{c}`"),
                );
            }
            found
        });

        let action = self.required(&obj, "action", path, WHAT).and_then(|v| {
            let p = path.key("action");
            let name = self.text(v, &p, "`action`")?;
            let action = Action::parse(name);
            if action.is_none() {
                self.invalid(
                    &p,
                    format!(
                        "unknown action {}, expected allow, step_up, request_approval or deny",
                        brief_str(name)
                    ),
                );
            }
            action
        });

        let all_users = self.boolean(&obj, "all_users", path, false);
        let users = self.id_list(&obj, "users", path, "a user id");
        let groups = self.id_list(&obj, "groups", path, "a group id");
        for (j, u) in &users {
            self.check_known(directory, Kind::User, u, &path.key("users").index(*j));
        }
        for (j, g) in &groups {
            self.check_known(directory, Kind::Group, g, &path.key("groups").index(*j));
        }

        let checkable = connector.filter(|c| c.complete);
        let tools = self
            .required(&obj, "tools", path, WHAT)
            .and_then(|v| self.selector(v, &path.key("tools"), connector_id.zip(checkable)));

        let targeting = match obj.get("targeting") {
            None => Some(None),
            Some(v) => self.targeting(v, &path.key("targeting")).map(Some),
        };

        let approval_flow = match obj.get("approval_flow") {
            None | Some(Json::Null) => None,
            Some(v) => {
                let p = path.key("approval_flow");
                let flow = self.id(v, &p, "`approval_flow`");
                if let Some(f) = flow {
                    if !directory.flows.contains(f) {
                        self.error(
                            Code::UnknownApprovalFlow,
                            &p,
                            format!("unknown approval flow `{f}`"),
                        );
                    }
                }
                flow
            }
        };

        let step_up = match obj.get("step_up") {
            None => Some(None),
            Some(v) => self.step_up(v, &path.key("step_up")).map(Some),
        };

        let (targeting, compiled) = targeting?.map_or((None, None), |(t, c)| (Some(t), c));
        Some((
            Policy {
                id: id?.into(),
                name: name?.into(),
                description: description.into(),
                connector: connector_id?.into(),
                action: action?,
                scope: Scope {
                    all_users,
                    users: users.into_iter().map(|(_, u)| Box::from(u)).collect(),
                    groups: groups.into_iter().map(|(_, g)| Box::from(g)).collect(),
                },
                tools: tools?,
                targeting,
                approval_flow: approval_flow.map(Box::from),
                step_up: step_up?,
            },
            compiled,
        ))
    }

    fn selector(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
        connector: Option<(&str, &ConnectorRef<'_>)>,
    ) -> Option<ToolSelector> {
        let mut selector = ToolSelector {
            all: false,
            include: Vec::new(),
            exclude: Vec::new(),
        };
        let mut ok = true;
        match json {
            Json::String(s) if s == "all" => selector.all = true,
            Json::Array(items) => {
                selector.include = self.tool_names(items, path, connector, &mut ok);
            }
            Json::Object(_) => {
                let obj = self.object(json, path, "a tool selector", SELECTOR_FIELDS)?;
                selector.all = self.boolean(&obj, "all", path, false);
                for (field, list) in [
                    ("include", &mut selector.include),
                    ("exclude", &mut selector.exclude),
                ] {
                    if let Some(v) = obj.get(field) {
                        let p = path.key(field);
                        match self.array(v, &p, &format!("`{field}`")) {
                            Some(items) => *list = self.tool_names(items, &p, connector, &mut ok),
                            None => ok = false,
                        }
                    }
                }
            }
            other => {
                self.invalid(
                    path,
                    format!(
                        "`tools` must be \"all\", a list of tool names or an object, not {}",
                        other.brief()
                    ),
                );
                return None;
            }
        }
        if let Some((id, c)) = connector {
            if ok && !c.tool_order.iter().any(|t| selector.selects(t)) {
                self.warn(
                    Code::GovernsNothing,
                    path,
                    format!("this selector selects no tool of connector `{id}`"),
                );
            }
        }
        Some(selector)
    }

    fn tool_names(
        &mut self,
        items: &[Json<'_>],
        path: &Path<'_>,
        connector: Option<(&str, &ConnectorRef<'_>)>,
        ok: &mut bool,
    ) -> Vec<Box<str>> {
        let mut names = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = path.index(i);
            let Some(name) = self.id(item, &p, "a tool name") else {
                *ok = false;
                continue;
            };
            if let Some((id, c)) = connector {
                if !c.tools.contains(name) {
                    *ok = false;
                    self.error(
                        Code::UnknownTool,
                        &p,
                        format!("unknown tool `{name}` in connector `{id}`"),
                    );
                }
            }
            names.push(Box::from(name));
        }
        names
    }

    fn targeting(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
    ) -> Option<(Targeting, CompiledRules)> {
        let obj = self.object(json, path, "a targeting", TARGETING_FIELDS)?;
        let otherwise = match obj.get("otherwise") {
            None => Some(Otherwise::Serve(Action::Deny)),
            Some(v) => {
                let p = path.key("otherwise");
                self.text(v, &p, "`otherwise`").and_then(|s| {
                    let o = Otherwise::parse(s);
                    if o.is_none() {
                        self.invalid(
                            &p,
                            format!(
                                "unknown otherwise {}, expected allow, step_up, request_approval, deny or none",
                                brief_str(s)
                            ),
                        );
                    }
                    o
                })
            }
        };
        let rules_json = self.required(&obj, "rules", path, "a targeting")?;
        let rules_path = path.key("rules");
        let items = self.array(rules_json, &rules_path, "`rules`")?;
        if items.len() > self.limits.max_rules {
            self.error(
                Code::LimitExceeded,
                &rules_path,
                format!(
                    "{} rules, more than the limit of {}",
                    items.len(),
                    self.limits.max_rules
                ),
            );
            return None;
        }
        let mut rules = Vec::with_capacity(items.len());
        let mut compiled = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.rule(item, &rules_path.index(i)) {
                Some((r, c)) => {
                    rules.push(r);
                    compiled.push(c);
                }
                None => ok = false,
            }
        }
        let otherwise = otherwise?;
        if !ok {
            return None;
        }
        let compiled = (!compiled.is_empty()).then(|| compiled.into_boxed_slice());
        Some((Targeting { rules, otherwise }, compiled))
    }

    fn rule(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
    ) -> Option<(Rule, Box<[CompiledCondition]>)> {
        let obj = self.object(json, path, "a rule", RULE_FIELDS)?;
        let v = self.required(&obj, "conditions", path, "a rule")?;
        let p = path.key("conditions");
        let items = self.array(v, &p, "`conditions`")?;
        if items.is_empty() {
            self.error(
                Code::InvalidTargeting,
                &p,
                "a rule needs at least one condition".into(),
            );
            return None;
        }
        if items.len() > self.limits.max_conditions {
            self.error(
                Code::LimitExceeded,
                &p,
                format!(
                    "{} conditions, more than the limit of {} per rule",
                    items.len(),
                    self.limits.max_conditions
                ),
            );
            return None;
        }
        let mut conditions = Vec::with_capacity(items.len());
        let mut compiled = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.condition(item, &p.index(i)) {
                Some((c, cc)) => {
                    conditions.push(c);
                    compiled.push(cc);
                }
                None => ok = false,
            }
        }
        ok.then(|| (Rule { conditions }, compiled.into_boxed_slice()))
    }

    fn condition(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
    ) -> Option<(Condition, CompiledCondition)> {
        const WHAT: &str = "a condition";
        let obj = self.object(json, path, WHAT, CONDITION_FIELDS)?;
        let attribute = self.required(&obj, "attribute", path, WHAT).and_then(|v| {
            let p = path.key("attribute");
            let name = self.id(v, &p, "`attribute`")?;
            let segments = name.split('.').count();
            if segments > self.limits.max_attribute_segments {
                self.error(
                    Code::LimitExceeded,
                    &p,
                    format!(
                        "attribute {} has {segments} segments, more than the limit of {}",
                        brief_str(name),
                        self.limits.max_attribute_segments
                    ),
                );
                return None;
            }
            Some(name)
        });
        let operator = self.required(&obj, "operator", path, WHAT).and_then(|v| {
            let p = path.key("operator");
            let name = self.text(v, &p, "`operator`")?;
            let op = Operator::parse(name);
            if op.is_none() {
                self.error(
                    Code::InvalidCondition,
                    &p,
                    format!(
                        "unknown operator {}, expected one of {}",
                        brief_str(name),
                        Operator::ALL.map(Operator::as_str).join(", ")
                    ),
                );
            }
            op
        });
        let negate = self.boolean(&obj, "negate", path, false);
        let ignore_case = self.boolean(&obj, "ignore_case", path, false);
        let values_path = path.key("values");
        let values: Option<&[Json<'_>]> = match obj.get("values") {
            None => Some(&[]),
            Some(v) => self.array(v, &values_path, "`values`"),
        };

        let op = operator?;
        let mut ok = true;
        if ignore_case && !op.takes_ignore_case() {
            self.error(
                Code::InvalidCondition,
                &path.key("ignore_case"),
                format!("`ignore_case` does not apply to `{op}`"),
            );
            ok = false;
        }
        let values = values?;
        if op == Operator::Exists {
            if !values.is_empty() {
                self.error(
                    Code::InvalidCondition,
                    &values_path,
                    "`exists` takes no values".into(),
                );
                ok = false;
            }
        } else if values.is_empty() {
            // No `values` at all points at the condition that lacks them, like any missing
            // field; an empty list points at the list.
            let at = if obj.get("values").is_some() {
                &values_path
            } else {
                path
            };
            self.error(
                Code::InvalidCondition,
                at,
                format!("`{op}` needs at least one value"),
            );
            ok = false;
        } else if values.len() > self.limits.max_values {
            self.error(
                Code::LimitExceeded,
                &values_path,
                format!(
                    "{} values, more than the limit of {}",
                    values.len(),
                    self.limits.max_values
                ),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        let test = match condition::compile(op, values, ignore_case, self.limits, &mut self.regexes)
        {
            Ok(test) => Some(test),
            Err(errors) => {
                for e in errors {
                    let p = match e.at {
                        At::Values => values_path,
                        At::Value(i) => values_path.index(i),
                    };
                    // `values_path.index` borrows `values_path`; render before it goes.
                    let rendered = p.render();
                    self.push_rendered(e.code, rendered, e.message);
                }
                None
            }
        };
        let attribute = attribute?;
        let test = test?;
        Some((
            Condition {
                attribute: attribute.into(),
                operator: op,
                values: values.iter().map(Json::to_value).collect(),
                negate,
                ignore_case,
            },
            CompiledCondition {
                attribute: self.intern_attribute(attribute),
                test,
                negate,
            },
        ))
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

/// Things listed with unique ids at the top of a document.
trait HasId {
    const WHAT: &'static str;
    fn id(&self) -> &str;
}

impl HasId for Group {
    const WHAT: &'static str = "group";
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for User {
    const WHAT: &'static str = "user";
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for ApprovalFlow {
    const WHAT: &'static str = "approval flow";
    fn id(&self) -> &str {
        &self.id
    }
}

/// The ids the directory declares, for reference checks.
struct Directory<'d> {
    users: FxHashSet<&'d str>,
    groups: FxHashSet<&'d str>,
    flows: FxHashSet<&'d str>,
}

#[derive(Clone, Copy)]
enum Kind {
    User,
    Group,
}

fn member<'j>(json: &'j Json<'j>, name: &str) -> Option<&'j Json<'j>> {
    match json {
        Json::Object(members) => members
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The allowed field nearest to a misspelt one (edit distance at most 2).
fn closest<'f>(key: &str, fields: &[&'f str]) -> Option<&'f str> {
    fields
        .iter()
        .map(|f| (distance(key, f), *f))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// Levenshtein distance, for short field names only.
fn distance(a: &str, b: &str) -> usize {
    if a.len() > 64 {
        return usize::MAX;
    }
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let value = (prev + usize::from(ca != *cb)).min(above + 1).min(left + 1);
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
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
