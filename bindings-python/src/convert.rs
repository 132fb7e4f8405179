//! Every conversion between Python values and the core's types, and the Python exceptions the
//! core's errors become. Conversions check types only: what a value means is the core's call.

use std::borrow::Cow;
use std::io::Write as _;

use agen_policy_core::{self as core, Limits};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple, PyType,
};
use serde_json::{Map, Number, Value};

use crate::decision::Decision;
use crate::problem::Problem;

/// The Python module that defines the package's exceptions.
const ERRORS: &str = "agen_policy._errors";
/// The Python module that defines `Action` and `Reason`.
const TYPES: &str = "agen_policy._types";

static POLICY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DOCUMENT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static REQUEST_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
/// The members of `Action`, in the order of [`core::Action::ALL`].
static ACTIONS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
/// The members of `Reason`, in the order of [`core::Reason::ALL`].
static REASONS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();

// ---------------------------------------------------------------------------------------------
// Failures

/// Why a value could not be converted, and where: the JSON Pointer tokens are collected while
/// the conversion unwinds, so a successful conversion never builds a path.
#[derive(Debug)]
pub(crate) enum Invalid {
    /// A value of the wrong type (or one without a JSON form).
    Value {
        tokens: Vec<String>,
        message: String,
    },
    /// Containers nested deeper than the limit.
    TooDeep { max: usize },
}

impl Invalid {
    fn value(message: impl Into<String>) -> Self {
        Invalid::Value {
            tokens: Vec::new(),
            message: message.into(),
        }
    }

    fn under(mut self, token: impl Into<String>) -> Self {
        if let Invalid::Value { tokens, .. } = &mut self {
            tokens.push(token.into());
        }
        self
    }

    /// The JSON Pointer of the offending value below `prefix`.
    fn pointer(tokens: &[String], prefix: &str) -> String {
        let mut out = String::from(prefix);
        for token in tokens.iter().rev() {
            out.push('/');
            for c in token.chars() {
                match c {
                    '~' => out.push_str("~0"),
                    '/' => out.push_str("~1"),
                    c => out.push(c),
                }
            }
        }
        out
    }

    /// As a rejected request: the offending value's pointer below `prefix`, or the core's
    /// wording for a context nested too deep.
    fn into_request(self, prefix: &str) -> Failure {
        match self {
            Invalid::Value { tokens, message } => Failure::Request {
                path: Invalid::pointer(&tokens, prefix),
                message,
            },
            Invalid::TooDeep { max } => Failure::Request {
                path: "/context".to_owned(),
                message: format!("context nesting exceeds the limit of {max} levels"),
            },
        }
    }

    /// As a document problem, coded like the core codes the same fault in JSON text.
    fn into_problem(self) -> Problem {
        match self {
            Invalid::Value { tokens, message } => Problem::new(
                core::Code::InvalidDocument.as_str(),
                Invalid::pointer(&tokens, ""),
                message,
            ),
            Invalid::TooDeep { max } => Problem::new(
                core::Code::LimitExceeded.as_str(),
                String::new(),
                format!("JSON nested more than {max} levels deep"),
            ),
        }
    }
}

