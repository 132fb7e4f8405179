//! Every conversion between JavaScript values and the core's types, and the errors thrown.

use std::io::Read;
use std::ops::Deref;

use agen_policy_core as core;
use napi::bindgen_prelude::{
    FromNapiValue, Function, FunctionRef, JsObjectValue, Object, Uint8ArraySlice, Unknown,
};
use napi::{Env, Error, JsString, JsValue, Result, Status, ValueType};
use napi_derive::napi;

/// What the host does with the tool call, from least to most restrictive.
#[napi(string_enum = "snake_case")]
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

impl From<core::Action> for Action {
    fn from(action: core::Action) -> Self {
        match action {
            core::Action::Allow => Action::Allow,
            core::Action::StepUp => Action::StepUp,
            core::Action::RequestApproval => Action::RequestApproval,
            core::Action::Deny => Action::Deny,
        }
    }
}

/// Why a decision has its action.
#[napi(string_enum = "snake_case")]
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
    /// The most restrictive action served by the applicable policies.
    Policy,
    /// The engine found itself in a state its construction rules out, and denied.
    Internal,
}

impl From<core::Reason> for Reason {
    fn from(reason: core::Reason) -> Self {
        match reason {
            core::Reason::UnknownConnector => Reason::UnknownConnector,
            core::Reason::ConnectorDisabled => Reason::ConnectorDisabled,
            core::Reason::UnknownTool => Reason::UnknownTool,
            core::Reason::ToolDisabled => Reason::ToolDisabled,
            core::Reason::NoPolicy => Reason::NoPolicy,
            core::Reason::Policy => Reason::Policy,
            // `Reason` is non-exhaustive: a reason this binding does not know yet is reported as
            // `internal` rather than passed off as a policy outcome.
            _ => Reason::Internal,
        }
    }
}

/// The answer to one request.
#[napi(object, object_from_js = false)]
pub struct Decision {
    /// The action.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Ids of the determining policies (those that served the action), in byte order; empty
    /// unless the reason is `policy`.
    pub policies: Vec<String>,
    /// For `request_approval`, the distinct approval flows of the determining policies, in byte
    /// order; empty otherwise.
    pub approval_flows: Vec<String>,
    /// Ids of the candidates whose served `step_up` or `request_approval` the request's evidence
    /// satisfied (SPEC §7.3), in byte order, whatever the decision; usually empty.
    pub satisfied: Vec<String>,
    /// For `step_up`, the requirement of each determining policy, by policy id; empty otherwise.
    pub step_up: Vec<StepUpRequirement>,
    /// `true` only for `allow`.
    pub allowed: bool,
    /// The version of the policy set that decided: the SHA-256, in hex, of its document.
    pub version: String,
}

/// What a `step_up` decision asks of the user's last authentication (SPEC §7.1).
#[napi(object, object_from_js = false)]
pub struct StepUpRequirement {
    /// The policy that asks for it.
    pub policy: String,
    /// Seconds the last authentication may be old.
    pub max_age: u32,
    /// Accepted authentication context classes (OIDC `acr`), in document order; empty: any.
    pub acr_values: Vec<String>,
}

