//! The OpenID AuthZEN Access Evaluation API, translated to and from the core's request and
//! decision.
//!
//! | AuthZEN | core request (SPEC §3, §7.2) |
//! |---|---|
//! | `subject.type` | must be `user` |
//! | `subject.id` | `user` |
//! | `subject.properties.groups` | `groups` (the identity provider's claims) |
//! | `subject.properties.now`, `.auth`, `.grants`, `.arguments` | the evidence of SPEC §7.2 |
//! | `resource.type` | must be `connector` |
//! | `resource.id` | `connector` |
//! | `action.name` | `tool` |
//! | `context` | `context`, untouched: what targeting reads |
//!
//! The evidence goes with the subject, never in `context`: nothing reserved in `context` can
//! shadow an attribute a policy reads, and the evidence is the subject's (their last
//! authentication, the grants they hold, the instant of their call). Every member not in this
//! table is refused (`invalid_request` at its path), as the core refuses unknown request fields.

use agen_policy_core::{Limits, OwnedDecision, Request, RequestError};
use serde_json::{json, Map, Value};

use super::error::ApiError;

/// The most evaluations one batch may hold.
pub const MAX_BATCH: usize = 1000;

const TOP: &[&str] = &["subject", "resource", "action", "context"];
const EVIDENCE: &[&str] = &["now", "auth", "grants", "arguments"];

/// How a batch goes on after an evaluation (AuthZEN's `evaluations_semantic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// Every evaluation is made.
    ExecuteAll,
    /// Stops after the first decision that is not `true`.
    DenyOnFirstDeny,
    /// Stops after the first decision that is `true`.
    PermitOnFirstPermit,
}

/// One evaluation request into a core request.
pub fn to_request(value: &Value, limits: &Limits) -> Result<Request, ApiError> {
    let top = object(value, "")?;
    known(top, TOP, "")?;
    let parts = Parts {
        subject: top.get("subject"),
        resource: top.get("resource"),
        action: top.get("action"),
        context: top.get("context"),
    };
    parts.to_request(limits)
}

/// A batch into its requests (each evaluation's members over the batch's defaults) and its
/// semantic.
pub fn to_requests(value: &Value, limits: &Limits) -> Result<(Vec<Request>, Semantic), ApiError> {
    let top = object(value, "")?;
    known(
        top,
        &[
            "subject",
            "resource",
            "action",
            "context",
            "evaluations",
            "options",
        ],
        "",
    )?;
    let semantic =
        match top.get("options") {
            None => Semantic::ExecuteAll,
            Some(options) => {
                let options = object(options, "/options")?;
                known(options, &["evaluations_semantic"], "/options")?;
                match options.get("evaluations_semantic").map(Value::as_str) {
                    None | Some(Some("execute_all")) => Semantic::ExecuteAll,
                    Some(Some("deny_on_first_deny")) => Semantic::DenyOnFirstDeny,
                    Some(Some("permit_on_first_permit")) => Semantic::PermitOnFirstPermit,
                    Some(_) => return Err(ApiError::invalid(
                        "/options/evaluations_semantic",
                        "expected `execute_all`, `deny_on_first_deny` or `permit_on_first_permit`",
                    )),
                }
            }
        };
    let Some(items) = top.get("evaluations") else {
        // Without `evaluations`, the batch is the one evaluation its defaults make.
        let single = Parts {
            subject: top.get("subject"),
            resource: top.get("resource"),
            action: top.get("action"),
            context: top.get("context"),
        };
        return Ok((vec![single.to_request(limits)?], semantic));
    };
    let Value::Array(items) = items else {
        return Err(ApiError::invalid("/evaluations", "expected a list"));
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "/evaluations",
            format!("more than {MAX_BATCH} evaluations"),
        ));
    }
    let mut requests = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("/evaluations/{i}");
        let member = object(item, &at).map_err(|e| e.at_index(i))?;
        known(member, TOP, &at).map_err(|e| e.at_index(i))?;
        let parts = Parts {
            subject: member.get("subject").or_else(|| top.get("subject")),
            resource: member.get("resource").or_else(|| top.get("resource")),
            action: member.get("action").or_else(|| top.get("action")),
            context: member.get("context").or_else(|| top.get("context")),
        };
        requests.push(parts.to_request(limits).map_err(|e| e.at_index(i))?);
    }
    Ok((requests, semantic))
}