/// A request that could not be made, before it becomes a Python exception.
pub(crate) enum Failure {
    /// An invalid request: `RequestError`.
    Request { path: String, message: String },
    /// Any other Python error, raised as it is.
    Python(PyErr),
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

impl From<core::RequestError> for Failure {
    fn from(e: core::RequestError) -> Self {
        Failure::Request {
            path: e.path().to_owned(),
            message: e.message().to_owned(),
        }
    }
}

impl Failure {
    /// The Python exception; `index` is the request's position in a batch.
    pub(crate) fn into_pyerr(self, py: Python<'_>, index: Option<usize>) -> PyErr {
        match self {
            Failure::Python(e) => e,
            Failure::Request { path, message } => {
                match REQUEST_ERROR.import(py, ERRORS, "RequestError") {
                    Ok(cls) => match cls.call1((message, path, index)) {
                        Ok(instance) => PyErr::from_value(instance),
                        Err(e) => e,
                    },
                    Err(e) => e,
                }
            }
        }
    }
}

/// A `PolicyError` for a failure inside the engine (a caught panic).
pub(crate) fn internal_error(py: Python<'_>, what: &str) -> PyErr {
    match POLICY_ERROR.import(py, ERRORS, "PolicyError") {
        Ok(cls) => PyErr::from_type(
            cls.clone(),
            format!("internal error in agen_policy: {what}"),
        ),
        Err(e) => e,
    }
}

/// A `DocumentError` carrying every problem and warning.
fn document_error(
    py: Python<'_>,
    message: String,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
) -> PyErr {
    let raise = || -> PyResult<PyErr> {
        let cls = DOCUMENT_ERROR.import(py, ERRORS, "DocumentError")?;
        let problems = problem_tuple(py, problems)?;
        let warnings = problem_tuple(py, warnings)?;
        Ok(PyErr::from_value(cls.call1((message, problems, warnings))?))
    };
    raise().unwrap_or_else(|e| e)
}

/// The core's load error as a `DocumentError`.
pub(crate) fn load_error(py: Python<'_>, e: &core::LoadError) -> PyErr {
    document_error(
        py,
        e.to_string(),
        e.problems().iter().map(Problem::from_core).collect(),
        e.warnings().iter().map(Problem::from_core).collect(),
    )
}

/// A document that could not be turned into JSON: one problem, raised like a load error.
pub(crate) fn unconvertible_document(py: Python<'_>, problem: Problem) -> PyErr {
    let message = format!("invalid policy document (1 problem)\n  {problem}");
    document_error(py, message, vec![problem], Vec::new())
}

pub(crate) fn problem_tuple(
    py: Python<'_>,
    problems: Vec<Problem>,
) -> PyResult<Bound<'_, PyTuple>> {
    let objects = problems
        .into_iter()
        .map(|p| Bound::new(py, p))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, objects)
}

// ---------------------------------------------------------------------------------------------
// Documents

/// The UTF-8 bytes of JSON text given as `str` or `bytes`.
pub(crate) fn text<'a>(obj: &'a Bound<'_, PyAny>) -> Result<&'a [u8], TextError> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(str::as_bytes)
            .map_err(|_| TextError::NotUnicode);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes());
    }
    Err(TextError::WrongType(type_name(obj)))
}

/// Why [`text`] failed.
pub(crate) enum TextError {
    /// Neither `str` nor `bytes`: a programming error, `TypeError`.
    WrongType(String),
    /// A `str` that cannot be UTF-8 (a lone surrogate): not a document.
    NotUnicode,
}

impl TextError {
    /// The exception: `TypeError` for a wrong type, `DocumentError` for unencodable text.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            TextError::WrongType(t) => {
                PyTypeError::new_err(format!("expected JSON text as str or bytes, not {t}"))
            }
            TextError::NotUnicode => unconvertible_document(py, Self::not_unicode_problem()),
        }
    }

    pub(crate) fn not_unicode_problem() -> Problem {
        Problem::new(
            core::Code::InvalidDocument.as_str(),
            String::new(),
            "not JSON: the text holds a lone surrogate, which has no UTF-8 form".to_owned(),
        )
    }
}

/// Writes a document given as Python values (dicts, lists, strings, numbers, booleans, `None`)
/// as JSON text, keeping the order of dict keys so problems come in document order.
pub(crate) fn document_json(obj: &Bound<'_, PyAny>) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::with_capacity(4096);
    write_json(obj, &mut out, 1, Limits::default().max_document_depth)
        .map_err(Invalid::into_problem)?;
    Ok(out)
}