impl From<&core::StepUpRequirement> for StepUpRequirement {
    fn from(r: &core::StepUpRequirement) -> Self {
        StepUpRequirement {
            policy: r.policy().to_owned(),
            max_age: r.max_age(),
            acr_values: r.acr_values().iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl From<&core::Decision<'_>> for Decision {
    fn from(d: &core::Decision<'_>) -> Self {
        Decision {
            action: d.action().into(),
            reason: d.reason().into(),
            policies: d.policies().map(str::to_owned).collect(),
            approval_flows: d.approval_flows().map(str::to_owned).collect(),
            satisfied: d.satisfied().map(str::to_owned).collect(),
            step_up: d.step_up().map(Into::into).collect(),
            allowed: d.allowed(),
            version: d.version().to_owned(),
        }
    }
}

impl From<&core::OwnedDecision> for Decision {
    fn from(d: &core::OwnedDecision) -> Self {
        Decision {
            action: d.action.into(),
            reason: d.reason.into(),
            policies: d.policies.clone(),
            approval_flows: d.approval_flows.clone(),
            satisfied: d.satisfied.clone(),
            step_up: d.step_up.iter().map(StepUpRequirement::from).collect(),
            allowed: d.allowed(),
            version: d.version.clone(),
        }
    }
}

/// One problem found in a document: an error or a warning.
#[napi(object, object_from_js = false)]
pub struct Problem {
    /// The stable code, e.g. `duplicate_id`.
    pub code: String,
    /// A JSON Pointer to the offending value; `""` is the document itself.
    pub path: String,
    /// What is wrong, naming the offending value.
    pub message: String,
    /// For a JSON syntax error, the 1-based line.
    pub line: Option<u32>,
    /// For a JSON syntax error, the 1-based column.
    pub column: Option<u32>,
}

impl From<&core::Problem> for Problem {
    fn from(p: &core::Problem) -> Self {
        let position = |n: Option<usize>| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        Problem {
            code: p.code().as_str().to_owned(),
            path: p.path().to_owned(),
            message: p.message().to_owned(),
            line: position(p.line()),
            column: position(p.column()),
        }
    }
}

fn problems(list: &[core::Problem]) -> Vec<Problem> {
    list.iter().map(Problem::from).collect()
}

/// The outcome of validating a document.
#[napi(object, object_from_js = false)]
pub struct Validation {
    /// Whether the document loads (it has no errors).
    pub valid: bool,
    /// Every error.
    pub problems: Vec<Problem>,
    /// Every warning; warnings do not stop loading.
    pub warnings: Vec<Problem>,
}

impl From<&core::Validation> for Validation {
    fn from(v: &core::Validation) -> Self {
        Validation {
            valid: v.is_valid(),
            problems: problems(&v.problems),
            warnings: problems(&v.warnings),
        }
    }
}

/// A decision and how it came about. `toString()` gives the readable text.
#[napi]
pub struct Explanation {
    inner: core::Explanation,
}

impl Explanation {
    pub(crate) fn new(inner: core::Explanation) -> Self {
        Explanation { inner }
    }
}

#[napi]
impl Explanation {
    /// Not a way to make an explanation: they come from `explain`.
    #[napi(constructor, skip_typescript, catch_unwind)]
    pub fn refuse_new(env: Env) -> Result<Explanation> {
        Err(argument_error(
            &env,
            "an Explanation comes from `explain`, not `new`".to_owned(),
        ))
    }

    /// The decision, exactly as `evaluate` makes it.
    #[napi(getter, catch_unwind)]
    pub fn decision(&self) -> Decision {
        Decision::from(&self.inner.decision)
    }

    /// The request's user.
    #[napi(getter, catch_unwind)]
    pub fn user(&self) -> String {
        self.inner.user.clone()
    }

    /// Whether the user is in the document's directory.
    #[napi(getter, catch_unwind)]
    pub fn user_in_directory(&self) -> bool {
        self.inner.user_in_directory
    }

    /// The user's effective groups: the directory's, then the request's.
    #[napi(getter, catch_unwind)]
    pub fn effective_groups(&self) -> Vec<String> {
        self.inner.effective_groups.clone()
    }

    /// The request's connector.
    #[napi(getter, catch_unwind)]
    pub fn connector(&self) -> String {
        self.inner.connector.clone()
    }

    /// The request's tool.
    #[napi(getter, catch_unwind)]
    pub fn tool(&self) -> String {
        self.inner.tool.clone()
    }

    /// Every policy of the request's connector, in id order.
    #[napi(getter, catch_unwind)]
    pub fn policies(&self) -> Vec<PolicyTrace> {
        self.inner.policies.iter().map(PolicyTrace::from).collect()
    }

    /// The explanation as readable text, the same as the CLI prints.
    #[napi(catch_unwind)]
    #[allow(clippy::inherent_to_string)]
    pub fn to_string(&self) -> String {
        self.inner.to_string()
    }

    /// The explanation as plain data (what `JSON.stringify` writes).
    #[napi(catch_unwind, js_name = "toJSON", ts_return_type = "ExplanationJson")]
    pub fn to_json(&self) -> ExplanationJson {
        ExplanationJson {
            decision: self.decision(),
            user: self.user(),
            user_in_directory: self.user_in_directory(),
            effective_groups: self.effective_groups(),
            connector: self.connector(),
            tool: self.tool(),
            policies: self.policies(),
        }
    }
}

/// An explanation as plain data.
#[napi(object, object_from_js = false)]
pub struct ExplanationJson {
    /// The decision.
    pub decision: Decision,
    /// The request's user.
    pub user: String,
    /// Whether the user is in the document's directory.
    pub user_in_directory: bool,
    /// The user's effective groups.
    pub effective_groups: Vec<String>,
    /// The request's connector.
    pub connector: String,
    /// The request's tool.
    pub tool: String,
    /// Every policy of the request's connector, in id order.
    pub policies: Vec<PolicyTrace>,
}

/// How one policy bears on the request.
#[napi(object, object_from_js = false)]
pub struct PolicyTrace {
    /// The policy's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its action.
    pub action: Action,
    /// Whether its tool selector selects the requested tool.
    pub governs_tool: bool,
    /// Why the user is in its scope (`all users`, `user alice`, `group eng`), if they are.
    pub scope: Option<String>,
    /// Its rules with every condition's result; evaluated only when it is a candidate.
    pub rules: Vec<RuleTrace>,
    /// What it serves when no rule matches, if it has targeting.
    pub otherwise: Option<String>,
    /// What it served, if it was a candidate: an action, or `none` (it dropped out).
    pub served: Option<String>,
    /// Whether it is one of the decision's determining policies.
    pub determining: bool,
    /// For a served `step_up` or `request_approval`: the evidence that would satisfy it, and
    /// whether the request held it.
    pub evidence: Option<EvidenceTrace>,
}

/// The evidence a served `step_up` or `request_approval` needs, and whether the request held it.
#[napi(object, object_from_js = false)]
pub struct EvidenceTrace {
    /// What would satisfy it, in words.
    pub needed: String,
    /// Whether the request's evidence satisfies it (the policy then counts as `allow`).
    pub held: bool,
    /// Why it held or did not, in words.
    pub because: String,
}

impl From<&core::EvidenceTrace> for EvidenceTrace {
    fn from(e: &core::EvidenceTrace) -> Self {
        EvidenceTrace {
            needed: e.needed.clone(),
            held: e.held,
            because: e.because.clone(),
        }
    }
}

impl From<&core::PolicyTrace> for PolicyTrace {
    fn from(p: &core::PolicyTrace) -> Self {
        PolicyTrace {
            id: p.id.clone(),
            name: p.name.clone(),
            action: p.action.into(),
            governs_tool: p.governs_tool,
            scope: p.scope.clone(),
            rules: p.rules.iter().map(RuleTrace::from).collect(),
            otherwise: p.otherwise.clone(),
            served: p.served.clone(),
            determining: p.determining,
            evidence: p.evidence.as_ref().map(EvidenceTrace::from),
        }
    }
}

/// One rule of a targeting.
#[napi(object, object_from_js = false)]
pub struct RuleTrace {
    /// Whether every condition holds.
    pub matched: bool,
    /// Its conditions.
    pub conditions: Vec<ConditionTrace>,
}

impl From<&core::RuleTrace> for RuleTrace {
    fn from(r: &core::RuleTrace) -> Self {
        RuleTrace {
            matched: r.matched,
            conditions: r.conditions.iter().map(ConditionTrace::from).collect(),
        }
    }
}

/// One condition and its result.
#[napi(object, object_from_js = false)]
pub struct ConditionTrace {
    /// The attribute name.
    pub attribute: String,
    /// The operator, e.g. `equals`.
    pub operator: String,
    /// The condition's values.
    #[napi(ts_type = "unknown[]")]
    pub values: Vec<serde_json::Value>,
    /// Whether the result is inverted.
    pub negate: bool,
    /// Whether strings compare ignoring case.
    pub ignore_case: bool,
    /// The attribute's value in this request, if it has one.
    #[napi(ts_type = "unknown")]
    pub actual: Option<serde_json::Value>,
    /// The result: `true`, `false`, or `missing` (nothing comparable to read).
    #[napi(ts_type = "'true' | 'false' | 'missing'")]
    pub outcome: String,
}

impl From<&core::ConditionTrace> for ConditionTrace {
    fn from(c: &core::ConditionTrace) -> Self {
        ConditionTrace {
            attribute: c.attribute.clone(),
            operator: c.operator.as_str().to_owned(),
            values: c.values.clone(),
            negate: c.negate,
            ignore_case: c.ignore_case,
            actual: c.actual.clone(),
            outcome: c.outcome.as_str().to_owned(),
        }
    }
}

/// What `index.js` receives to build the error it throws.
#[derive(Default)]
pub(crate) struct ErrorInfo {
    /// `document`, `request`, `argument` or `io`: which error class.
    kind: &'static str,
    message: String,
    /// The stable code.
    code: String,
    /// For a request, a JSON Pointer into it; for a document, the first problem's.
    path: Option<String>,
    /// For a document, every error and every warning.
    problems: Option<(Vec<Problem>, Vec<Problem>)>,
    /// In `evaluateMany`, the position of the invalid request.
    index: Option<u32>,
}

impl ErrorInfo {
    fn into_object(self, env: &Env) -> Result<Object<'static>> {
        let mut o = Object::new(env)?;
        o.set("kind", self.kind)?;
        o.set("message", self.message)?;
        o.set("code", self.code)?;
        if let Some(path) = self.path {
            o.set("path", path)?;
        }
        if let Some((problems, warnings)) = self.problems {
            o.set("problems", problems)?;
            o.set("warnings", warnings)?;
        }
        if let Some(index) = self.index {
            o.set("index", index)?;
        }
        Ok(o)
    }
}

/// A function that `index.js` registers; it takes one object argument.
type Hook = FunctionRef<Object<'static>, Unknown<'static>>;

/// What `index.js` registers, kept per Node environment (main thread or worker), as Node-API
/// references are: the function that builds its error classes, the one that writes a
/// JavaScript value as JSON text, and the one that prepares each new handle (it makes
/// structured cloning fail loudly rather than copy an empty object).
pub struct Hooks {
    error: Hook,
    json: Hook,
    adopt: Hook,
}

impl Hooks {
    pub(crate) fn install(
        env: &Env,
        [error, json, adopt]: [&Function<Object<'static>, Unknown<'static>>; 3],
    ) -> Result<()> {
        let hooks = Hooks {
            error: error.create_ref()?,
            json: json.create_ref()?,
            adopt: adopt.create_ref()?,
        };
        env.set_instance_data(hooks, (), |_| {})
    }
}

fn hook<'env>(
    env: &'env Env,
    pick: fn(&Hooks) -> &Hook,
) -> Option<Function<'env, Object<'static>, Unknown<'static>>> {
    let hooks = env.get_instance_data::<Hooks>().ok().flatten()?;
    pick(hooks).borrow_back(env).ok()
}

