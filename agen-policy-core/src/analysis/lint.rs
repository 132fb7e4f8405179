//! Lint: findings about a loaded document, each with a severity, a stable code, a JSON
//! Pointer and a message. Only certain findings are reported: a claim about every request
//! rests on exact unsatisfiability, a claim that some request exists on a request built and
//! decided by the engine.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Map;

use super::solve::{Answer, Cond, Frame, Kind, Question};
use super::{views, Principal, RequestFrame, View};
use crate::condition::Outcome as CondOutcome;
use crate::decision::Action;
use crate::error::Code;
use crate::model::{Document, Otherwise, Scope};
use crate::request::Request;
use crate::set::PolicySet;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The document does not do what it says: a policy that can never apply.
    Error,
    /// Access wider than it looks.
    SecurityWarning,
    /// Probably a mistake.
    Warning,
    /// Could be clearer.
    Suggestion,
}

impl Severity {
    /// `error`, `security_warning`, `warning`, `suggestion`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::SecurityWarning => "security_warning",
            Severity::Warning => "warning",
            Severity::Suggestion => "suggestion",
        }
    }
}

macro_rules! lint_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $severity:ident;)*) => {
        /// A lint finding's stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum LintCode {
            $($(#[$doc])* $variant,)*
        }

        impl LintCode {
            /// Every code.
            pub const ALL: &'static [LintCode] = &[$(LintCode::$variant,)*];

            /// The code as written in reports.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(LintCode::$variant => $name,)*
                }
            }

            /// Its severity.
            pub const fn severity(self) -> Severity {
                match self {
                    $(LintCode::$variant => Severity::$severity,)*
                }
            }
        }
    };
}

lint_codes! {
    /// A policy that applies to no request: empty scope, only disabled tools, or targeting
    /// that never matches with `otherwise: none`.
    NeverApplies = "never_applies", Error;
    /// A policy that serves `request_approval` without an approval flow: never approvable.
    ApprovalWithoutFlow = "approval_without_flow", Error;
    /// An untargeted allow of every tool of a connector to every user.
    BroadAllow = "broad_allow", SecurityWarning;
    /// The only approver of a step is the requester, who may approve their own request.
    SelfApproval = "self_approval", SecurityWarning;
    /// A rule whose conditions can never all hold.
    RuleNeverMatches = "rule_never_matches", Warning;
    /// A rule that holds only when some attribute is a list of several values.
    RuleNeedsList = "rule_needs_list", Warning;
    /// A targeting none of whose rules can match: the policy always serves its `otherwise`.
    TargetingNeverMatches = "targeting_never_matches", Warning;
    /// A policy that never determines a decision: a more restrictive one always applies too.
    Shadowed = "shadowed", Warning;
    /// A targeted policy's `otherwise` overrides other policies' looser actions.
    OtherwiseOverrides = "otherwise_overrides", Warning;
    /// An enabled tool no policy governs: denied to everyone.
    UngovernedTool = "ungoverned_tool", Warning;
    /// Requests of a user can never pass a step: they are its only approver.
    RequesterOnlyApprover = "requester_only_approver", Warning;
    /// A step no user of the directory can approve.
    NoDirectoryApprover = "no_directory_approver", Warning;
    /// A policy or flow names a user absent from the directory (loader warning).
    UnknownUser = "unknown_user", Warning;
    /// A policy or flow names a group absent from the directory (loader warning).
    UnknownGroup = "unknown_group", Warning;
    /// A selector that selects no tool (loader warning).
    GovernsNothing = "governs_nothing", Warning;
    /// A flow that can never approve (loader warning).
    FlowCannotApprove = "flow_cannot_approve", Warning;
    /// A policy equivalent to another.
    Duplicate = "duplicate", Suggestion;
    /// `users` or `groups` kept while `all_users` is on, and so not enforced.
    ScopeIgnored = "scope_ignored", Suggestion;
    /// A user of the directory in a group the directory does not list.
    UserInUnknownGroup = "user_in_unknown_group", Suggestion;
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LintCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// Its stable code.
    pub code: LintCode,
    /// A JSON Pointer to what it is about.
    pub path: String,
    /// One lowercase line.
    pub message: String,
    /// The policies it concerns (the one at `path` first).
    pub policies: Vec<String>,
}