/// Writes one value; `level` is its nesting level if it is a container (the root is 1).
fn write_json(
    obj: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
    level: usize,
    max: usize,
) -> Result<(), Invalid> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_str().map_err(|_| not_unicode())?;
        return write_str(out, s);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        return Ok(());
    }
    if obj.is_none() {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    if obj.cast::<PyInt>().is_ok() || obj.cast::<PyFloat>().is_ok() {
        let Value::Number(n) = number(obj)? else {
            return Err(Invalid::value("not a number"));
        };
        return write!(out, "{n}").map_err(|e| Invalid::value(e.to_string()));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        if level > max {
            return Err(Invalid::TooDeep { max });
        }
        out.push(b'{');
        for (i, (k, v)) in dict.iter().enumerate() {
            let key = key_str(&k)?;
            if i > 0 {
                out.push(b',');
            }
            write_str(out, key)?;
            out.push(b':');
            write_json(&v, out, level + 1, max).map_err(|e| e.under(key))?;
        }
        out.push(b'}');
        return Ok(());
    }
    if let Some(items) = sequence(obj) {
        if level > max {
            return Err(Invalid::TooDeep { max });
        }
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json(item, out, level + 1, max).map_err(|e| e.under(i.to_string()))?;
        }
        out.push(b']');
        return Ok(());
    }
    Err(unsupported(obj))
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), Invalid> {
    serde_json::to_writer(out, s).map_err(|e| Invalid::value(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A request from `evaluate`'s arguments, or the `RequestError` to raise.
pub(crate) fn request_arguments(
    py: Python<'_>,
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
) -> PyResult<core::Request> {
    request_from_args(user, connector, tool, groups, context).map_err(|e| e.into_pyerr(py, None))
}

/// A request from `evaluate`'s arguments.
pub(crate) fn request_from_args(
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
) -> Result<core::Request, Failure> {
    let mut builder = core::Request::builder(
        field_str(user, "user")?,
        field_str(connector, "connector")?,
        field_str(tool, "tool")?,
    );
    if let Some(groups) = groups.filter(|g| !g.is_none()) {
        builder = builder.groups(group_ids(groups)?);
    }
    if let Some(context) = context.filter(|c| !c.is_none()) {
        let Ok(dict) = context.cast::<PyDict>() else {
            return Err(Failure::Request {
                path: "/context".to_owned(),
                message: format!("`context` must be a dict, not {}", type_name(context)),
            });
        };
        let map = object(dict, 1, Limits::default().max_context_depth)
            .map_err(|e| e.into_request("/context"))?;
        builder = builder.context_map(map);
    }
    Ok(builder.build()?)
}

/// A request given whole: a dict (or any JSON-like value, which the core then judges), or JSON
/// text as `str` or `bytes`.
pub(crate) fn request(obj: &Bound<'_, PyAny>) -> Result<core::Request, Failure> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_str().map_err(|_| Failure::Request {
            path: String::new(),
            message: "not JSON: the text holds a lone surrogate, which has no UTF-8 form"
                .to_owned(),
        })?;
        return Ok(core::Request::from_json(s)?);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(core::Request::from_slice_with_limits(
            b.as_bytes(),
            &Limits::default(),
        )?);
    }
    // The request object is level 0, so its context is level 1 as the core counts.
    let value =
        to_value(obj, 0, Limits::default().max_context_depth).map_err(|e| e.into_request(""))?;
    Ok(core::Request::from_value(&value)?)
}

fn field_str(obj: &Bound<'_, PyAny>, name: &str) -> Result<String, Failure> {
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(Failure::Request {
            path: format!("/{name}"),
            message: format!("`{name}` must be a string, not {}", type_name(obj)),
        });
    };
    match s.to_str() {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err(Failure::Request {
            path: format!("/{name}"),
            message: format!("`{name}` holds a lone surrogate, which has no UTF-8 form"),
        }),
    }
}

