//! Evidence that a step-up or an approval has been completed (SPEC §7.2): the instant of the
//! request, the user's last authentication, and approval grants. The host vouches for all of
//! it; the engine checks its shape here and whether it satisfies a policy at evaluation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::ops::time::Instant;

/// The most grants one request may carry.
pub const MAX_GRANTS: usize = 64;

/// An instant in whole Unix milliseconds, as evidence and approval requests compare them.
pub type Millis = i64;

/// Reads a timestamp of evidence or of an approval request (SPEC §7.2, §7.3): an RFC 3339
/// date-time with an offset, or an integer of Unix milliseconds, within ±8,640,000,000,000,000
/// ms. A fraction below a millisecond is truncated toward the past. `None` when malformed.
///
/// ```
/// use agen_policy_core::parse_timestamp;
/// use serde_json::json;
///
/// assert_eq!(parse_timestamp(&json!("2026-11-25T10:00:00.0009Z")), Some(1_795_600_800_000));
/// assert_eq!(parse_timestamp(&json!(1_795_600_800_000_i64)), Some(1_795_600_800_000));
/// assert_eq!(parse_timestamp(&json!("1795600800000")), None);
/// ```
pub fn parse_timestamp(value: &Value) -> Option<Millis> {
    let instant = match value {
        Value::String(s) => Instant::parse(s)?,
        Value::Number(n) => Instant::from_millis(n)?,
        _ => return None,
    };
    instant.whole_millis()
}

/// The user's last active authentication, as the host verified it (OIDC `auth_time`, `acr`,
/// `amr`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// When the user authenticated, in Unix milliseconds.
    pub time: Millis,
    /// The authentication context class reference, if the identity provider gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The authentication methods; carried, not checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl Auth {
    /// An authentication at `time` (Unix milliseconds), without `acr` or `amr`.
    pub fn at(time: Millis) -> Self {
        Auth {
            time,
            acr: None,
            amr: Vec::new(),
        }
    }

    /// The same authentication with an `acr`.
    #[must_use]
    pub fn with_acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }
}

/// An approval grant (SPEC §8.3): what [`PolicySet::grant`](crate::PolicySet::grant) returns
/// for an approved request and what a request's evidence carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The approval request's id.
    pub id: String,
    /// The approval flow that granted it.
    pub flow: String,
    /// The user it was granted to.
    pub user: String,
    /// The connector of the granted call.
    pub connector: String,
    /// The tool of the granted call.
    pub tool: String,
    /// The arguments digest it is bound to, or `None` for any arguments.
    pub arguments: Option<String>,
    /// The instant it expires, in Unix milliseconds (it is valid strictly before).
    pub expires: Millis,
    /// Every approver, step by step, in order.
    pub approvers: Vec<String>,
}

impl Grant {
    /// Reads a grant from JSON, strictly: an object with exactly its eight fields. `path` is
    /// the JSON Pointer of the grant, for errors.
    pub fn from_value(value: &Value, path: &str) -> Result<Grant, RequestError> {
        let members = object(value, path, "a grant")?;
        only_fields(members, path, GRANT_FIELDS, "a grant")?;
        let text = |name: &str| string_field(members, path, name, "a grant");
        let arguments = match members.get("arguments") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(RequestError::new(
                    format!("{path}/arguments"),
                    "a grant's `arguments` must be a digest string or null",
                ))
            }
            None => return Err(missing(path, "arguments", "a grant")),
        };
        let expires = timestamp_field(members, path, "expires", "a grant")?;
        let approvers = match members.get("approvers") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(RequestError::new(
                        format!("{path}/approvers/{i}"),
                        "an approver must be a string",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(RequestError::new(
                    format!("{path}/approvers"),
                    "a grant's `approvers` must be a list of user ids",
                ))
            }
            None => return Err(missing(path, "approvers", "a grant")),
        };
        Ok(Grant {
            id: text("id")?,
            flow: text("flow")?,
            user: text("user")?,
            connector: text("connector")?,
            tool: text("tool")?,
            arguments,
            expires,
            approvers,
        })
    }

    /// This grant as JSON, in the shape [`Grant::from_value`] reads.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

const GRANT_FIELDS: &[&str] = &[
    "id",
    "flow",
    "user",
    "connector",
    "tool",
    "arguments",
    "expires",
    "approvers",
];
const AUTH_FIELDS: &[&str] = &["time", "acr", "amr"];

