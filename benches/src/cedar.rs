//! The same workload for `cedar-policy`: policy text, entities and requests, and the mapping of
//! Cedar's answer back to one of the four actions, so the two engines can be checked against
//! each other before either is timed.
//!
//! The encoding (the README explains it at more length):
//!
//! - Users are `User::"user-00042"` entities with an `email` attribute, children of their
//!   `Group::"group-123"` entities. Tools are `Tool::"conn-07/tool-13"` entities, children of
//!   `Connector::"conn-07"`. Every request uses the one action `Action::"call"`.
//! - Each policy becomes a `permit` when it serves `allow` and a `forbid` otherwise, annotated
//!   `@policy("<id>")` and `@serves("<action>")` (and `@flow` for an approval flow). Cedar's
//!   deny-overrides then agrees with "most restrictive wins": a satisfied `forbid` (step-up,
//!   approval or deny) beats every `permit`, and among the satisfied `forbid`s the host takes the
//!   most restrictive `@serves`. No satisfied policy is Cedar's default deny, our `no_policy`.
//! - Scope becomes `principal in Group::".."` / `principal == User::".."` for one principal,
//!   else `principal in [..]` in the `when` clause; tools become `resource == Tool::".."` or
//!   `resource in Connector::".."` with `resource in [..]` / `!(resource in [..])`.
//! - Targeting becomes the `when` clause's disjunction of conjunctions. A policy whose
//!   `otherwise` serves an action becomes a second Cedar policy with the same scope and
//!   `when { !(rules) }`. Every context attribute is guarded with `has`, so a missing attribute
//!   makes a condition false, as in the engine, instead of an evaluation error.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::str::FromStr;

use agen_policy_core::{Action, Decision, Reason};
use cedar_policy::{
    Authorizer, Context as CedarContext, Decision as CedarDecision, Entities, Entity, EntityUid,
    PolicySet, Request as CedarRequest, Response, RestrictedExpression,
};

use crate::workload::{
    connector_id, group_id, tool_name, user_id, Condition, Context, PolicySpec, RequestSpec, Scope,
    Test, Tools, Workload, CONNECTORS, GROUPS, REGEXES, TOOLS,
};

/// The Cedar action every request uses.
pub const ACTION: &str = r#"Action::"call""#;

fn uid(text: &str) -> EntityUid {
    match EntityUid::from_str(text) {
        Ok(u) => u,
        Err(e) => panic!("`{text}` is an entity uid: {e}"),
    }
}