/// Group ids from a list, tuple, set or frozenset of strings.
fn group_ids(obj: &Bound<'_, PyAny>) -> Result<Vec<String>, Failure> {
    let collection = obj.cast::<PyList>().is_ok()
        || obj.cast::<PyTuple>().is_ok()
        || obj.cast::<PySet>().is_ok()
        || obj.cast::<PyFrozenSet>().is_ok();
    if !collection {
        return Err(Failure::Request {
            path: "/groups".to_owned(),
            message: format!(
                "`groups` must be a list of group ids, not {}",
                type_name(obj)
            ),
        });
    }
    let mut out = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        let Ok(s) = item.cast::<PyString>() else {
            return Err(Failure::Request {
                path: format!("/groups/{i}"),
                message: format!("a group id must be a string, not {}", type_name(&item)),
            });
        };
        let s = s.to_str().map_err(|_| Failure::Request {
            path: format!("/groups/{i}"),
            message: "a group id holds a lone surrogate, which has no UTF-8 form".to_owned(),
        })?;
        out.push(s.to_owned());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Python values → JSON values

/// Converts a JSON-like Python value; `level` is its nesting level if it is a container.
/// Containers deeper than `max` fail, so neither a deep nor a cyclic value exhausts the stack.
fn to_value(obj: &Bound<'_, PyAny>, level: usize, max: usize) -> Result<Value, Invalid> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(
            s.to_str().map_err(|_| not_unicode())?.to_owned(),
        ));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() || obj.cast::<PyFloat>().is_ok() {
        return number(obj);
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return object(dict, level, max).map(Value::Object);
    }
    if let Some(items) = sequence(obj) {
        if level > max {
            return Err(Invalid::TooDeep { max });
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(to_value(item, level + 1, max).map_err(|e| e.under(i.to_string()))?);
        }
        return Ok(Value::Array(out));
    }
    Err(unsupported(obj))
}

/// Converts a dict with string keys.
fn object(
    dict: &Bound<'_, PyDict>,
    level: usize,
    max: usize,
) -> Result<Map<String, Value>, Invalid> {
    if level > max {
        return Err(Invalid::TooDeep { max });
    }
    let mut map = Map::new();
    for (k, v) in dict.iter() {
        let key = key_str(&k)?;
        let value = to_value(&v, level + 1, max).map_err(|e| e.under(key))?;
        // Two keys that are distinct to Python but equal as text (a `str` subclass with its
        // own equality): which one counts would be a guess, so the value is refused.
        if map.insert(key.to_owned(), value).is_some() {
            return Err(Invalid::value(format!("duplicate key `{}`", brief(key))).under(key));
        }
    }
    Ok(map)
}

/// A number as the JSON parser would read it: integers exactly when they fit 64 bits, else
/// as a float; `NaN` and infinities have no JSON form.
fn number(obj: &Bound<'_, PyAny>) -> Result<Value, Invalid> {
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
    }
    let f = obj
        .extract::<f64>()
        .map_err(|_| Invalid::value("the number is out of range for JSON"))?;
    Number::from_f64(f).map(Value::Number).ok_or_else(|| {
        Invalid::value(format!(
            "`{}` has no JSON form: only finite numbers do",
            repr(obj)
        ))
    })
}

fn key_str<'a>(key: &'a Bound<'_, PyAny>) -> Result<&'a str, Invalid> {
    match key.cast::<PyString>() {
        Ok(s) => s.to_str().map_err(|_| not_unicode()),
        Err(_) => Err(Invalid::value(format!(
            "key `{}` is not a string: JSON object keys are strings",
            repr(key)
        ))),
    }
}

/// The items of a list or tuple.
fn sequence<'py>(obj: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return Some(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return Some(tuple.iter().collect());
    }
    None
}

fn not_unicode() -> Invalid {
    Invalid::value("the string holds a lone surrogate, which has no UTF-8 form")
}

fn unsupported(obj: &Bound<'_, PyAny>) -> Invalid {
    let hint = if obj.cast::<PyBytes>().is_ok() {
        ": decode bytes to str first"
    } else {
        ""
    };
    Invalid::value(format!(
        "a value of type `{}` has no JSON form{hint}; use str, int, float, bool, None, list, tuple or dict",
        type_name(obj)
    ))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "an unknown type".to_owned(), |n| n.to_string())
}

/// `repr(obj)` cut to a length fit for a message.
fn repr(obj: &Bound<'_, PyAny>) -> String {
    let text = obj
        .repr()
        .map_or_else(|_| "?".to_owned(), |r| r.to_string_lossy().into_owned());
    brief(&text).into_owned()
}

