//! A request to call one tool (SPEC §3), built in Rust or parsed from JSON.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{escape_token, RequestError};
use crate::evidence::{Auth, Evidence, Grant, Millis};
use crate::json::{self, Json, ParseError};
use crate::limits::Limits;

/// An agent's request, for a user, to call one tool of one connector.
///
/// A `Request` is always valid: its constructors check it, so evaluating one cannot fail.
///
/// ```
/// use agen_policy_core::Request;
///
/// let request = Request::builder("alice", "github", "delete_repository")
///     .group("contractors")
///     .context("agent", serde_json::json!({ "type": "ChatGPT" }))
///     .build()?;
/// assert_eq!(request.groups(), ["contractors"]);
///
/// let same = Request::from_json(
///     r#"{"user": "alice", "connector": "github", "tool": "delete_repository",
///         "groups": ["contractors"], "context": {"agent": {"type": "ChatGPT"}}}"#,
/// )?;
/// assert_eq!(request, same);
/// # Ok::<(), agen_policy_core::RequestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    user: String,
    connector: String,
    tool: String,
    groups: Vec<String>,
    context: Map<String, Value>,
    /// `now`, `auth`, `grants` and `arguments` (SPEC §7.2); `None` when the request has none.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    evidence: Option<Box<Evidence>>,
    /// Whether some top-level context key contains a dot: if none does, a dotted attribute
    /// name can only be found by walking nested objects, and the exact-key lookup is skipped.
    #[serde(skip)]
    dotted_keys: bool,
}

/// Builds a [`Request`]; [`RequestBuilder::build`] checks it.
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestBuilder {
    request: Request,
}

impl RequestBuilder {
    /// Adds one of the caller's group claims.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.request.groups.push(group.into());
        self
    }

    /// Adds several group claims.
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request
            .groups
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Sets one top-level context key (a dotted key such as `agent.type` is kept as one key).
    pub fn context(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.request.context.insert(key.into(), value.into());
        self
    }

    /// Replaces the whole context.
    pub fn context_map(mut self, context: Map<String, Value>) -> Self {
        self.request.context = context;
        self
    }

    /// Sets `now`, the instant of the request from the host's clock, in Unix milliseconds.
    pub fn now(mut self, now: Millis) -> Self {
        self.evidence_mut().now = Some(now);
        self
    }

    /// Sets the user's last authentication, as the host verified it (needs [`Self::now`]).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.evidence_mut().auth = Some(auth);
        self
    }

    /// Adds an approval grant the host holds for this user (needs [`Self::now`]).
    pub fn grant(mut self, grant: Grant) -> Self {
        self.evidence_mut()
            .grants
            .get_or_insert_with(Vec::new)
            .push(grant);
        self
    }

    /// Sets the digest of the call's arguments ([`arguments_digest`](crate::arguments_digest)).
    pub fn arguments(mut self, digest: impl Into<String>) -> Self {
        self.evidence_mut().arguments = Some(digest.into());
        self
    }

    fn evidence_mut(&mut self) -> &mut Evidence {
        self.request.evidence.get_or_insert_with(Box::default)
    }

    /// Checks the request against the default [`Limits`].
    pub fn build(self) -> Result<Request, RequestError> {
        self.build_with_limits(&Limits::default())
    }

    /// Checks the request: non-empty user, connector, tool and group ids, a context nested
    /// at most [`Limits::max_context_depth`] levels, at most
    /// [`Limits::max_request_string_bytes`] bytes of strings in all, and the evidence's rules.
    pub fn build_with_limits(self, limits: &Limits) -> Result<Request, RequestError> {
        let r = &self.request;
        non_empty("/user", &r.user)?;
        non_empty("/connector", &r.connector)?;
        non_empty("/tool", &r.tool)?;
        for (i, g) in r.groups.iter().enumerate() {
            non_empty(&format!("/groups/{i}"), g)?;
        }
        let mut budget = StringBudget::new(limits.max_request_string_bytes);
        budget.spend(r.user.len() + r.connector.len() + r.tool.len())?;
        budget.spend(r.groups.iter().map(String::len).sum())?;
        if let Some(evidence) = &r.evidence {
            evidence.check()?;
            budget.spend(evidence.string_bytes())?;
        }
        check_context(&r.context, limits.max_context_depth, &mut budget)?;
        let mut request = self.request;
        if request.evidence.as_ref().is_some_and(|e| e.is_empty()) {
            request.evidence = None;
        }
        request.dotted_keys = request.context.keys().any(|k| k.contains('.'));
        Ok(request)
    }
}