/// The findings about one document, most severe first, then by path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Lint {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Lint {
    /// The findings as text, one a line, user text passed through `esc`, then a count.
    pub fn to_text(&self, esc: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let path = if f.path.is_empty() {
                "the root"
            } else {
                &f.path
            };
            out.push_str(&format!(
                "{}: {} at {}: {}\n",
                f.severity.as_str(),
                f.code,
                esc(path),
                esc(&f.message)
            ));
        }
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        out.push_str(&format!(
            "{} errors, {} security warnings, {} warnings, {} suggestions\n",
            count(Severity::Error),
            count(Severity::SecurityWarning),
            count(Severity::Warning),
            count(Severity::Suggestion)
        ));
        out
    }
}

/// Built-in attributes free in their shape, context attributes free (or one scalar at most).
struct AnyRequest {
    scalar: bool,
}

impl Frame for AnyRequest {
    fn constant(&self, _c: Cond<'_>) -> Option<CondOutcome> {
        None
    }

    fn kind(&self, attribute: &str) -> Kind {
        match attribute {
            "user.id" | "connector.id" | "tool.name" => Kind::OneString,
            "user.email" | "user.name" => Kind::OptString,
            "user.groups" => Kind::StringList,
            _ if self.scalar => Kind::Scalar,
            _ => Kind::Any,
        }
    }
}

const ANY: AnyRequest = AnyRequest { scalar: false };

impl PolicySet {
    /// Lints the document: every finding, most severe first.
    ///
    /// ```
    /// use agen_policy_core::{LintCode, PolicySet};
    ///
    /// let set = PolicySet::from_json(r#"{
    ///   "connectors": [{ "id": "github", "tools": [{ "name": "create_issue" }] }],
    ///   "policies": [{ "id": "p", "name": "Nobody", "connector": "github",
    ///                  "action": "allow", "tools": ["create_issue"] }]
    /// }"#)?;
    /// let lint = set.lint();
    /// assert_eq!(lint.findings[0].code, LintCode::NeverApplies);
    /// assert_eq!(lint.findings[0].path, "/policies/0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lint(&self) -> Lint {
        let mut findings = Vec::new();
        let views = views(self);
        let doc = self.document();
        for w in self.warnings() {
            let code = match w.code() {
                Code::UnknownUser => LintCode::UnknownUser,
                Code::UnknownGroup => LintCode::UnknownGroup,
                Code::GovernsNothing => LintCode::GovernsNothing,
                Code::FlowCannotApprove => LintCode::FlowCannotApprove,
                _ => continue,
            };
            findings.push(finding(
                code,
                w.path().to_owned(),
                w.message().to_owned(),
                &[],
            ));
        }
        let mut dead: BTreeSet<usize> = BTreeSet::new();
        for (i, v) in views.iter().enumerate() {
            if policy_alone(self, v, &mut findings) {
                dead.insert(i);
            }
        }
        for (i, p) in views.iter().enumerate() {
            if dead.contains(&i) {
                continue;
            }
            let mut shadows = Vec::new();
            for (j, q) in views.iter().enumerate() {
                if i == j || dead.contains(&j) || p.model.connector != q.model.connector {
                    continue;
                }
                if duplicates(doc, p, q) {
                    // Reported once, on the later of the two.
                    if j < i {
                        findings.push(finding(
                            LintCode::Duplicate,
                            pointer(p),
                            format!(
                                "policy `{}` is equivalent to `{}`: same scope, tools and served actions",
                                p.model.id, q.model.id
                            ),
                            &[&p.model.id, &q.model.id],
                        ));
                    }
                } else if shadowed_by(doc, p, q) {
                    shadows.push(&*q.model.id);
                }
            }
            if !shadows.is_empty() {
                let mut ids = vec![&*p.model.id];
                ids.extend(&shadows);
                findings.push(finding(
                    LintCode::Shadowed,
                    pointer(p),
                    format!(
                        "policy `{}` never determines a decision without evidence: wherever it applies, {} serve{} a more restrictive action",
                        p.model.id,
                        quoted(&shadows),
                        if shadows.len() == 1 { "s" } else { "" }
                    ),
                    &ids,
                ));
            }
            overrides(self, &views, p, &mut findings);
        }
        directory(self, &views, &mut findings);
        findings.sort_by(|a, b| (a.severity, &a.path, a.code).cmp(&(b.severity, &b.path, b.code)));
        findings.dedup();
        Lint { findings }
    }
}