/// The evidence of one request; absent fields are `None` / empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) now: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth: Option<Auth>,
    /// `Some` when the request gave `grants`, even `[]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grants: Option<Vec<Grant>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) arguments: Option<String>,
}

impl Evidence {
    /// Reads the evidence fields of a request object (the caller has checked that no other
    /// unknown field is present).
    pub(crate) fn from_members(members: &Map<String, Value>) -> Result<Evidence, RequestError> {
        let now = match members.get("now") {
            None => None,
            Some(v) => Some(parse_timestamp(v).ok_or_else(|| {
                RequestError::new(
                    "/now",
                    format!(
                        "`now` must be an RFC 3339 date-time with an offset or integer Unix \
                         milliseconds, not {}",
                        brief(v)
                    ),
                )
            })?),
        };
        let auth = members.get("auth").map(Auth::from_value).transpose()?;
        let grants = match members.get("grants") {
            None => None,
            Some(Value::Array(items)) => {
                if items.len() > MAX_GRANTS {
                    return Err(RequestError::new(
                        "/grants",
                        format!(
                            "{} grants, more than the limit of {MAX_GRANTS}",
                            items.len()
                        ),
                    ));
                }
                Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, g)| Grant::from_value(g, &format!("/grants/{i}")))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            Some(other) => {
                return Err(RequestError::new(
                    "/grants",
                    format!("`grants` must be a list of grants, not {}", brief(other)),
                ))
            }
        };
        let arguments = match members.get("arguments") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(RequestError::new(
                    "/arguments",
                    format!(
                        "`arguments` must be the digest string of the call's arguments \
                         (arguments_digest), not {}",
                        brief(other)
                    ),
                ))
            }
        };
        let evidence = Evidence {
            now,
            auth,
            grants,
            arguments,
        };
        evidence.check()?;
        Ok(evidence)
    }

    /// The rules between fields: `auth` and `grants` need `now`; at most 64 grants.
    pub(crate) fn check(&self) -> Result<(), RequestError> {
        if self.now.is_none() {
            if self.auth.is_some() {
                return Err(RequestError::new(
                    "/auth",
                    "`auth` needs `now`, the instant of the request",
                ));
            }
            if self.grants.is_some() {
                return Err(RequestError::new(
                    "/grants",
                    "`grants` needs `now`, the instant of the request",
                ));
            }
        }
        if let Some(grants) = &self.grants {
            if grants.len() > MAX_GRANTS {
                return Err(RequestError::new(
                    "/grants",
                    format!(
                        "{} grants, more than the limit of {MAX_GRANTS}",
                        grants.len()
                    ),
                ));
            }
        }
        for (t, path) in [
            (self.now, "/now"),
            (self.auth.as_ref().map(|a| a.time), "/auth/time"),
        ] {
            if t.is_some_and(|t| t.unsigned_abs() > crate::ops::time::MAX_EVIDENCE_MILLIS) {
                return Err(RequestError::new(path, "timestamp out of range"));
            }
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.now.is_none()
            && self.auth.is_none()
            && self.grants.is_none()
            && self.arguments.is_none()
    }

    /// Total bytes of the evidence's strings, for the request's string budget.
    pub(crate) fn string_bytes(&self) -> usize {
        let auth = self.auth.as_ref().map_or(0, |a| {
            a.acr.as_ref().map_or(0, String::len) + a.amr.iter().map(String::len).sum::<usize>()
        });
        let grants = self.grants.as_ref().map_or(0, |gs| {
            gs.iter()
                .map(|g| {
                    g.id.len()
                        + g.flow.len()
                        + g.user.len()
                        + g.connector.len()
                        + g.tool.len()
                        + g.arguments.as_ref().map_or(0, String::len)
                        + g.approvers.iter().map(String::len).sum::<usize>()
                })
                .sum()
        });
        auth + grants + self.arguments.as_ref().map_or(0, String::len)
    }
}