/// Hands a new policy set to `index.js` to prepare.
pub(crate) fn adopt(env: &Env, handle: &Object) -> Result<()> {
    if let Some(adopt) = hook(env, |h| &h.adopt) {
        let mut args = Object::new(env)?;
        args.set("handle", handle)?;
        adopt.call(args)?;
    }
    Ok(())
}

/// Turns an error description into the error to throw: an instance of the registered class, or
/// without one a plain `Error` carrying `code`.
fn throw(env: &Env, info: ErrorInfo) -> Error {
    let plain = Error::new(
        Status::GenericFailure,
        format!("{}: {}", info.code, info.message),
    );
    let Some(factory) = hook(env, |h| &h.error) else {
        return plain;
    };
    // A factory that throws leaves its exception pending, and that is the one surfaced.
    match info.into_object(env).and_then(|o| factory.call(o)) {
        Ok(error) => Error::from(error),
        Err(e) if e.status == Status::PendingException => e,
        Err(_) => plain,
    }
}

pub(crate) fn load_error(env: &Env, e: &core::LoadError) -> Error {
    throw(
        env,
        ErrorInfo {
            kind: "document",
            message: e.to_string(),
            code: e.code().as_str().to_owned(),
            path: e.problems().first().map(|p| p.path().to_owned()),
            problems: Some((problems(e.problems()), problems(e.warnings()))),
            index: None,
        },
    )
}