fn finding(code: LintCode, path: String, message: String, policies: &[&str]) -> Finding {
    Finding {
        severity: code.severity(),
        code,
        path,
        message,
        policies: policies.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn pointer(v: &View<'_>) -> String {
    format!("/policies/{}", v.compiled.source)
}

fn quoted(ids: &[&str]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope_empty(s: &Scope) -> bool {
    !s.all_users && s.users.is_empty() && s.groups.is_empty()
}

/// The enabled tools a policy governs (none when its connector is disabled).
fn governed(doc: &Document, v: &View<'_>) -> BTreeSet<String> {
    doc.connectors
        .iter()
        .filter(|c| c.id == v.model.connector && c.enabled)
        .flat_map(|c| c.tools.iter())
        .filter(|t| t.enabled && v.model.tools.selects(&t.name))
        .map(|t| t.name.to_string())
        .collect()
}

/// Findings about one policy by itself; `true` when it never applies.
fn policy_alone(set: &PolicySet, v: &View<'_>, out: &mut Vec<Finding>) -> bool {
    let doc = set.document();
    let id: &str = &v.model.id;
    let path = pointer(v);
    let s = &v.model.scope;
    if s.all_users && (!s.users.is_empty() || !s.groups.is_empty()) {
        out.push(finding(
            LintCode::ScopeIgnored,
            format!("{path}/all_users"),
            format!("policy `{id}` applies to all users: its `users` and `groups` are kept but not enforced"),
            &[id],
        ));
    }
    let serves_approval = v.compiled.action == Action::RequestApproval
        || (v.targeted() && v.compiled.otherwise == Otherwise::Serve(Action::RequestApproval));
    if serves_approval && v.model.approval_flow.is_none() {
        out.push(finding(
            LintCode::ApprovalWithoutFlow,
            path.clone(),
            format!("policy `{id}` can serve `request_approval` but names no approval flow: its requests can never be approved"),
            &[id],
        ));
    }
    if s.all_users && v.compiled.action == Action::Allow && !v.targeted() && v.model.tools.all {
        out.push(finding(
            LintCode::BroadAllow,
            format!("{path}/tools"),
            format!("policy `{id}` allows every tool of `{}` to every user, tools added later included; list the tools, or separate read and write policies", v.model.connector),
            &[id],
        ));
    }
    if scope_empty(s) {
        out.push(finding(
            LintCode::NeverApplies,
            path,
            format!(
                "policy `{id}` applies to no one: it names no user or group and `all_users` is off"
            ),
            &[id],
        ));
        return true;
    }
    let selects_any = doc
        .connectors
        .iter()
        .filter(|c| c.id == v.model.connector)
        .flat_map(|c| c.tools.iter())
        .any(|t| v.model.tools.selects(&t.name));
    if selects_any && governed(doc, v).is_empty() {
        out.push(finding(
            LintCode::NeverApplies,
            format!("{path}/tools"),
            format!("policy `{id}` governs only disabled tools (or its connector is disabled): those are denied before any policy applies"),
            &[id],
        ));
        return true;
    }
    if !v.targeted() {
        return false;
    }
    let mut matchable = 0;
    let mut decided = true;
    for (r, rule) in v.rules.iter().enumerate() {
        let mut q = Question::new();
        q.rules(std::slice::from_ref(rule), true, &ANY);
        let rule_path = format!("{path}/targeting/rules/{r}");
        match q.solve(&ANY) {
            Answer::Unsat => out.push(finding(
                LintCode::RuleNeverMatches,
                rule_path,
                format!(
                    "rule {} of policy `{id}` never matches: its conditions cannot all hold",
                    r + 1
                ),
                &[id],
            )),
            Answer::Unknown(_) => {
                decided = false;
                matchable += 1;
            }
            Answer::Sat(_) => {
                matchable += 1;
                let scalar = AnyRequest { scalar: true };
                if q.solve(&scalar) == Answer::Unsat {
                    out.push(finding(
                        LintCode::RuleNeedsList,
                        rule_path,
                        format!("rule {} of policy `{id}` matches only when an attribute is a list of several values: its conditions on one attribute cannot all hold of one value", r + 1),
                        &[id],
                    ));
                }
            }
        }
    }
    if matchable == 0 && decided {
        return match v.compiled.otherwise {
            Otherwise::None => {
                out.push(finding(
                    LintCode::NeverApplies,
                    format!("{path}/targeting"),
                    format!("policy `{id}` never applies: no rule can match and its `otherwise` is `none`"),
                    &[id],
                ));
                true
            }
            Otherwise::Serve(a) => {
                out.push(finding(
                    LintCode::TargetingNeverMatches,
                    format!("{path}/targeting"),
                    format!("no rule of policy `{id}` can match: it always serves its `otherwise`, `{a}`"),
                    &[id],
                ));
                false
            }
        };
    }
    false
}

/// Whether every user `p`'s scope holds is also in `q`'s, whatever groups a request claims.
fn scope_within(doc: &Document, p: &Scope, q: &Scope) -> bool {
    if q.all_users {
        return true;
    }
    if p.all_users {
        return false;
    }
    let directory_groups = |u: &str| {
        doc.users
            .iter()
            .filter(|x| &*x.id == u)
            .flat_map(|x| x.groups.iter())
            .cloned()
            .collect::<Vec<_>>()
    };
    p.users
        .iter()
        .all(|u| q.users.contains(u) || directory_groups(u).iter().any(|g| q.groups.contains(g)))
        && p.groups.iter().all(|g| q.groups.contains(g))
}

/// `(matched, served)` alternatives of a policy: one when it has no targeting.
fn alternatives(v: &View<'_>) -> Vec<(Option<bool>, Option<Action>)> {
    if v.targeted() {
        vec![(Some(true), v.serves(true)), (Some(false), v.serves(false))]
    } else {
        vec![(None, v.serves(true))]
    }
}

/// Whether some request makes `p` take alternative `a` and `q` alternative `b`; `None` when
/// not decided.
fn together(p: &View<'_>, a: Option<bool>, q: &View<'_>, b: Option<bool>) -> Option<bool> {
    let mut question = Question::new();
    if let Some(m) = a {
        question.rules(&p.rules, m, &ANY);
    }
    if let Some(m) = b {
        question.rules(&q.rules, m, &ANY);
    }
    match question.solve(&ANY) {
        Answer::Sat(_) => Some(true),
        Answer::Unsat => Some(false),
        Answer::Unknown(_) => None,
    }
}

fn shadowed_by(doc: &Document, p: &View<'_>, q: &View<'_>) -> bool {
    if !scope_within(doc, &p.model.scope, &q.model.scope)
        || !governed(doc, p).is_subset(&governed(doc, q))
    {
        return false;
    }
    for (pm, pa) in alternatives(p) {
        let Some(pa) = pa else { continue };
        for (qm, qa) in alternatives(q) {
            if qa.is_some_and(|b| b > pa) {
                continue;
            }
            // `q` serves no more than `p` here: such a request must not exist.
            if together(p, pm, q, qm) != Some(false) {
                return false;
            }
        }
    }
    true
}

fn duplicates(doc: &Document, p: &View<'_>, q: &View<'_>) -> bool {
    if !scope_within(doc, &p.model.scope, &q.model.scope)
        || !scope_within(doc, &q.model.scope, &p.model.scope)
        || governed(doc, p) != governed(doc, q)
        || p.model.approval_flow != q.model.approval_flow
        || p.compiled.step_up != q.compiled.step_up
    {
        return false;
    }
    for (pm, pa) in alternatives(p) {
        for (qm, qa) in alternatives(q) {
            if pa != qa && together(p, pm, q, qm) != Some(false) {
                return false;
            }
        }
    }
    true
}

/// A targeted policy whose `otherwise` beats looser actions of other policies: proved by a
/// request the engine decides with it.
fn overrides(set: &PolicySet, views: &[View<'_>], p: &View<'_>, out: &mut Vec<Finding>) {
    let Otherwise::Serve(o) = p.compiled.otherwise else {
        return;
    };
    if !p.targeted() {
        return;
    }
    let doc = set.document();
    let tools = governed(doc, p);
    let mut overridden: Vec<(&str, Action)> = Vec::new();
    let mut example: Option<(String, String)> = None;
    for q in views {
        if std::ptr::eq(q.model, p.model)
            || q.model.connector != p.model.connector
            || scope_empty(&q.model.scope)
        {
            continue;
        }
        let q_tools = governed(doc, q);
        let shared: Vec<&String> = tools.iter().filter(|t| q_tools.contains(*t)).collect();
        'tools: for tool in shared {
            let Some(base) = both_scopes(set, p, q, tool) else {
                continue;
            };
            let frame = RequestFrame { request: &base };
            for (qm, qa) in alternatives(q) {
                let Some(b) = qa.filter(|b| *b < o) else {
                    continue;
                };
                let mut question = Question::new();
                question.rules(&p.rules, false, &frame);
                if let Some(m) = qm {
                    question.rules(&q.rules, m, &frame);
                }
                let Answer::Sat(w) = question.solve(&frame) else {
                    continue;
                };
                let Some(request) = super::base_with(&base, super::solve::context_of(&w)) else {
                    continue;
                };
                let explanation = set.explain(&request);
                let p_decides = explanation.decision.action == o
                    && explanation
                        .decision
                        .policies
                        .iter()
                        .any(|x| *x == *p.model.id);
                let q_served = explanation
                    .policies
                    .iter()
                    .any(|t| *t.id == *q.model.id && t.served.as_deref() == Some(b.as_str()));
                if p_decides && q_served {
                    overridden.push((&q.model.id, b));
                    if example.is_none() {
                        example = Some((request.user().to_owned(), tool.clone()));
                    }
                    break 'tools;
                }
            }
        }
    }
    if overridden.is_empty() {
        return;
    }
    let (user, tool) = example.unwrap_or_default();
    let list: Vec<String> = overridden
        .iter()
        .map(|(id, a)| format!("`{a}` of `{id}`"))
        .collect();
    let mut ids = vec![&*p.model.id];
    ids.extend(overridden.iter().map(|(id, _)| *id));
    out.push(finding(
        LintCode::OtherwiseOverrides,
        format!("{}/targeting", pointer(p)),
        format!(
            "outside its rules, policy `{}` serves `{o}` (its `otherwise`) to everyone in its scope, overriding {} (for example user `{user}` on `{tool}`); set `otherwise` to `none` if it should decide only the requests its rules match",
            p.model.id,
            list.join(", ")
        ),
        &ids,
    ));
}

/// A request on `tool` whose user is in both policies' scopes.
fn both_scopes(set: &PolicySet, p: &View<'_>, q: &View<'_>, tool: &str) -> Option<Request> {
    let doc = set.document();
    let (ps, qs) = (&p.model.scope, &q.model.scope);
    let fresh = super::principals(&[set], None)
        .into_iter()
        .find_map(|x| match x {
            Principal::Anyone { user } => Some(user),
            _ => None,
        })
        .unwrap_or_else(|| "someone".to_owned());
    let user: String = ps
        .users
        .iter()
        .find(|u| qs.users.contains(u))
        .or_else(|| ps.users.first())
        .or_else(|| qs.users.first())
        .map(|u| u.to_string())
        .unwrap_or(fresh);
    let directory: Vec<String> = doc
        .users
        .iter()
        .filter(|x| *x.id == *user)
        .flat_map(|x| x.groups.iter().map(|g| g.to_string()))
        .collect();
    let mut groups: Vec<String> = Vec::new();
    for s in [ps, qs] {
        let holds = s.all_users
            || s.users.iter().any(|u| **u == *user)
            || s.groups
                .iter()
                .any(|g| directory.iter().chain(&groups).any(|d| **d == **g));
        if !holds {
            groups.push(s.groups.first()?.to_string());
        }
    }
    Request::builder(user, &*p.model.connector, tool)
        .groups(groups)
        .context_map(Map::new())
        .build()
        .ok()
}

/// Findings about the directory, tools and approval flows.
fn directory(set: &PolicySet, views: &[View<'_>], out: &mut Vec<Finding>) {
    let doc = set.document();
    for (ci, c) in doc.connectors.iter().enumerate() {
        if !c.enabled {
            continue;
        }
        for (ti, t) in c.tools.iter().enumerate() {
            if t.enabled
                && !views
                    .iter()
                    .any(|v| v.model.connector == c.id && v.model.tools.selects(&t.name))
            {
                out.push(finding(
                    LintCode::UngovernedTool,
                    format!("/connectors/{ci}/tools/{ti}"),
                    format!(
                        "no policy governs `{}/{}`: it is denied to everyone",
                        c.id, t.name
                    ),
                    &[],
                ));
            }
        }
    }
    if !doc.groups.is_empty() {
        for (ui, u) in doc.users.iter().enumerate() {
            for (gi, g) in u.groups.iter().enumerate() {
                if !doc.groups.iter().any(|x| x.id == *g) {
                    out.push(finding(
                        LintCode::UserInUnknownGroup,
                        format!("/users/{ui}/groups/{gi}"),
                        format!(
                            "user `{}` is in group `{g}`, which the directory does not list",
                            u.id
                        ),
                        &[],
                    ));
                }
            }
        }
    }
    for v in views {
        let approval = v.compiled.action == Action::RequestApproval
            || (v.targeted() && v.compiled.otherwise == Otherwise::Serve(Action::RequestApproval));
        let Some(flow_id) = v.model.approval_flow.as_deref() else {
            continue;
        };
        if !approval {
            continue;
        }
        let Some((fi, flow)) = doc
            .approval_flows
            .iter()
            .enumerate()
            .find(|(_, f)| &*f.id == flow_id)
        else {
            continue;
        };
        for (si, step) in flow.steps.iter().enumerate() {
            if step.users.is_empty() && step.groups.is_empty() {
                // `flow_cannot_approve`, from the loader.
                continue;
            }
            let eligible: BTreeSet<&str> = doc
                .users
                .iter()
                .filter(|u| {
                    step.users.contains(&u.id) || u.groups.iter().any(|g| step.groups.contains(g))
                })
                .map(|u| &*u.id)
                .chain(step.users.iter().map(|u| &**u))
                .collect();
            let path = format!("/approval_flows/{fi}/steps/{si}");
            let in_directory: Vec<&str> = eligible
                .iter()
                .copied()
                .filter(|e| doc.users.iter().any(|u| &*u.id == *e))
                .collect();
            if in_directory.is_empty() {
                out.push(finding(
                    LintCode::NoDirectoryApprover,
                    path.clone(),
                    format!("no user of the directory can approve step {} of flow `{flow_id}`, which policy `{}` uses; only group claims at run time could", si + 1, v.model.id),
                    &[&v.model.id],
                ));
                continue;
            }
            let [only] = &in_directory[..] else {
                continue;
            };
            if eligible.len() != 1 {
                continue;
            }
            let user = doc.users.iter().find(|u| &*u.id == *only);
            let s = &v.model.scope;
            let requester = s.all_users
                || s.users.iter().any(|u| &**u == *only)
                || user.is_some_and(|u| u.groups.iter().any(|g| s.groups.contains(g)));
            if !requester {
                continue;
            }
            if flow.allow_self_approval {
                out.push(finding(
                    LintCode::SelfApproval,
                    path,
                    format!("`{only}` is the only approver of step {} of flow `{flow_id}` and may approve their own requests under policy `{}`", si + 1, v.model.id),
                    &[&v.model.id],
                ));
            } else {
                out.push(finding(
                    LintCode::RequesterOnlyApprover,
                    path,
                    format!("requests of `{only}` under policy `{}` can never pass step {} of flow `{flow_id}`: `{only}` is its only approver in the directory and self-approval is off", v.model.id, si + 1),
                    &[&v.model.id],
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(policies: &str) -> Vec<(LintCode, String, String)> {
        let doc = format!(
            r#"{{ "connectors": [{{ "id": "gh", "tools": [{{ "name": "read" }}, {{ "name": "write" }},
                   {{ "name": "old", "enabled": false }}] }}],
                 "groups": [{{ "id": "eng" }}, {{ "id": "sec" }}],
                 "users": [{{ "id": "alice", "groups": ["eng"] }}, {{ "id": "bob", "groups": ["sec", "ghost"] }}],
                 "approval_flows": [{{ "id": "review", "steps": [{{ "groups": ["sec"] }}] }},
                                    {{ "id": "self", "allow_self_approval": true, "steps": [{{ "users": ["alice"] }}] }}],
                 "policies": [{policies}] }}"#
        );
        let set = PolicySet::from_json(&doc).expect("the test document loads");
        set.lint()
            .findings
            .into_iter()
            .map(|f| (f.code, f.path, f.message))
            .collect()
    }

    fn has(findings: &[(LintCode, String, String)], code: LintCode, path: &str, message: &str) {
        assert!(
            findings
                .iter()
                .any(|(c, p, m)| *c == code && p == path && m == message),
            "no {code} at {path} with {message:?} in {findings:#?}"
        );
    }

    const READ_ALL: &str = r#"{ "id": "read", "name": "Read", "connector": "gh", "action": "allow",
        "all_users": true, "tools": ["read", "write"] }"#;

    #[test]
    fn a_policy_for_no_one_never_applies() {
        let f = lint(&format!(
            r#"{READ_ALL}, {{ "id": "p", "name": "P", "connector": "gh", "action": "deny", "tools": ["read"] }}"#
        ));
        has(
            &f,
            LintCode::NeverApplies,
            "/policies/1",
            "policy `p` applies to no one: it names no user or group and `all_users` is off",
        );
    }

    #[test]
    fn a_policy_of_disabled_tools_never_applies() {
        let f = lint(&format!(
            r#"{READ_ALL}, {{ "id": "p", "name": "P", "connector": "gh", "action": "deny", "all_users": true, "tools": ["old"] }}"#
        ));
        has(&f, LintCode::NeverApplies, "/policies/1/tools",
            "policy `p` governs only disabled tools (or its connector is disabled): those are denied before any policy applies");
    }

    #[test]
    fn contradictions_on_one_value_never_match_and_on_a_list_need_one() {
        let f = lint(&format!(
            r#"{READ_ALL}, {{ "id": "p", "name": "P", "connector": "gh", "action": "deny", "all_users": true,
                "tools": ["write"], "targeting": {{ "otherwise": "none", "rules": [
                  {{ "conditions": [ {{ "attribute": "user.id", "operator": "equals", "values": ["a"] }},
                                    {{ "attribute": "user.id", "operator": "equals", "values": ["b"] }} ] }} ] }} }},
              {{ "id": "q", "name": "Q", "connector": "gh", "action": "deny", "all_users": true,
                "tools": ["write"], "targeting": {{ "otherwise": "none", "rules": [
                  {{ "conditions": [ {{ "attribute": "x", "operator": "equals", "values": [1] }},
                                    {{ "attribute": "x", "operator": "equals", "values": [2] }} ] }} ] }} }}"#
        ));
        has(
            &f,
            LintCode::RuleNeverMatches,
            "/policies/1/targeting/rules/0",
            "rule 1 of policy `p` never matches: its conditions cannot all hold",
        );
        has(
            &f,
            LintCode::NeverApplies,
            "/policies/1/targeting",
            "policy `p` never applies: no rule can match and its `otherwise` is `none`",
        );
        has(&f, LintCode::RuleNeedsList, "/policies/2/targeting/rules/0",
            "rule 1 of policy `q` matches only when an attribute is a list of several values: its conditions on one attribute cannot all hold of one value");
    }

    #[test]
    fn numbers_and_negation_are_exact() {
        let f = lint(&format!(
            r#"{READ_ALL}, {{ "id": "p", "name": "P", "connector": "gh", "action": "deny", "all_users": true,
                "tools": ["write"], "targeting": {{ "rules": [
                  {{ "conditions": [ {{ "attribute": "n", "operator": "gt", "values": [5] }},
                                    {{ "attribute": "n", "operator": "lte", "values": [5], "negate": true }},
                                    {{ "attribute": "n", "operator": "lt", "values": [5] }} ] }} ] }} }}"#
        ));
        // `n` = [6, 4]: a list, but "not lte 5" forbids the 4.
        has(
            &f,
            LintCode::RuleNeverMatches,
            "/policies/1/targeting/rules/0",
            "rule 1 of policy `p` never matches: its conditions cannot all hold",
        );
        has(
            &f,
            LintCode::TargetingNeverMatches,
            "/policies/1/targeting",
            "no rule of policy `p` can match: it always serves its `otherwise`, `deny`",
        );
    }

    #[test]
    fn shadowed_duplicated_and_overridden() {
        let f = lint(&format!(
            r#"{READ_ALL},
              {{ "id": "read2", "name": "Read again", "connector": "gh", "action": "allow", "all_users": true, "tools": ["read", "write"] }},
              {{ "id": "eng-read", "name": "Eng", "connector": "gh", "action": "step_up", "groups": ["eng"], "tools": ["read"] }},
              {{ "id": "all-deny", "name": "No", "connector": "gh", "action": "request_approval", "all_users": true,
                 "tools": ["read"], "approval_flow": "review" }},
              {{ "id": "agents", "name": "Agents", "connector": "gh", "action": "allow", "all_users": true, "tools": ["write"],
                 "targeting": {{ "rules": [ {{ "conditions": [ {{ "attribute": "agent.type", "operator": "matches", "values": ["Claude*"] }} ] }} ] }} }}"#
        ));
        has(
            &f,
            LintCode::Duplicate,
            "/policies/1",
            "policy `read2` is equivalent to `read`: same scope, tools and served actions",
        );
        has(&f, LintCode::Shadowed, "/policies/2",
            "policy `eng-read` never determines a decision without evidence: wherever it applies, `all-deny` serves a more restrictive action");
        has(&f, LintCode::OtherwiseOverrides, "/policies/4/targeting",
            "outside its rules, policy `agents` serves `deny` (its `otherwise`) to everyone in its scope, overriding `allow` of `read`, `allow` of `read2` (for example user `someone` on `write`); set `otherwise` to `none` if it should decide only the requests its rules match");
    }

    #[test]
    fn approvals_tools_and_directory() {
        let f = lint(
            r#"{ "id": "a", "name": "A", "connector": "gh", "action": "request_approval", "users": ["alice", "carol"],
                 "groups": ["sec"], "tools": ["read"], "approval_flow": "self" },
               { "id": "b", "name": "B", "connector": "gh", "action": "request_approval", "all_users": true, "tools": ["read"] },
               { "id": "c", "name": "C", "connector": "gh", "action": "request_approval", "groups": ["sec"], "tools": ["read"],
                 "approval_flow": "review" },
               { "id": "d", "name": "D", "connector": "gh", "action": "allow", "all_users": true, "users": ["alice"], "tools": "all" }"#,
        );
        has(&f, LintCode::SelfApproval, "/approval_flows/1/steps/0",
            "`alice` is the only approver of step 1 of flow `self` and may approve their own requests under policy `a`");
        has(&f, LintCode::ApprovalWithoutFlow, "/policies/1",
            "policy `b` can serve `request_approval` but names no approval flow: its requests can never be approved");
        has(&f, LintCode::RequesterOnlyApprover, "/approval_flows/0/steps/0",
            "requests of `bob` under policy `c` can never pass step 1 of flow `review`: `bob` is its only approver in the directory and self-approval is off");
        has(&f, LintCode::BroadAllow, "/policies/3/tools",
            "policy `d` allows every tool of `gh` to every user, tools added later included; list the tools, or separate read and write policies");
        has(
            &f,
            LintCode::ScopeIgnored,
            "/policies/3/all_users",
            "policy `d` applies to all users: its `users` and `groups` are kept but not enforced",
        );
        has(
            &f,
            LintCode::UserInUnknownGroup,
            "/users/1/groups/1",
            "user `bob` is in group `ghost`, which the directory does not list",
        );
        has(
            &f,
            LintCode::UnknownUser,
            "/policies/0/users/1",
            "user `carol` is not in the document's `users`",
        );
        let g = lint(READ_ALL);
        assert!(
            g.iter().all(|(c, ..)| *c != LintCode::UngovernedTool),
            "{g:#?}"
        );
        let h = lint(
            r#"{ "id": "r", "name": "R", "connector": "gh", "action": "allow", "all_users": true, "tools": ["read"] }"#,
        );
        has(
            &h,
            LintCode::UngovernedTool,
            "/connectors/0/tools/1",
            "no policy governs `gh/write`: it is denied to everyone",
        );
    }

    #[test]
    fn every_code_has_a_distinct_name() {
        let mut names: Vec<&str> = LintCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LintCode::ALL.len());
    }
}
