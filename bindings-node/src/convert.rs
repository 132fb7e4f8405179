//! Every conversion between JavaScript values and the core's types, and the errors thrown.

use std::sync::Arc;

use agen_policy_core as core;
use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{Either, Function, FunctionRef, Object, Uint8Array, Unknown};
use napi::{Env, Error, Result, Status, ValueType};
use napi_derive::napi;
use rustc_hash::FxHashMap;

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
}

impl From<core::Reason> for Reason {
    fn from(reason: core::Reason) -> Self {
        match reason {
            core::Reason::UnknownConnector => Reason::UnknownConnector,
            core::Reason::ConnectorDisabled => Reason::ConnectorDisabled,
            core::Reason::UnknownTool => Reason::UnknownTool,
            core::Reason::ToolDisabled => Reason::ToolDisabled,
            core::Reason::NoPolicy => Reason::NoPolicy,
            // `Reason` is non-exhaustive; a reason added later is still a policy outcome.
            _ => Reason::Policy,
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
    /// `true` only for `allow`.
    pub allowed: bool,
    /// The version of the policy set that decided: the SHA-256, in hex, of its document.
    pub version: String,
}

impl From<&core::Decision<'_>> for Decision {
    fn from(d: &core::Decision<'_>) -> Self {
        Decision {
            action: d.action().into(),
            reason: d.reason().into(),
            policies: d.policies().iter().map(|p| (*p).to_owned()).collect(),
            approval_flows: d.approval_flows().iter().map(|f| (*f).to_owned()).collect(),
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
    /// `document`, `request` or `io`: which error class.
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
    fn into_object(self, env: &Env) -> Result<Object<'_>> {
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

/// The error constructor registered by `index.js`, kept per Node environment (main thread or
/// worker), as Node-API references are.
pub struct ErrorFactory {
    factory: FunctionRef<Object<'static>, Unknown<'static>>,
}

impl ErrorFactory {
    pub(crate) fn install(
        env: &Env,
        factory: &Function<Object<'static>, Unknown<'static>>,
    ) -> Result<()> {
        let factory = ErrorFactory {
            factory: factory.create_ref()?,
        };
        env.set_instance_data(factory, (), |_| {})
    }
}

/// Turns an error description into the error to throw: an instance of the registered class, or
/// without one a plain `Error` carrying `code`.
fn throw(env: &Env, info: ErrorInfo) -> Error {
    let built = env
        .get_instance_data::<ErrorFactory>()
        .ok()
        .flatten()
        .and_then(|f| f.factory.borrow_back(env).ok());
    let plain = Error::new(
        Status::GenericFailure,
        format!("{}: {}", info.code, info.message),
    );
    let Some(factory) = built else {
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

fn request_error(env: &Env, e: &core::RequestError, index: Option<usize>) -> Error {
    throw(
        env,
        ErrorInfo {
            kind: "request",
            message: match index {
                Some(i) => format!("request {i}: {e}"),
                None => e.to_string(),
            },
            code: e.code().to_owned(),
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

pub(crate) fn internal(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

/// `JSON.stringify(value)`: how JavaScript itself turns a value into JSON (`toJSON`, dropped
/// `undefined` members, a `TypeError` on cycles and BigInts). A value JSON cannot hold at all
/// (`undefined`, a function) becomes `null`, which the core then rejects with its own message.
pub(crate) fn stringify(env: &Env, value: Unknown) -> Result<String> {
    let json: Object = env.get_global()?.get_named_property("JSON")?;
    let stringify: Function<Unknown, Option<String>> = json.get_named_property("stringify")?;
    Ok(stringify.call(value)?.unwrap_or_else(|| "null".to_owned()))
}

/// A document given as JSON text, bytes, or an object.
pub(crate) fn document_bytes(env: &Env, document: Unknown) -> Result<Vec<u8>> {
    match document.get_type()? {
        ValueType::String => Ok(
            <String as napi::bindgen_prelude::FromNapiValue>::from_unknown(document)?.into_bytes(),
        ),
        _ => {
            let bytes: Either<Uint8Array, Unknown> =
                napi::bindgen_prelude::FromNapiValue::from_unknown(document)?;
            match bytes {
                Either::A(bytes) => Ok(bytes.to_vec()),
                Either::B(value) => Ok(stringify(env, value)?.into_bytes()),
            }
        }
    }
}

pub(crate) fn request(env: &Env, value: Unknown) -> Result<core::Request> {
    request_at(env, value, None)
}

pub(crate) fn request_at(env: &Env, value: Unknown, index: Option<usize>) -> Result<core::Request> {
    let text = stringify(env, value)?;
    request_from_json(env, &text, index)
}

pub(crate) fn request_from_json(
    env: &Env,
    text: &str,
    index: Option<usize>,
) -> Result<core::Request> {
    core::Request::from_json(text).map_err(|e| request_error(env, &e, index))
}

/// Policy ids (or approval flow ids) and their positions, which encoded decisions give.
fn id_index(ids: &[String]) -> FxHashMap<Box<str>, u32> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (id.as_str().into(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect()
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

/// A policy set for the fast path, which exchanges requests and decisions as bytes.
///
/// A request, as `index.js` encodes it (integers are little-endian `u32`):
///
/// ```text
/// request = str(user) str(connector) str(tool) u32(n) str(group)*n context
/// context = 0x00 | 0x01 entries
/// entries = u32(n) (str(key) value)*n
/// value   = 0x00 null | 0x01 false | 0x02 true | 0x03 f64 | 0x04 str
///         | 0x05 u32(n) value*n | 0x06 entries
/// str     = u32(byte length) UTF-8 bytes
/// ```
///
/// The decision overwrites the buffer's start as native-endian `u32`s, which JavaScript reads
/// through a `Uint32Array`: action (0 allow .. 3 deny), reason (0 unknown_connector .. 5 policy),
/// the number of policies and their indices, the number of approval flows and their indices.
pub struct Encoded {
    set: Arc<core::PolicySet>,
    policies: FxHashMap<Box<str>, u32>,
    approval_flows: FxHashMap<Box<str>, u32>,
}

impl Encoded {
    pub(crate) fn new(set: &Arc<core::PolicySet>) -> Self {
        Encoded {
            set: Arc::clone(set),
            policies: id_index(&policy_ids(set)),
            approval_flows: id_index(&approval_flow_ids(set)),
        }
    }

    pub(crate) fn evaluate(&self, buffer: &mut [u8]) -> bool {
        let Some(request) = decode_request(buffer) else {
            return false;
        };
        let decision = self.set.evaluate(&request);
        let action = core::Action::ALL
            .iter()
            .position(|a| *a == decision.action());
        let reason = core::Reason::ALL
            .iter()
            .position(|r| *r == decision.reason());
        let mut out = Writer { buffer, at: 0 };
        out.u32(action.unwrap_or(3));
        out.u32(reason.unwrap_or(5));
        out.ids(decision.policies(), &self.policies)
            && out.ids(decision.approval_flows(), &self.approval_flows)
    }
}

struct Writer<'a> {
    buffer: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn u32(&mut self, n: usize) -> bool {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        match self.buffer.get_mut(self.at..self.at + 4) {
            Some(slot) => {
                slot.copy_from_slice(&n.to_ne_bytes());
                self.at += 4;
                true
            }
            None => false,
        }
    }

    fn ids(&mut self, ids: &[&str], index: &FxHashMap<Box<str>, u32>) -> bool {
        self.u32(ids.len())
            && ids.iter().all(|id| match index.get(*id) {
                Some(&i) => self.u32(i as usize),
                None => false,
            })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<usize> {
        let bytes = self.take(4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(bytes)).ok()
    }

    fn str(&mut self) -> Option<String> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?).ok().map(str::to_owned)
    }

    fn entries(&mut self, depth: usize) -> Option<serde_json::Map<String, serde_json::Value>> {
        let n = self.u32()?;
        let mut map = serde_json::Map::new();
        for _ in 0..n {
            let key = self.str()?;
            let value = self.value(depth)?;
            map.insert(key, value);
        }
        Some(map)
    }

    fn value(&mut self, depth: usize) -> Option<serde_json::Value> {
        use serde_json::Value;
        // INVARIANT: the encoder stops at a bounded depth, so the recursion here is bounded too;
        // a deeper buffer is not one the encoder wrote.
        let depth = depth.checked_sub(1)?;
        Some(match self.u8()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Number(number(f64::from_le_bytes(self.take(8)?.try_into().ok()?))?),
            4 => Value::String(self.str()?),
            5 => {
                let n = self.u32()?;
                let mut items = Vec::with_capacity(n.min(self.bytes.len()));
                for _ in 0..n {
                    items.push(self.value(depth)?);
                }
                Value::Array(items)
            }
            6 => Value::Object(self.entries(depth)?),
            _ => return None,
        })
    }
}

/// Context nesting the decoder accepts; the core's own limit (32 by default) is checked after.
const MAX_DEPTH: usize = 64;

/// A JavaScript number as `JSON.stringify` writes it and JSON parsing reads it back: an integral
/// value below 1e21 is written without a fraction, so it becomes an integer.
fn number(v: f64) -> Option<serde_json::Number> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if v.fract() == 0.0 && v.abs() < 1e21 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        if (0.0..TWO_64).contains(&v) || v == 0.0 {
            return Some((v.abs() as u64).into());
        } else if (-TWO_63..0.0).contains(&v) {
            return Some((v as i64).into());
        }
    }
    serde_json::Number::from_f64(v)
}

fn decode_request(bytes: &[u8]) -> Option<core::Request> {
    let mut r = Reader { bytes };
    let mut builder = core::Request::builder(r.str()?, r.str()?, r.str()?);
    let groups = r.u32()?;
    for _ in 0..groups {
        builder = builder.group(r.str()?);
    }
    if r.u8()? == 1 {
        builder = builder.context_map(r.entries(MAX_DEPTH)?);
    }
    builder.build().ok()
}