/// An approval operation that did not happen (`ApprovalError`, with the core's code).
pub(crate) fn approval_error(env: &Env, e: &core::ApprovalError) -> Error {
    throw(
        env,
        ErrorInfo {
            kind: "approval",
            message: e.to_string(),
            code: e.code().as_str().to_owned(),
            ..ErrorInfo::default()
        },
    )
}

pub(crate) fn request_error(env: &Env, e: &core::RequestError, index: Option<usize>) -> Error {
    throw(
        env,
        ErrorInfo {
            kind: "request",
            message: match index {
                Some(i) => format!("request {i}: {e}"),
                None => e.to_string(),
            },
            code: e.code().as_str().to_owned(),
            path: Some(e.path().to_owned()),
            problems: None,
            index: index.map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
        },
    )
}

pub(crate) fn io_error(env: &Env, path: &str, e: &std::io::Error) -> Error {
    throw(
        env,
        ErrorInfo {
            kind: "io",
            message: format!("cannot read `{path}`: {e}"),
            code: "io_error".to_owned(),
            ..ErrorInfo::default()
        },
    )
}

/// An argument of the wrong type or an unknown option (code `invalid_argument`).
pub(crate) fn argument_error(env: &Env, message: String) -> Error {
    throw(
        env,
        ErrorInfo {
            kind: "argument",
            message,
            code: "invalid_argument".to_owned(),
            ..ErrorInfo::default()
        },
    )
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

/// A JavaScript value's type as messages name it.
pub(crate) fn type_name(value: &Unknown) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::BigInt) => "a BigInt",
        Ok(ValueType::Object) if value.is_array().unwrap_or(false) => "an array",
        Ok(ValueType::Object) => "an object",
        _ => "a value of another kind",
    }
}