fn brief(s: &str) -> Cow<'_, str> {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => Cow::Owned(format!("{}…", s.get(..cut).unwrap_or_default())),
        None => Cow::Borrowed(s),
    }
}

// ---------------------------------------------------------------------------------------------
// Core values → Python

/// A JSON value as Python `None`, `bool`, `int`, `float`, `str`, `list` or `dict`.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(members) => {
            let dict = PyDict::new(py);
            for (k, v) in members {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serializable core value (a document, an explanation) as Python values.
pub(crate) fn serialized<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| internal_error(py, &format!("cannot serialize: {e}")))?;
    to_py(py, &json)
}

/// The `Action` member of an action.
pub(crate) fn action<'py>(py: Python<'py>, action: core::Action) -> PyResult<Bound<'py, PyAny>> {
    let members = ACTIONS.get_or_try_init(py, || {
        let cls = py.import(TYPES)?.getattr("Action")?;
        core::Action::ALL
            .iter()
            .map(|a| Ok(cls.call1((a.as_str(),))?.unbind()))
            .collect::<PyResult<Vec<_>>>()
    })?;
    let i = core::Action::ALL.iter().position(|a| *a == action);
    match i.and_then(|i| members.get(i)) {
        Some(member) => Ok(member.bind(py).clone()),
        None => Err(internal_error(py, &format!("unknown action `{action}`"))),
    }
}

/// The `Reason` member of a reason.
pub(crate) fn reason<'py>(py: Python<'py>, reason: core::Reason) -> PyResult<Bound<'py, PyAny>> {
    let members = REASONS.get_or_try_init(py, || {
        let cls = py.import(TYPES)?.getattr("Reason")?;
        core::Reason::ALL
            .iter()
            .map(|r| Ok(cls.call1((r.as_str(),))?.unbind()))
            .collect::<PyResult<Vec<_>>>()
    })?;
    let i = core::Reason::ALL.iter().position(|r| *r == reason);
    match i.and_then(|i| members.get(i)) {
        Some(member) => Ok(member.bind(py).clone()),
        None => Err(internal_error(py, &format!("unknown reason `{reason}`"))),
    }
}

/// A decision as the Python `Decision`; `version` is the set's version, made a Python string
/// once per set.
pub(crate) fn decision(
    py: Python<'_>,
    d: &core::Decision<'_>,
    version: &Py<PyString>,
) -> PyResult<Decision> {
    Ok(Decision {
        action: d.action(),
        reason: d.reason(),
        allowed: d.allowed(),
        action_obj: action(py, d.action())?.unbind(),
        reason_obj: reason(py, d.reason())?.unbind(),
        policies: str_tuple(py, d.policies())?.unbind(),
        approval_flows: str_tuple(py, d.approval_flows())?.unbind(),
        version: version.clone_ref(py),
    })
}

/// A detached decision (as explanations hold) as the Python `Decision`.
pub(crate) fn owned_decision(py: Python<'_>, d: &core::OwnedDecision) -> PyResult<Decision> {
    Ok(Decision {
        action: d.action,
        reason: d.reason,
        allowed: d.allowed(),
        action_obj: action(py, d.action)?.unbind(),
        reason_obj: reason(py, d.reason)?.unbind(),
        policies: str_tuple(py, &d.policies)?.unbind(),
        approval_flows: str_tuple(py, &d.approval_flows)?.unbind(),
        version: PyString::new(py, &d.version).unbind(),
    })
}

pub(crate) fn str_tuple<'py, S: AsRef<str>>(
    py: Python<'py>,
    items: &[S],
) -> PyResult<Bound<'py, PyTuple>> {
    if items.is_empty() {
        return Ok(PyTuple::empty(py));
    }
    PyTuple::new(py, items.iter().map(|s| PyString::new(py, s.as_ref())))
}

/// The strings of a tuple built by [`str_tuple`].
pub(crate) fn tuple_strings(tuple: &Bound<'_, PyTuple>) -> PyResult<Vec<String>> {
    tuple.iter().map(|s| s.extract::<String>()).collect()
}