fn non_empty(path: &str, s: &str) -> Result<(), RequestError> {
    if s.is_empty() {
        Err(RequestError::new(path, "must be a non-empty string"))
    } else {
        Ok(())
    }
}

/// What is left of a request's allowance of string bytes ([`Limits::max_request_string_bytes`]).
struct StringBudget {
    left: usize,
    max: usize,
}

impl StringBudget {
    fn new(max: usize) -> Self {
        StringBudget { left: max, max }
    }

    fn spend(&mut self, bytes: usize) -> Result<(), RequestError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(crate::view::string_limit(self.max)),
        }
    }
}

/// Checks nesting and counts the context's keys and strings against `budget`, without
/// recursion, so a hostile context cannot exhaust the stack. Only nested lists and objects are
/// stacked: a flat context allocates nothing.
fn check_context(
    context: &Map<String, Value>,
    max: usize,
    budget: &mut StringBudget,
) -> Result<(), RequestError> {
    let too_deep = || {
        RequestError::new(
            "/context",
            format!("context nesting exceeds the limit of {max} levels"),
        )
    };
    if max == 0 {
        return Err(too_deep());
    }
    let nested = |v: &Value| matches!(v, Value::Array(_) | Value::Object(_));
    let text = |v: &Value| match v {
        Value::String(s) => s.len(),
        _ => 0,
    };
    let mut stack: Vec<(&Value, usize)> = Vec::new();
    for (k, v) in context {
        budget.spend(k.len() + text(v))?;
        if nested(v) {
            stack.push((v, 2));
        }
    }
    while let Some((v, depth)) = stack.pop() {
        if depth > max {
            return Err(too_deep());
        }
        match v {
            Value::Array(items) => {
                for c in items {
                    budget.spend(text(c))?;
                    if nested(c) {
                        stack.push((c, depth + 1));
                    }
                }
            }
            Value::Object(members) => {
                for (k, c) in members {
                    budget.spend(k.len() + text(c))?;
                    if nested(c) {
                        stack.push((c, depth + 1));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

impl Request {
    /// Starts a request for `user` to call `tool` of `connector`.
    pub fn builder(
        user: impl Into<String>,
        connector: impl Into<String>,
        tool: impl Into<String>,
    ) -> RequestBuilder {
        RequestBuilder {
            request: Request {
                user: user.into(),
                connector: connector.into(),
                tool: tool.into(),
                groups: Vec::new(),
                context: Map::new(),
                evidence: None,
                dotted_keys: false,
            },
        }
    }

    /// A request without groups or context.
    pub fn new(
        user: impl Into<String>,
        connector: impl Into<String>,
        tool: impl Into<String>,
    ) -> Result<Request, RequestError> {
        Request::builder(user, connector, tool).build()
    }

    /// Parses a JSON request (SPEC §3) under the default [`Limits`].
    pub fn from_json(text: &str) -> Result<Request, RequestError> {
        Request::from_slice_with_limits(text.as_bytes(), &Limits::default())
    }

    /// Parses a JSON request from bytes under `limits`.
    pub fn from_slice_with_limits(bytes: &[u8], limits: &Limits) -> Result<Request, RequestError> {
        if bytes.len() > limits.max_request_bytes {
            return Err(RequestError::new(
                "",
                format!(
                    "request is larger than the limit of {} bytes",
                    limits.max_request_bytes
                ),
            ));
        }
        // The request object is one level above its context.
        let json =
            json::parse(bytes, limits.max_context_depth.saturating_add(1)).map_err(
                |e| match e {
                    ParseError::Syntax {
                        message,
                        line,
                        column,
                    } => RequestError::new(
                        "",
                        format!("not JSON: {message} at line {line} column {column}"),
                    ),
                    ParseError::TooDeep { .. } => RequestError::new(
                        "/context",
                        format!(
                            "context nesting exceeds the limit of {} levels",
                            limits.max_context_depth
                        ),
                    ),
                },
            )?;
        Request::from_json_tree(&json, limits)
    }

    /// Builds a request from a JSON value (as bindings hand over native objects).
    pub fn from_value(value: &Value) -> Result<Request, RequestError> {
        Request::from_value_with_limits(value, &Limits::default())
    }

    /// Builds a request from a JSON value under `limits`.
    pub fn from_value_with_limits(value: &Value, limits: &Limits) -> Result<Request, RequestError> {
        let Value::Object(members) = value else {
            return Err(RequestError::new("", "a request must be a JSON object"));
        };
        for key in members.keys() {
            if !FIELDS.contains(&key.as_str()) {
                return Err(unknown_field(key));
            }
        }
        let field = |name: &str| members.get(name);
        let mut builder = Request::builder(
            required_str(field("user"), "user")?,
            required_str(field("connector"), "connector")?,
            required_str(field("tool"), "tool")?,
        );
        if let Some(groups) = field("groups") {
            let Value::Array(items) = groups else {
                return Err(RequestError::new(
                    "/groups",
                    "`groups` must be a list of group ids",
                ));
            };
            for (i, g) in items.iter().enumerate() {
                let Value::String(g) = g else {
                    return Err(RequestError::new(
                        format!("/groups/{i}"),
                        "a group id must be a string",
                    ));
                };
                builder.request.groups.push(g.to_string());
            }
        }
        if let Some(context) = field("context") {
            let Value::Object(context) = context else {
                return Err(RequestError::new("/context", "`context` must be an object"));
            };
            builder.request.context = context.clone();
        }
        builder.request.evidence = Some(Box::new(Evidence::from_members(members)?));
        builder.build_with_limits(limits)
    }

    fn from_json_tree(json: &Json<'_>, limits: &Limits) -> Result<Request, RequestError> {
        let Json::Object(members) = json else {
            return Err(RequestError::new(
                "",
                format!("a request must be a JSON object, not {}", json.kind()),
            ));
        };
        let mut seen = [false; FIELDS.len()];
        for (key, _) in members {
            let Some(i) = FIELDS.iter().position(|f| f == key) else {
                return Err(unknown_field(key));
            };
            if seen.get_mut(i).is_some_and(|s| std::mem::replace(s, true)) {
                return Err(RequestError::new(
                    pointer(key),
                    format!("duplicate field `{key}`"),
                ));
            }
        }
        let field = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let string = |name: &'static str| -> Result<String, RequestError> {
            match field(name) {
                Some(Json::String(s)) => Ok(s.to_string()),
                Some(other) => Err(RequestError::new(
                    pointer(name),
                    format!("`{name}` must be a string, not {}", other.kind()),
                )),
                None => Err(RequestError::new(
                    "",
                    format!("missing required field `{name}`"),
                )),
            }
        };
        let mut builder = Request::builder(string("user")?, string("connector")?, string("tool")?);
        if let Some(groups) = field("groups") {
            let Json::Array(items) = groups else {
                return Err(RequestError::new(
                    "/groups",
                    format!(
                        "`groups` must be a list of group ids, not {}",
                        groups.kind()
                    ),
                ));
            };
            for (i, g) in items.iter().enumerate() {
                let Json::String(g) = g else {
                    return Err(RequestError::new(
                        format!("/groups/{i}"),
                        format!("a group id must be a string, not {}", g.kind()),
                    ));
                };
                builder.request.groups.push(g.to_string());
            }
        }
        if let Some(context) = field("context") {
            let Json::Object(members) = context else {
                return Err(RequestError::new(
                    "/context",
                    format!("`context` must be an object, not {}", context.kind()),
                ));
            };
            duplicate_keys(context, &mut String::from("/context"))?;
            let mut map = Map::new();
            for (k, v) in members {
                map.insert(k.to_string(), v.to_value());
            }
            builder.request.context = map;
        }
        let mut evidence = Map::new();
        for name in EVIDENCE_FIELDS {
            if let Some(v) = field(name) {
                duplicate_keys(v, &mut pointer(name))?;
                evidence.insert(name.to_owned(), v.to_value());
            }
        }
        builder.request.evidence = Some(Box::new(Evidence::from_members(&evidence)?));
        builder.build_with_limits(limits)
    }

    /// The user's id.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The connector's id.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// The tool's name.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The caller's group claims (they join the directory's groups of the user).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The context the targeting's attributes are looked up in.
    pub fn context(&self) -> &Map<String, Value> {
        &self.context
    }

    pub(crate) fn evidence(&self) -> Option<&Evidence> {
        self.evidence.as_deref()
    }

    pub(crate) fn has_dotted_keys(&self) -> bool {
        self.dotted_keys
    }

    /// `now`, the instant of the request, in Unix milliseconds.
    pub fn now(&self) -> Option<Millis> {
        self.evidence.as_ref().and_then(|e| e.now)
    }

    /// The user's last authentication.
    pub fn auth(&self) -> Option<&Auth> {
        self.evidence.as_ref().and_then(|e| e.auth.as_ref())
    }

    /// The approval grants the request carries.
    pub fn grants(&self) -> &[Grant] {
        self.evidence
            .as_ref()
            .and_then(|e| e.grants.as_deref())
            .unwrap_or_default()
    }

    /// The digest of the call's arguments.
    pub fn arguments(&self) -> Option<&str> {
        self.evidence.as_ref().and_then(|e| e.arguments.as_deref())
    }
}

const FIELDS: [&str; 9] = [
    "user",
    "connector",
    "tool",
    "groups",
    "context",
    "now",
    "auth",
    "grants",
    "arguments",
];
const EVIDENCE_FIELDS: [&str; 4] = ["now", "auth", "grants", "arguments"];

fn unknown_field(key: &str) -> RequestError {
    RequestError::new(
        pointer(key),
        format!(
            "unknown field `{key}`, expected one of user, connector, tool, groups, context, \
             now, auth, grants, arguments"
        ),
    )
}

fn pointer(key: &str) -> String {
    let mut p = String::from("/");
    escape_token(key, &mut p);
    p
}

fn required_str(v: Option<&Value>, name: &str) -> Result<String, RequestError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(RequestError::new(
            pointer(name),
            format!("`{name}` must be a string"),
        )),
        None => Err(RequestError::new(
            "",
            format!("missing required field `{name}`"),
        )),
    }
}

/// Rejects an object anywhere in the context that repeats a key: which one counts would be
/// a guess, so the request fails closed.
fn duplicate_keys(json: &Json<'_>, path: &mut String) -> Result<(), RequestError> {
    match json {
        Json::Object(members) => {
            let mut seen = rustc_hash::FxHashSet::default();
            for (k, v) in members {
                let len = path.len();
                path.push('/');
                escape_token(k, path);
                if !seen.insert(&**k) {
                    return Err(RequestError::new(
                        path.clone(),
                        format!("duplicate key `{k}`"),
                    ));
                }
                duplicate_keys(v, path)?;
                path.truncate(len);
            }
        }
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                duplicate_keys(v, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}