/// What a JSON text is read as: each kind has its size limit and its error class, which
/// `index.js` also knows by the kind's name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A policy document.
    Document,
    /// A request.
    Request,
    /// The request an approval is opened for: an `ApprovalError` (`invalid_request`) when bad.
    ApprovalRequest,
    /// An approval state (SPEC §8.2): an `ApprovalError` (`invalid_state`) when bad.
    State,
    /// An argument of an approval operation (a person, a flow, an id, `now`, groups): an
    /// `ApprovalError` (`invalid_request`) when bad.
    Argument,
    /// A tool call's arguments, to digest (SPEC §8.5): a `RequestError` when bad.
    Arguments,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Document => "document",
            Kind::Request => "request",
            Kind::ApprovalRequest => "approval_request",
            Kind::State => "state",
            Kind::Argument => "approval_argument",
            Kind::Arguments => "arguments",
        }
    }

    /// The bound on the text's size in bytes: the core's for documents and requests; a state
    /// or an approval's argument is held to a request's; a call's arguments to a document's.
    fn limit(self) -> usize {
        let limits = core::Limits::default();
        match self {
            Kind::Document | Kind::Arguments => limits.max_document_bytes,
            Kind::Request | Kind::ApprovalRequest | Kind::State | Kind::Argument => {
                limits.max_request_bytes
            }
        }
    }
}

/// JSON text for the core: borrowed from a `Uint8Array` (up to a length), or owned.
///
/// Whatever the source (a string, bytes, a file, a value written as JSON), the core is given at
/// most one byte more than its limit, so a text too long is refused in the same words from
/// every source: "... is <limit + 1> bytes, more than the limit of <limit>".
pub(crate) enum Text<'a> {
    Borrowed(Uint8ArraySlice<'a>, usize),
    Owned(Vec<u8>),
}

impl Deref for Text<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Text::Borrowed(bytes, len) => bytes.get(..*len).unwrap_or(bytes),
            Text::Owned(bytes) => bytes,
        }
    }
}

/// What stands for a text longer than `limit`: `limit + 1` zero bytes.
///
/// INVARIANT: the core refuses a text longer than its limit on the length alone, before it
/// parses anything (`limit_exceeded` for a document, `invalid_request` for a request), so these
/// bytes are never read. A zeroed allocation of this size is fresh pages that nothing touches:
/// a longer string is neither copied nor read past the limit.
fn past_limit(limit: usize) -> Text<'static> {
    Text::Owned(vec![0; limit.saturating_add(1)])
}