/// The response of one evaluation: `decision` is `true` only for `allow`; `context` carries
/// the whole decision.
pub fn response(decision: &OwnedDecision) -> Value {
    json!({
        "decision": decision.action == agen_policy_core::Action::Allow,
        "context": decision,
    })
}

struct Parts<'v> {
    subject: Option<&'v Value>,
    resource: Option<&'v Value>,
    action: Option<&'v Value>,
    context: Option<&'v Value>,
}

impl Parts<'_> {
    fn to_request(&self, limits: &Limits) -> Result<Request, ApiError> {
        let mut core = Map::new();
        let subject = object(required(self.subject, "/subject")?, "/subject")?;
        known(subject, &["type", "id", "properties"], "/subject")?;
        typed(subject, "user", "/subject")?;
        core.insert(
            "user".into(),
            required(subject.get("id"), "/subject/id")?.clone(),
        );
        if let Some(properties) = subject.get("properties") {
            let properties = object(properties, "/subject/properties")?;
            let mut allowed = vec!["groups"];
            allowed.extend_from_slice(EVIDENCE);
            known(properties, &allowed, "/subject/properties")?;
            for (k, v) in properties {
                core.insert(k.clone(), v.clone());
            }
        }
        let resource = object(required(self.resource, "/resource")?, "/resource")?;
        known(resource, &["type", "id"], "/resource")?;
        typed(resource, "connector", "/resource")?;
        core.insert(
            "connector".into(),
            required(resource.get("id"), "/resource/id")?.clone(),
        );
        let action = object(required(self.action, "/action")?, "/action")?;
        known(action, &["name"], "/action")?;
        core.insert(
            "tool".into(),
            required(action.get("name"), "/action/name")?.clone(),
        );
        if let Some(context) = self.context {
            core.insert("context".into(), context.clone());
        }
        Request::from_value_with_limits(&Value::Object(core), limits).map_err(|e| translated(&e))
    }
}

/// A core request error, its path put back into the AuthZEN request.
fn translated(e: &RequestError) -> ApiError {
    let path = e.path();
    let (head, rest) = match path.get(1..).and_then(|p| p.split_once('/')) {
        Some((head, rest)) => (head, format!("/{rest}")),
        None => (path.get(1..).unwrap_or(""), String::new()),
    };
    let mapped = match head {
        "" => String::new(),
        "user" => format!("/subject/id{rest}"),
        "connector" => format!("/resource/id{rest}"),
        "tool" => format!("/action/name{rest}"),
        "context" => format!("/context{rest}"),
        other => format!("/subject/properties/{other}{rest}"),
    };
    ApiError::invalid(mapped, e.message())
}

fn object<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid(at, "expected an object"))
}

fn required<'v>(value: Option<&'v Value>, at: &str) -> Result<&'v Value, ApiError> {
    value.ok_or_else(|| ApiError::invalid(at, "this member is required"))
}

fn known(map: &Map<String, Value>, fields: &[&str], at: &str) -> Result<(), ApiError> {
    match map.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid(
            format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
            format!("unknown member `{}`", k.escape_debug()),
        )),
        None => Ok(()),
    }
}

fn typed(map: &Map<String, Value>, want: &str, at: &str) -> Result<(), ApiError> {
    match map.get("type") {
        Some(Value::String(t)) if t == want => Ok(()),
        _ => Err(ApiError::invalid(
            format!("{at}/type"),
            format!("expected the type `{want}`"),
        )),
    }
}