fn user_uid(u: usize) -> EntityUid {
    uid(&format!(r#"User::"{}""#, user_id(u)))
}

fn group_ref(g: usize) -> String {
    format!(r#"Group::"{}""#, group_id(g))
}

fn tool_ref(c: usize, t: usize) -> String {
    format!(r#"Tool::"{}/{}""#, connector_id(c), tool_name(t))
}

fn connector_ref(c: usize) -> String {
    format!(r#"Connector::"{}""#, connector_id(c))
}

/// The version as one comparable integer: Cedar has no version type.
pub fn version_code(v: [u64; 3]) -> i64 {
    (v[0] * 1_000_000 + v[1] * 1_000 + v[2]) as i64
}

/// The workload's policies as Cedar text.
pub fn policies_text(workload: &Workload) -> String {
    let mut out = String::new();
    for p in &workload.policies {
        write_policy(&mut out, p);
    }
    out
}

fn effect(a: Action) -> &'static str {
    if a == Action::Allow {
        "permit"
    } else {
        "forbid"
    }
}

fn write_policy(out: &mut String, p: &PolicySpec) {
    let (principal, mut when) = match &p.scope {
        Scope::AllUsers => ("principal".to_string(), Vec::new()),
        Scope::Principals { users, groups } => match (users.as_slice(), groups.as_slice()) {
            ([], [g]) => (format!("principal in {}", group_ref(*g)), Vec::new()),
            ([u], []) => (
                format!(r#"principal == User::"{}""#, user_id(*u)),
                Vec::new(),
            ),
            _ => {
                let list: Vec<String> = users
                    .iter()
                    .map(|&u| format!(r#"User::"{}""#, user_id(u)))
                    .chain(groups.iter().map(|&g| group_ref(g)))
                    .collect();
                (
                    "principal".to_string(),
                    vec![format!("principal in [{}]", list.join(", "))],
                )
            }
        },
    };
    let tools = |t: &[usize]| {
        t.iter()
            .map(|&t| tool_ref(p.connector, t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let resource = match &p.tools {
        Tools::Include(t) if t.len() == 1 => format!("resource == {}", tool_ref(p.connector, t[0])),
        Tools::Include(t) => {
            when.push(format!("resource in [{}]", tools(t)));
            format!("resource in {}", connector_ref(p.connector))
        }
        Tools::AllExcept(t) => {
            if !t.is_empty() {
                when.push(format!("!(resource in [{}])", tools(t)));
            }
            format!("resource in {}", connector_ref(p.connector))
        }
    };
    let rules = p.targeting.as_ref().map(|t| {
        t.rules
            .iter()
            .map(|r| {
                let conds: Vec<String> = r.iter().map(condition).collect();
                format!("({})", conds.join(" && "))
            })
            .collect::<Vec<_>>()
            .join(" || ")
    });
    let mut emit = |served: Action, extra: Option<String>| {
        let _ = write!(
            out,
            "@policy(\"{}\")\n@serves(\"{}\")\n",
            p.id,
            served.as_str()
        );
        if let (Action::RequestApproval, Some(f)) = (served, p.flow) {
            let _ = writeln!(out, "@flow(\"{}\")", crate::workload::flow_id(f));
        }
        let _ = write!(
            out,
            "{} ({principal}, action == {ACTION}, {resource})",
            effect(served)
        );
        let clauses: Vec<&str> = when
            .iter()
            .map(String::as_str)
            .chain(extra.as_deref())
            .collect();
        if !clauses.is_empty() {
            let _ = write!(out, "\nwhen {{ {} }}", clauses.join(" && "));
        }
        out.push_str(";\n\n");
    };
    match (&rules, p.targeting.as_ref().and_then(|t| t.otherwise)) {
        (None, _) => emit(p.action, None),
        (Some(r), otherwise) => {
            emit(p.action, Some(format!("({r})")));
            if let Some(o) = otherwise {
                emit(o, Some(format!("!({r})")));
            }
        }
    }
}

fn likes(subject: &str, patterns: &[&str]) -> String {
    let alts: Vec<String> = patterns
        .iter()
        .map(|p| format!("{subject} like \"{p}\""))
        .collect();
    if alts.len() == 1 {
        alts.join("")
    } else {
        format!("({})", alts.join(" || "))
    }
}

/// One condition as a Cedar expression that is false, never an error, on a missing attribute.
fn condition(c: &Condition) -> String {
    const AGENT: &str = "context.agent.type";
    let (guard, test): (Option<&str>, String) = match &c.test {
        Test::AgentEquals(v) => {
            let alts: Vec<String> = v.iter().map(|s| format!("{AGENT} == \"{s}\"")).collect();
            (
                Some("context has agent"),
                format!("({})", alts.join(" || ")),
            )
        }
        Test::AgentMatches(g) => (Some("context has agent"), likes(AGENT, &[g])),
        Test::AgentRegex(i) => (Some("context has agent"), likes(AGENT, REGEXES[*i].1)),
        Test::AgentStartsWith(s) => (Some("context has agent"), likes(AGENT, &[&format!("{s}*")])),
        Test::AgentEndsWith(s) => (Some("context has agent"), likes(AGENT, &[&format!("*{s}")])),
        Test::AgentContains(s) => (
            Some("context has agent"),
            likes(AGENT, &[&format!("*{s}*")]),
        ),
        Test::RiskLt(n) => (Some("context has risk"), format!("context.risk < {n}")),
        Test::RiskGte(n) => (Some("context has risk"), format!("context.risk >= {n}")),
        Test::IpInCidr(blocks) => {
            let alts: Vec<String> = blocks
                .iter()
                .map(|b| format!("context.request.ip.isInRange(ip(\"{b}\"))"))
                .collect();
            (
                Some("context has request"),
                format!("({})", alts.join(" || ")),
            )
        }
        Test::VersionGt(v) => (
            Some("context has client"),
            format!("context.client.version_code > {}", version_code(*v)),
        ),
        Test::VersionLt(v) => (
            Some("context has client"),
            format!("context.client.version_code < {}", version_code(*v)),
        ),
        Test::IssuedBefore(t) => (
            Some("context has issued"),
            format!("context.issued < datetime(\"{t}\")"),
        ),
        Test::IssuedAfter(t) => (
            Some("context has issued"),
            format!("context.issued > datetime(\"{t}\")"),
        ),
        Test::MfaExists => (None, "context has mfa".to_string()),
        Test::InGroup(g) => (None, format!("principal in {}", group_ref(*g))),
        Test::EmailEndsWith(d) => (
            Some("principal has email"),
            likes("principal.email", &[&format!("*{d}")]),
        ),
    };
    let test = if c.negate { format!("!({test})") } else { test };
    match guard {
        Some(g) => format!("({g} && {test})"),
        None => test,
    }
}

/// Parses the workload's policies with Cedar.
///
/// # Panics
///
/// When Cedar rejects the text: the encoding is then wrong, and nothing may be timed.
pub fn policy_set(text: &str) -> PolicySet {
    match PolicySet::from_str(text) {
        Ok(p) => p,
        Err(e) => panic!("Cedar rejects the workload's policies: {e:?}"),
    }
}

/// Every entity: users with their groups, groups, tools with their connectors, connectors.
pub fn entities(workload: &Workload) -> Entities {
    let mut all = Vec::with_capacity(workload.users.len() + GROUPS + CONNECTORS * (TOOLS + 1));
    for (u, user) in workload.users.iter().enumerate() {
        let attrs = HashMap::from([(
            "email".to_string(),
            RestrictedExpression::new_string(user.email(u)),
        )]);
        let parents: HashSet<EntityUid> = user.groups.iter().map(|&g| uid(&group_ref(g))).collect();
        match Entity::new(user_uid(u), attrs, parents) {
            Ok(e) => all.push(e),
            Err(e) => panic!("user entity: {e}"),
        }
    }
    for g in 0..GROUPS {
        all.push(Entity::with_uid(uid(&group_ref(g))));
    }
    for c in 0..CONNECTORS {
        all.push(Entity::with_uid(uid(&connector_ref(c))));
        for t in 0..TOOLS {
            all.push(Entity::new_no_attrs(
                uid(&tool_ref(c, t)),
                HashSet::from([uid(&connector_ref(c))]),
            ));
        }
    }
    match Entities::from_entities(all, None) {
        Ok(e) => e,
        Err(e) => panic!("entities: {e}"),
    }
}

/// The same entities as Cedar's JSON entity format, the form a host would load them from.
pub fn entities_json(workload: &Workload) -> String {
    let mut all = Vec::new();
    let entity = |ty: &str, id: String| serde_json::json!({ "type": ty, "id": id });
    for (u, user) in workload.users.iter().enumerate() {
        all.push(serde_json::json!({
            "uid": entity("User", user_id(u)),
            "attrs": { "email": user.email(u) },
            "parents": user.groups.iter().map(|&g| entity("Group", group_id(g))).collect::<Vec<_>>(),
        }));
    }
    for g in 0..GROUPS {
        all.push(
            serde_json::json!({ "uid": entity("Group", group_id(g)), "attrs": {}, "parents": [] }),
        );
    }
    for c in 0..CONNECTORS {
        all.push(serde_json::json!({ "uid": entity("Connector", connector_id(c)), "attrs": {}, "parents": [] }));
        for t in 0..TOOLS {
            all.push(serde_json::json!({
                "uid": entity("Tool", format!("{}/{}", connector_id(c), tool_name(t))),
                "attrs": {},
                "parents": [entity("Connector", connector_id(c))],
            }));
        }
    }
    serde_json::Value::Array(all).to_string()
}

/// Loads entities from Cedar's JSON entity format.
///
/// # Panics
///
/// When Cedar rejects them.
pub fn entities_from_json(text: &str) -> Entities {
    match Entities::from_json_str(text, None) {
        Ok(e) => e,
        Err(e) => panic!("Cedar rejects the entities: {e}"),
    }
}

fn context(c: &Context) -> CedarContext {
    let mut pairs: Vec<(String, RestrictedExpression)> = Vec::new();
    if let Some(a) = c.agent {
        pairs.push((
            "agent".into(),
            record([("type", RestrictedExpression::new_string(a.into()))]),
        ));
    }
    if let Some(ip) = c.ip {
        pairs.push((
            "request".into(),
            record([("ip", RestrictedExpression::new_ip(ip))]),
        ));
    }
    pairs.push(("risk".into(), RestrictedExpression::new_long(c.risk)));
    pairs.push((
        "client".into(),
        record([(
            "version_code",
            RestrictedExpression::new_long(version_code(c.version)),
        )]),
    ));
    pairs.push((
        "issued".into(),
        RestrictedExpression::new_datetime(c.issued),
    ));
    if let Some(m) = c.mfa {
        pairs.push(("mfa".into(), RestrictedExpression::new_bool(m)));
    }
    match CedarContext::from_pairs(pairs) {
        Ok(c) => c,
        Err(e) => panic!("context: {e}"),
    }
}

fn record<const N: usize>(fields: [(&str, RestrictedExpression); N]) -> RestrictedExpression {
    match RestrictedExpression::new_record(fields.map(|(k, v)| (k.to_string(), v))) {
        Ok(r) => r,
        Err(e) => panic!("record: {e}"),
    }
}

/// The Cedar request for a workload request.
pub fn request(r: &RequestSpec) -> CedarRequest {
    match CedarRequest::new(
        user_uid(r.user),
        uid(ACTION),
        uid(&tool_ref(r.connector, r.tool)),
        context(&r.context),
        None,
    ) {
        Ok(q) => q,
        Err(e) => panic!("request: {e}"),
    }
}

/// A decision in the engine's terms, from either engine, for comparing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The action.
    pub action: Action,
    /// The determining policies, sorted and without repeats.
    pub policies: Vec<String>,
    /// The approval flows, sorted.
    pub flows: Vec<String>,
}

impl Outcome {
    /// The engine's decision.
    pub fn of_engine(d: &Decision<'_>) -> Outcome {
        Outcome {
            action: d.action(),
            policies: d.policies().map(str::to_owned).collect(),
            flows: d.approval_flows().map(str::to_owned).collect(),
        }
    }

    /// Cedar's response read as the encoding means it: `Allow` is `allow`; `Deny` is the most
    /// restrictive `@serves` among the satisfied `forbid`s, or `deny` when none is satisfied.
    /// Errors when Cedar reports an evaluation error, which the encoding should never cause.
    pub fn of_cedar(set: &PolicySet, response: &Response) -> Result<Outcome, String> {
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(format!("Cedar evaluation errors: {errors:?}"));
        }
        let allowed = response.decision() == CedarDecision::Allow;
        let mut served: Vec<(Action, String, Option<String>)> = Vec::new();
        for id in response.diagnostics().reason() {
            let note = |key: &str| set.annotation(id, key).map(str::to_string);
            let (Some(policy), Some(action)) = (note("policy"), note("serves")) else {
                return Err(format!("Cedar policy {id} lacks its annotations"));
            };
            let Some(action) = Action::parse(&action) else {
                return Err(format!("Cedar policy {id} serves `{action}`"));
            };
            // Cedar's own decision must agree with the effect the encoding gave each policy.
            if allowed != (action == Action::Allow) {
                return Err(format!(
                    "Cedar decided {:?} through policy {id}, which serves `{}`",
                    response.decision(),
                    action.as_str()
                ));
            }
            served.push((action, policy, note("flow")));
        }
        let Some(best) = served.iter().map(|s| s.0).max() else {
            return Ok(Outcome {
                action: Action::Deny,
                policies: Vec::new(),
                flows: Vec::new(),
            });
        };
        let mut policies: Vec<String> = Vec::new();
        let mut flows: Vec<String> = Vec::new();
        for (a, p, f) in served {
            if a == best {
                policies.push(p);
                if best == Action::RequestApproval {
                    flows.extend(f);
                }
            }
        }
        for v in [&mut policies, &mut flows] {
            v.sort();
            v.dedup();
        }
        Ok(Outcome {
            action: best,
            policies,
            flows,
        })
    }
}

/// Both engines loaded with one workload, with requests prepared for each.
pub struct Pair {
    /// The engine's policy set.
    pub engine: agen_policy_core::PolicySet,
    /// Cedar's policy set.
    pub cedar: PolicySet,
    /// Cedar's entities.
    pub entities: Entities,
}

impl Pair {
    /// Loads both engines.
    ///
    /// # Panics
    ///
    /// When either rejects the workload.
    pub fn load(workload: &Workload) -> Pair {
        let engine = match agen_policy_core::PolicySet::from_json(&workload.document_json()) {
            Ok(s) => s,
            Err(e) => panic!("the engine rejects the workload: {e}"),
        };
        Pair {
            engine,
            cedar: policy_set(&policies_text(workload)),
            entities: entities(workload),
        }
    }

    /// Checks that each named request takes its path in the engine, and that both engines give
    /// the same action, determining policies and flows on the named requests and on the first
    /// `sample` requests of the workload's sample. Returns how many decisions of each action
    /// were compared.
    pub fn check(&self, workload: &Workload, sample: usize) -> Result<[usize; 4], String> {
        for (path, spec) in &workload.named {
            let d = self.engine.evaluate(&spec.to_request());
            let (action, reason, policies) = path.expected();
            if d.action() != action
                || d.reason() != reason
                || !d.policies().eq(policies.iter().copied())
            {
                return Err(format!(
                    "the {} request does not take its path: {d}",
                    path.name()
                ));
            }
            if *path == crate::workload::Path::NoPolicy && d.reason() != Reason::NoPolicy {
                return Err("the no_policy request found a policy".into());
            }
        }
        let authorizer = Authorizer::new();
        let mut counts = [0usize; 4];
        let requests = workload
            .named
            .iter()
            .map(|(_, r)| r)
            .chain(workload.sample.iter().take(sample));
        for spec in requests {
            let ours = Outcome::of_engine(&self.engine.evaluate(&spec.to_request()));
            let response = authorizer.is_authorized(&request(spec), &self.cedar, &self.entities);
            let theirs = Outcome::of_cedar(&self.cedar, &response)?;
            if ours != theirs {
                return Err(format!(
                    "the engines disagree on {spec:?}:\n  engine: {ours:?}\n  cedar:  {theirs:?}"
                ));
            }
            if let Some(c) = Action::ALL
                .iter()
                .position(|&a| a == ours.action)
                .and_then(|i| counts.get_mut(i))
            {
                *c += 1;
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Path;

    #[test]
    fn the_engines_agree_on_every_path_and_the_sample() {
        let workload = Workload::new(1_000);
        let pair = Pair::load(&workload);
        let counts = pair.check(&workload, 512).unwrap_or_else(|e| panic!("{e}"));
        // The sample must exercise every action, or agreeing would prove little.
        assert!(counts.iter().all(|&n| n >= 5), "{counts:?}");
    }

    #[test]
    fn cedar_decides_the_named_paths() {
        let workload = Workload::new(10);
        let pair = Pair::load(&workload);
        let authorizer = Authorizer::new();
        for path in Path::ALL {
            let response = authorizer.is_authorized(
                &request(workload.named(path)),
                &pair.cedar,
                &pair.entities,
            );
            let outcome =
                Outcome::of_cedar(&pair.cedar, &response).unwrap_or_else(|e| panic!("{e}"));
            let (action, _, policies) = path.expected();
            assert_eq!(outcome.action, action, "{}", path.name());
            assert_eq!(outcome.policies, policies, "{}", path.name());
        }
    }

    #[test]
    fn entities_from_json_decide_like_entities_built_in_memory() {
        let workload = Workload::new(1_000);
        let mut pair = Pair::load(&workload);
        pair.entities = entities_from_json(&entities_json(&workload));
        pair.check(&workload, 128).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_disagreement_is_caught() {
        // Turning the deny anchor into an allow must make the check fail.
        let workload = Workload::new(10);
        let mut pair = Pair::load(&workload);
        let text = policies_text(&workload).replacen(
            "@serves(\"deny\")\nforbid",
            "@serves(\"allow\")\npermit",
            1,
        );
        assert_ne!(text, policies_text(&workload));
        pair.cedar = policy_set(&text);
        assert!(pair.check(&workload, 0).is_err());
    }
}