/// A JavaScript string as UTF-8, measured before it is copied (see [`past_limit`]).
fn string_text(value: Unknown, kind: Kind) -> Result<Text<'static>> {
    let string = JsString::from_unknown(value)?;
    if string.utf8_len()? > kind.limit() {
        return Ok(past_limit(kind.limit()));
    }
    Ok(Text::Owned(string.into_utf8()?.into()))
}

/// JSON text given as a string or a `Uint8Array` (a `Buffer` is one), read no further than one
/// byte past the core's limit for `kind`: a string is measured before it is copied, bytes are
/// borrowed. `what` names the argument in the error for any other type.
pub(crate) fn text<'a>(env: &Env, value: Unknown<'a>, kind: Kind, what: &str) -> Result<Text<'a>> {
    match value.get_type()? {
        ValueType::String => string_text(value, kind),
        ValueType::Object if value.is_typedarray()? => match Uint8ArraySlice::from_unknown(value) {
            Ok(bytes) => {
                let len = bytes.len().min(kind.limit().saturating_add(1));
                Ok(Text::Borrowed(bytes, len))
            }
            Err(_) => Err(argument_error(
                env,
                format!("{what} must be a string or a Uint8Array, not another typed array"),
            )),
        },
        _ => Err(argument_error(
            env,
            format!(
                "{what} must be a string or a Uint8Array, not {}",
                type_name(&value)
            ),
        )),
    }
}

/// A document given as JSON text or bytes, or as a JavaScript value to write as JSON.
pub(crate) fn document_text<'a>(env: &Env, value: Unknown<'a>) -> Result<Text<'a>> {
    match value.get_type()? {
        ValueType::String => text(env, value, Kind::Document, "the document"),
        ValueType::Object if value.is_typedarray()? => {
            text(env, value, Kind::Document, "the document")
        }
        _ => json(env, value, Kind::Document, None),
    }
}

/// A JavaScript value as JSON text, the way `JSON.stringify` writes it (`toJSON`, `undefined`
/// members left out), through the function `index.js` registers. That function throws the
/// package's own errors for what JSON cannot hold (a BigInt, a cycle) and cuts nesting far
/// deeper than the core accepts, so that the core reports it rather than the stack overflowing.
/// A value JSON cannot hold at all (`undefined`, a function) becomes `null`, which the core
/// then rejects with its own message.
pub(crate) fn json<'a>(
    env: &Env,
    value: Unknown<'a>,
    kind: Kind,
    index: Option<usize>,
) -> Result<Text<'a>> {
    let written = match hook(env, |h| &h.json) {
        Some(write) => {
            let mut args = Object::new(env)?;
            args.set("value", value)?;
            args.set("kind", kind.as_str())?;
            if let Some(i) = index {
                args.set("index", u32::try_from(i).unwrap_or(u32::MAX))?;
            }
            write.call(args)?
        }
        // The addon loaded without `index.js`: JSON.stringify itself.
        None => {
            let json: Object = env.get_global()?.get_named_property("JSON")?;
            let stringify: Function<Unknown, Unknown> = json.get_named_property("stringify")?;
            stringify.call(value)?
        }
    };
    if written.get_type()? == ValueType::String {
        string_text(written, kind)
    } else {
        Ok(Text::Owned(b"null".to_vec()))
    }
}

/// A JavaScript value as a JSON value, for the core's functions that take one (approvals, the
/// arguments digest). Written as JSON by `index.js` (which turns a `Date` given as an instant
/// into Unix milliseconds), then read back as the core reads JSON text.
pub(crate) fn value(env: &Env, value: Unknown, kind: Kind) -> Result<serde_json::Value> {
    let text = json(env, value, kind, None)?;
    if text.len() > kind.limit() {
        return Err(value_error(
            env,
            kind,
            format!(
                "the {} is larger than the limit of {} bytes",
                kind.noun(),
                kind.limit()
            ),
        ));
    }
    serde_json::from_slice(&text).map_err(|e| match kind {
        // Deeper than serde_json reads (128 levels), so deeper than a request may be: the core
        // says why, in its words.
        Kind::ApprovalRequest => {
            match core::Request::from_slice_with_limits(&text, &core::Limits::default()) {
                Err(e) => value_error(env, kind, format!("invalid request: {e}")),
                Ok(_) => value_error(env, kind, format!("the request is not JSON: {e}")),
            }
        }
        _ => value_error(env, kind, format!("the {} is not JSON: {e}", kind.noun())),
    })
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Document => "document",
            Kind::Request | Kind::ApprovalRequest => "request",
            Kind::State => "state",
            Kind::Argument => "argument",
            Kind::Arguments => "arguments",
        }
    }
}