impl Auth {
    /// Reads `auth` from JSON, strictly.
    pub fn from_value(value: &Value) -> Result<Auth, RequestError> {
        let members = object(value, "/auth", "`auth`")?;
        only_fields(members, "/auth", AUTH_FIELDS, "`auth`")?;
        let time = timestamp_field(members, "/auth", "time", "`auth`")?;
        let acr = match members.get("acr") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(RequestError::new(
                    "/auth/acr",
                    format!("`acr` must be a string, not {}", brief(other)),
                ))
            }
        };
        let amr = match members.get("amr") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(RequestError::new(
                        format!("/auth/amr/{i}"),
                        format!("an `amr` entry must be a string, not {}", brief(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(RequestError::new(
                    "/auth/amr",
                    format!("`amr` must be a list of strings, not {}", brief(other)),
                ))
            }
        };
        Ok(Auth { time, acr, amr })
    }
}

fn object<'v>(
    value: &'v Value,
    path: &str,
    what: &str,
) -> Result<&'v Map<String, Value>, RequestError> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(RequestError::new(
            path,
            format!("{what} must be an object, not {}", brief(other)),
        )),
    }
}

fn only_fields(
    members: &Map<String, Value>,
    path: &str,
    fields: &[&str],
    what: &str,
) -> Result<(), RequestError> {
    match members.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(RequestError::new(
            format!("{path}/{}", crate::error::pointer_token(k)),
            format!("unknown field `{k}` in {what}"),
        )),
        None => Ok(()),
    }
}

fn missing(path: &str, name: &str, what: &str) -> RequestError {
    RequestError::new(path, format!("missing required field `{name}` in {what}"))
}

fn string_field(
    members: &Map<String, Value>,
    path: &str,
    name: &str,
    what: &str,
) -> Result<String, RequestError> {
    match members.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(RequestError::new(
            format!("{path}/{name}"),
            format!("`{name}` must be a string, not {}", brief(other)),
        )),
        None => Err(missing(path, name, what)),
    }
}

fn timestamp_field(
    members: &Map<String, Value>,
    path: &str,
    name: &str,
    what: &str,
) -> Result<Millis, RequestError> {
    let v = members.get(name).ok_or_else(|| missing(path, name, what))?;
    parse_timestamp(v).ok_or_else(|| {
        RequestError::new(
            format!("{path}/{name}"),
            format!(
                "`{name}` must be an RFC 3339 date-time with an offset or integer Unix \
                 milliseconds, not {}",
                brief(v)
            ),
        )
    })
}

/// A short rendering of a value for messages.
fn brief(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 40 {
        let mut end = 37;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// The effective step-up requirement of a policy (SPEC §7.1), as a `step_up` decision lists it.
/// Two requirements are equal when their policy, `max_age` and `acr_values` are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepUpRequirement {
    policy: Box<str>,
    max_age: u32,
    acr_values: Box<[Box<str>]>,
    /// The policy's index in the document's `policies`.
    #[serde(skip)]
    policy_index: u32,
}

impl PartialEq for StepUpRequirement {
    fn eq(&self, other: &Self) -> bool {
        (&self.policy, self.max_age, &self.acr_values)
            == (&other.policy, other.max_age, &other.acr_values)
    }
}

impl Eq for StepUpRequirement {}

impl std::hash::Hash for StepUpRequirement {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.policy, self.max_age, &self.acr_values).hash(state);
    }
}

impl StepUpRequirement {
    pub(crate) fn new(
        policy: &str,
        policy_index: u32,
        max_age: u32,
        acr_values: &[Box<str>],
    ) -> Self {
        StepUpRequirement {
            policy: policy.into(),
            max_age,
            acr_values: acr_values.into(),
            policy_index,
        }
    }

    /// The policy's index in the set's `document().policies`, for bindings that exchange
    /// decisions as numbers.
    pub fn policy_index(&self) -> u32 {
        self.policy_index
    }

    /// The policy that asks for it.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// Seconds the last authentication may be old.
    pub fn max_age(&self) -> u32 {
        self.max_age
    }

    /// Accepted authentication context classes, in document order; empty means any.
    pub fn acr_values(&self) -> &[Box<str>] {
        &self.acr_values
    }

    /// Whether `auth` at instant `now` satisfies it (SPEC §7.3).
    pub(crate) fn satisfied_by(&self, auth: &Auth, now: Millis) -> bool {
        let age = i128::from(now) - i128::from(auth.time);
        age >= 0
            && age <= i128::from(self.max_age) * 1000
            && (self.acr_values.is_empty()
                || auth
                    .acr
                    .as_deref()
                    .is_some_and(|acr| self.acr_values.iter().any(|a| &**a == acr)))
    }
}