/// The error of a value of `kind` that cannot be read: the class and code its kind has.
fn value_error(env: &Env, kind: Kind, message: String) -> Error {
    match kind {
        Kind::ApprovalRequest | Kind::Argument => approval_error(
            env,
            &core::ApprovalError::new(core::ApprovalCode::InvalidRequest, message),
        ),
        Kind::State => approval_error(
            env,
            &core::ApprovalError::new(core::ApprovalCode::InvalidState, message),
        ),
        Kind::Document | Kind::Request | Kind::Arguments => {
            request_error(env, &core::RequestError::new("", message), None)
        }
    }
}

/// A request given as a JavaScript value: written as JSON, then parsed and checked by the core.
pub(crate) fn request(env: &Env, value: Unknown, index: Option<usize>) -> Result<core::Request> {
    let text = json(env, value, Kind::Request, index)?;
    request_from_slice(env, &text, index)
}

/// A request given as JSON text or bytes (SPEC §3), parsed and checked by the core.
pub(crate) fn request_from_text(env: &Env, value: Unknown) -> Result<core::Request> {
    let text = text(env, value, Kind::Request, "the request text")?;
    request_from_slice(env, &text, None)
}

pub(crate) fn request_from_slice(
    env: &Env,
    bytes: &[u8],
    index: Option<usize>,
) -> Result<core::Request> {
    core::Request::from_slice_with_limits(bytes, &core::Limits::default())
        .map_err(|e| request_error(env, &e, index))
}

/// Reads a document file no further than one byte past the core's document size limit, which
/// then refuses it: a huge file (or `/dev/zero`) is never read whole.
pub(crate) fn read_document(env: &Env, path: Unknown) -> Result<Vec<u8>> {
    if path.get_type()? != ValueType::String {
        return Err(argument_error(
            env,
            format!("the path must be a string, not {}", type_name(&path)),
        ));
    }
    let path = String::from_unknown(path)?;
    let bound = u64::try_from(Kind::Document.limit())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let read = || -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(bound)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    read().map_err(|e| io_error(env, &path, &e))
}

/// The policy ids of a set, indexed as encoded decisions name them.
pub(crate) fn policy_ids(set: &core::PolicySet) -> Vec<String> {
    set.document()
        .policies
        .iter()
        .map(|p| p.id.to_string())
        .collect()
}

/// The approval flow ids of a set, indexed as encoded decisions name them.
pub(crate) fn approval_flow_ids(set: &core::PolicySet) -> Vec<String> {
    set.document()
        .approval_flows
        .iter()
        .map(|f| f.id.to_string())
        .collect()
}

/// The authentication context classes a step-up requirement may name (the document's and each
/// policy's `acr_values`), indexed as encoded decisions name them.
pub(crate) fn acr_value_ids(set: &core::PolicySet) -> Vec<String> {
    let document = set.document();
    let mut ids: Vec<String> = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    let step_ups = document
        .step_up
        .iter()
        .chain(document.policies.iter().filter_map(|p| p.step_up.as_ref()));
    for acr in step_ups.flat_map(|s| s.acr_values.iter().flatten()) {
        if seen.insert(acr) {
            ids.push(acr.to_string());
        }
    }
    ids
}

/// An action named by its string, as every language spells it.
pub(crate) fn action(env: &Env, action: Unknown) -> Result<core::Action> {
    let parsed = match action.get_type()? {
        ValueType::String => core::Action::parse(&String::from_unknown(action)?),
        _ => None,
    };
    parsed.ok_or_else(|| {
        argument_error(
            env,
            "the action must be one of `allow`, `step_up`, `request_approval`, `deny`".to_owned(),
        )
    })
}

/// The core's decision from the package's decision object (JSON text): the same members in
/// camelCase (`approvalFlows`, `stepUp: [{ policy, maxAge, acrValues }]`); `allowed` is
/// derived, so it is not read.
pub(crate) fn owned_decision(env: &Env, text: &str) -> Result<core::OwnedDecision> {
    let bad = |what: String| argument_error(env, format!("the decision {what}"));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("is not JSON: {e}")))?;
    let serde_json::Value::Object(d) = value else {
        return Err(bad("must be an object".to_owned()));
    };
    let member = |name: &str| d.get(name).cloned().unwrap_or(serde_json::Value::Null);
    let step_up = match d.get("stepUp") {
        None | Some(serde_json::Value::Null) => serde_json::Value::Array(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|r| {
                serde_json::json!({
                    "policy": r.get("policy"),
                    "max_age": r.get("maxAge"),
                    "acr_values": r.get("acrValues"),
                })
            })
            .collect(),
        Some(_) => return Err(bad("has a `stepUp` that is not a list".to_owned())),
    };
    let snake = serde_json::json!({
        "action": member("action"),
        "reason": member("reason"),
        "policies": member("policies"),
        "approval_flows": member("approvalFlows"),
        "satisfied": d.get("satisfied").cloned().unwrap_or_else(|| serde_json::json!([])),
        "step_up": step_up,
        "version": member("version"),
    });
    serde_json::from_value(snake).map_err(|e| bad(format!("is not a decision: {e}")))
}

/// The fields of a decision log record besides the decision, read from JSON text.
pub(crate) struct RecordFields {
    id: String,
    time: core::Millis,
    user: String,
    groups: Vec<String>,
    connector: String,
    tool: String,
    tool_call_id: Option<String>,
    arguments_digest: Option<String>,
    arguments: Option<serde_json::Value>,
}

impl RecordFields {
    pub(crate) fn parse(env: &Env, text: &str) -> Result<RecordFields> {
        let bad = |what: &str| argument_error(env, format!("decisionRecord: {what}"));
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| bad("the fields are not JSON"))?;
        let serde_json::Value::Object(mut f) = value else {
            return Err(bad("the fields must be an object"));
        };
        let mut string = |name: &str, required: bool| -> Result<Option<String>> {
            match f.remove(name) {
                None | Some(serde_json::Value::Null) if !required => Ok(None),
                Some(serde_json::Value::String(s)) if !required || !s.is_empty() => Ok(Some(s)),
                _ => Err(bad(&format!("`{name}` must be a non-empty string"))),
            }
        };
        let id = string("id", true)?.unwrap_or_default();
        let user = string("user", true)?.unwrap_or_default();
        let connector = string("connector", true)?.unwrap_or_default();
        let tool = string("tool", true)?.unwrap_or_default();
        let tool_call_id = string("toolCallId", false)?;
        let arguments_digest = string("argumentsDigest", false)?;
        let time = f
            .remove("time")
            .and_then(|t| core::parse_timestamp(&t))
            .ok_or_else(|| bad("`time` must be Unix milliseconds, a Date or an RFC 3339 text"))?;
        let groups = match f.remove("groups") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|g| match g {
                    serde_json::Value::String(g) => Ok(g),
                    _ => Err(bad("`groups` must be a list of strings")),
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(bad("`groups` must be a list of strings")),
        };
        let arguments = f.remove("arguments");
        if let Some(name) = f.keys().next() {
            return Err(bad(&format!(
                "unknown field `{name}` (expected id, time, user, connector, tool, groups, \
                 toolCallId, argumentsDigest, arguments)"
            )));
        }
        Ok(RecordFields {
            id,
            time,
            user,
            groups,
            connector,
            tool,
            tool_call_id,
            arguments_digest,
            arguments,
        })
    }

    pub(crate) fn record<'a>(
        &'a self,
        decision: &'a core::OwnedDecision,
    ) -> core::log::DecisionRecord<'a> {
        core::log::DecisionRecord {
            id: &self.id,
            time: self.time,
            user: &self.user,
            groups: &self.groups,
            connector: &self.connector,
            tool: &self.tool,
            tool_call_id: self.tool_call_id.as_deref(),
            decision,
            arguments_digest: self.arguments_digest.as_deref(),
            arguments: self.arguments.as_ref(),
        }
    }
}
