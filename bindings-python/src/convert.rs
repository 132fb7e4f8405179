//! Every conversion between Python values and the core's types, and the Python exceptions the
//! core's errors become.
//!
//! Conversions check Python types and bound their own work; what a value means (an empty id, a
//! context nested too deep, a field a request may not have) is the core's call: every request is
//! built by the core's `RequestBuilder` or `Request::from_*_with_limits`, under one [`Limits`].
//!
//! The one conversion of meaning here is Python's own: a timezone-aware `datetime` given as an
//! instant of evidence (`now`, `auth["time"]`) or of an approval operation becomes integer Unix
//! milliseconds, the form the core reads; a naive one names no instant and is refused.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use agen_policy_core::{self as core, Limits};
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

/// The bounds every document and request of the package is held to: the core's defaults.
static LIMITS: LazyLock<Limits> = LazyLock::new(Limits::default);

#[inline]
pub(crate) fn limits() -> &'static Limits {
    &LIMITS
}

static POLICY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DOCUMENT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static REQUEST_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static FILE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ARGUMENT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static APPROVAL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
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
    /// More than `max` bytes as JSON text: the conversion stopped there.
    TooLarge { max: usize },
    /// Containers of a document nested deeper than the limit.
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
            push_token(&mut out, token);
        }
        out
    }

    /// The message of a value refused where it was read (the reader knows the path).
    pub(crate) fn into_message(self) -> String {
        match self {
            Invalid::Value { message, .. } => message,
            Invalid::TooLarge { max } => {
                format!("request is more than the limit of {max} bytes as JSON text")
            }
            Invalid::TooDeep { max } => format!("JSON nested more than {max} levels deep"),
        }
    }

    /// As a rejected request: the offending value's pointer below `prefix`.
    fn into_request(self, prefix: &str) -> Failure {
        match self {
            Invalid::Value { tokens, message } => Failure::Request {
                path: Invalid::pointer(&tokens, prefix),
                message,
            },
            Invalid::TooLarge { max } => too_large_request(max),
            Invalid::TooDeep { max } => context_too_deep(max),
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
            Invalid::TooLarge { max } => too_large_document(max),
            Invalid::TooDeep { max } => Problem::new(
                core::Code::LimitExceeded.as_str(),
                String::new(),
                format!("JSON nested more than {max} levels deep"),
            ),
        }
    }
}

/// Appends `token` to a JSON Pointer, escaped. The core escapes its own paths; it has no public
/// escaper for the values only the binding can refuse.
pub(crate) fn push_token(out: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

fn too_large_request(max: usize) -> Failure {
    Failure::Request {
        path: String::new(),
        message: format!("request is more than the limit of {max} bytes as JSON text"),
    }
}

fn context_too_deep(max: usize) -> Failure {
    Failure::Request {
        path: "/context".to_owned(),
        message: format!("context nesting exceeds the limit of {max} levels"),
    }
}

fn too_large_document(max: usize) -> Problem {
    Problem::new(
        core::Code::LimitExceeded.as_str(),
        String::new(),
        format!("document is more than the limit of {max} bytes"),
    )
}

/// A request that could not be made, before it becomes a Python exception.
pub(crate) enum Failure {
    /// An invalid request: `RequestError`.
    Request { path: String, message: String },
    /// A Python error raised by the caller's own code (an iterator they passed), raised as it is.
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
                raise(py, &REQUEST_ERROR, "RequestError", (message, path, index))
            }
        }
    }
}

/// An instance of one of the package's exception classes, made with `args`; if even that fails
/// (the module cannot be imported), the error that says why.
fn raise<'py, A>(py: Python<'py>, cell: &PyOnceLock<Py<PyType>>, name: &str, args: A) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
{
    match cell.import(py, ERRORS, name) {
        Ok(cls) => match cls.call1(args) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// A `PolicyError` for a failure inside the engine (a caught panic).
pub(crate) fn internal_error(py: Python<'_>, what: &str) -> PyErr {
    raise(
        py,
        &POLICY_ERROR,
        "PolicyError",
        (format!("internal error in agen_policy: {what}"),),
    )
}

/// An `ArgumentError` (a `PolicyError` and a `TypeError`): an argument of the wrong kind that is
/// neither a request nor a document.
pub(crate) fn argument_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, &ARGUMENT_ERROR, "ArgumentError", (message,))
}

/// An `ApprovalError`: an approval operation that did not happen, with the core's code.
pub(crate) fn approval_error(
    py: Python<'_>,
    code: &str,
    message: String,
    path: Option<String>,
) -> PyErr {
    raise(py, &APPROVAL_ERROR, "ApprovalError", (message, code, path))
}

/// A `PolicyFileError` (a `PolicyError` and an `OSError`) for a file that cannot be read.
pub(crate) fn file_error(py: Python<'_>, path: &Path, e: &std::io::Error) -> PyErr {
    let message = format!("cannot read `{}`: {e}", path.display());
    raise(
        py,
        &FILE_ERROR,
        "PolicyFileError",
        (message, path.as_os_str(), e.raw_os_error()),
    )
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

/// A document refused before the core saw it: one problem, raised like a load error.
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
// Arguments

/// A `str` argument, or `ArgumentError` naming it.
pub(crate) fn str_argument<'a>(obj: &'a Bound<'_, PyAny>, name: &str) -> PyResult<&'a str> {
    let py = obj.py();
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(argument_error(
            py,
            format!("`{name}` must be a str, not {}", type_name(obj)),
        ));
    };
    s.to_str().map_err(|_| {
        argument_error(
            py,
            format!("`{name}` holds a lone surrogate, which has no UTF-8 form"),
        )
    })
}

/// A file system path given as `str`, `bytes` or `os.PathLike`, or `ArgumentError`.
pub(crate) fn path(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let py = obj.py();
    // `os.fsdecode` takes every kind of path Python's own `open` takes.
    py.import("os")?
        .call_method1("fsdecode", (obj,))
        .and_then(|decoded| decoded.extract::<PathBuf>())
        .map_err(|_| {
            argument_error(
                py,
                format!(
                    "a path must be a str, bytes or os.PathLike, not {}",
                    type_name(obj)
                ),
            )
        })
}

// ---------------------------------------------------------------------------------------------
// Documents

/// Reads a document file, at most one byte more than the limit: a bigger file (or an endless
/// one such as `/dev/zero`) is refused with `limit_exceeded` after that much, never read whole.
/// Runs without the GIL.
pub(crate) fn read_document(py: Python<'_>, path: &Path) -> PyResult<Vec<u8>> {
    let max = limits().max_document_bytes;
    match py.detach(|| read_at_most(path, max)) {
        Err(e) => Err(file_error(py, path, &e)),
        Ok(bytes) if bytes.len() > max => Err(unconvertible_document(py, too_large_document(max))),
        Ok(bytes) => Ok(bytes),
    }
}

/// A file's bytes, at most `max` + 1 of them: one more than `max` says it is too large.
pub(crate) fn read_at_most(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let cap = max.saturating_add(1);
    // The size a regular file says it has, to allocate once; nothing relies on it.
    let hint = file
        .metadata()
        .map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
    let mut bytes = Vec::with_capacity(hint.min(cap));
    file.take(u64::try_from(cap).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The UTF-8 bytes of JSON text given as `str` or `bytes`.
pub(crate) fn text<'a>(obj: &'a Bound<'_, PyAny>) -> Result<&'a [u8], TextError> {
    if let Ok(s) = obj.cast::<PyString>() {
        // A `str` of more characters than the limit has more UTF-8 bytes too: refused before
        // it is encoded.
        let max = limits().max_document_bytes;
        if s.len().is_ok_and(|chars| chars > max) {
            return Err(TextError::TooLarge);
        }
        return s
            .to_str()
            .map(str::as_bytes)
            .map_err(|_| TextError::NotUnicode);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        // The core checks the length before it reads a byte.
        return Ok(b.as_bytes());
    }
    Err(TextError::WrongType(type_name(obj)))
}

/// Why [`text`] failed; each is a document that does not load.
pub(crate) enum TextError {
    /// Neither `str` nor `bytes`.
    WrongType(String),
    /// A `str` that cannot be UTF-8 (a lone surrogate).
    NotUnicode,
    /// More than the limit.
    TooLarge,
}

impl TextError {
    pub(crate) fn problem(&self) -> Problem {
        match self {
            TextError::WrongType(t) => Problem::new(
                core::Code::InvalidDocument.as_str(),
                String::new(),
                format!("expected JSON text as str or bytes, not {t}"),
            ),
            TextError::NotUnicode => Problem::new(
                core::Code::InvalidDocument.as_str(),
                String::new(),
                "not JSON: the text holds a lone surrogate, which has no UTF-8 form".to_owned(),
            ),
            TextError::TooLarge => too_large_document(limits().max_document_bytes),
        }
    }

    /// The `DocumentError` to raise.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        unconvertible_document(py, self.problem())
    }
}

/// Writes a document given as Python values (dicts, lists, strings, numbers, booleans, `None`)
/// as JSON text, keeping the order of dict keys so problems come in document order. Stops at
/// the document size and depth limits.
pub(crate) fn document_json(obj: &Bound<'_, PyAny>) -> Result<Vec<u8>, Problem> {
    let mut writer = JsonWriter {
        out: Vec::with_capacity(4096),
        max_bytes: limits().max_document_bytes,
        max_depth: limits().max_document_depth,
    };
    writer.write(obj, 1).map_err(Invalid::into_problem)?;
    Ok(writer.out)
}

struct JsonWriter {
    out: Vec<u8>,
    max_bytes: usize,
    max_depth: usize,
}

impl JsonWriter {
    /// Fails once the text would have more than `max_bytes` bytes.
    fn room(&self, more: usize) -> Result<(), Invalid> {
        if self.out.len().saturating_add(more) > self.max_bytes {
            Err(Invalid::TooLarge {
                max: self.max_bytes,
            })
        } else {
            Ok(())
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), Invalid> {
        self.room(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// Writes one value; `level` is its nesting level if it is a container (the root is 1).
    fn write(&mut self, obj: &Bound<'_, PyAny>, level: usize) -> Result<(), Invalid> {
        if let Ok(s) = obj.cast::<PyString>() {
            return self.string(s);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return self.push(if b.is_true() { b"true" } else { b"false" });
        }
        if obj.is_none() {
            return self.push(b"null");
        }
        if obj.cast::<PyInt>().is_ok() || obj.cast::<PyFloat>().is_ok() {
            let Value::Number(n) = number(obj)? else {
                return Err(Invalid::value("not a number"));
            };
            write!(self.out, "{n}").map_err(|e| Invalid::value(e.to_string()))?;
            return self.room(0);
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            if level > self.max_depth {
                return Err(Invalid::TooDeep {
                    max: self.max_depth,
                });
            }
            self.push(b"{")?;
            for (i, (k, v)) in dict.iter().enumerate() {
                let Ok(key) = k.cast::<PyString>() else {
                    return Err(non_string_key(&k));
                };
                if i > 0 {
                    self.push(b",")?;
                }
                self.string(key)?;
                self.push(b":")?;
                let token = key.to_str().map_err(|_| not_unicode())?;
                self.write(&v, level + 1).map_err(|e| e.under(token))?;
            }
            return self.push(b"}");
        }
        if let Some(items) = Items::of(obj) {
            if level > self.max_depth {
                return Err(Invalid::TooDeep {
                    max: self.max_depth,
                });
            }
            self.push(b"[")?;
            for (i, item) in items.enumerate() {
                if i > 0 {
                    self.push(b",")?;
                }
                self.write(&item, level + 1)
                    .map_err(|e| e.under(i.to_string()))?;
            }
            return self.push(b"]");
        }
        Err(unsupported(obj))
    }

    fn string(&mut self, s: &Bound<'_, PyString>) -> Result<(), Invalid> {
        // Characters first: no string longer than the room left is encoded.
        if let Ok(chars) = s.len() {
            self.room(chars.saturating_add(2))?;
        }
        let s = s.to_str().map_err(|_| not_unicode())?;
        self.room(s.len().saturating_add(2))?;
        serde_json::to_writer(&mut self.out, s).map_err(|e| Invalid::value(e.to_string()))?;
        self.room(0)
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// The evidence keywords of `evaluate` and `explain` (SPEC §7.2); `None` (or Python `None`)
/// when not given.
#[derive(Clone, Copy, Default)]
pub(crate) struct Evidence<'a, 'py> {
    pub(crate) now: Option<&'a Bound<'py, PyAny>>,
    pub(crate) auth: Option<&'a Bound<'py, PyAny>>,
    pub(crate) grants: Option<&'a Bound<'py, PyAny>>,
    pub(crate) arguments: Option<&'a Bound<'py, PyAny>>,
}

impl<'a, 'py> Evidence<'a, 'py> {
    fn given(obj: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
        obj.filter(|o| !o.is_none())
    }

    /// The fields given, in the request's order.
    fn fields(&self) -> [(&'static str, Option<&'a Bound<'py, PyAny>>); 4] {
        [
            ("now", Evidence::given(self.now)),
            ("auth", Evidence::given(self.auth)),
            ("grants", Evidence::given(self.grants)),
            ("arguments", Evidence::given(self.arguments)),
        ]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }
}

/// A request from `evaluate`'s arguments, or the `RequestError` to raise.
pub(crate) fn request_arguments(
    py: Python<'_>,
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
    evidence: Evidence<'_, '_>,
) -> PyResult<core::Request> {
    request_from_args(user, connector, tool, groups, context, evidence)
        .map_err(|e| e.into_pyerr(py, None))
}

/// A request from `evaluate`'s arguments, built by the core: by its `RequestBuilder` when the
/// request has no evidence (the common case, kept free of JSON values and of the evidence
/// path's code), else by `Request::from_value_with_limits`, which judges the evidence as it
/// judges a dict's.
pub(crate) fn request_from_args(
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
    evidence: Evidence<'_, '_>,
) -> Result<core::Request, Failure> {
    if !evidence.is_empty() {
        return request_with_evidence(user, connector, tool, groups, context, evidence);
    }
    let mut c = Converter::new(limits());
    // What the request's JSON text would hold besides the values: `{"user":,"connector":,...}`.
    let large = |e: Invalid| e.into_request("");
    c.charge(r#"{"user":,"connector":,"tool":}"#.len())
        .map_err(large)?;
    let mut builder = core::Request::builder(
        c.id(user, "user")?,
        c.id(connector, "connector")?,
        c.id(tool, "tool")?,
    );
    if let Some(groups) = groups.filter(|g| !g.is_none()) {
        c.charge(r#","groups":"#.len()).map_err(large)?;
        builder = builder.groups(c.groups(groups)?);
    }
    if let Some(context) = context.filter(|c| !c.is_none()) {
        c.charge(r#","context":"#.len()).map_err(large)?;
        builder = builder.context_map(c.context(context)?);
    }
    c.finish(builder.build_with_limits(limits()))
}

/// [`request_from_args`] for a request with evidence: its fields as JSON values for the core.
#[inline(never)]
fn request_with_evidence(
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
    evidence: Evidence<'_, '_>,
) -> Result<core::Request, Failure> {
    let mut c = Converter::new(limits());
    let large = |e: Invalid| e.into_request("");
    c.charge(r#"{"user":,"connector":,"tool":}"#.len())
        .map_err(large)?;
    let mut request = Map::new();
    request.insert("user".into(), Value::String(c.id(user, "user")?));
    request.insert(
        "connector".into(),
        Value::String(c.id(connector, "connector")?),
    );
    request.insert("tool".into(), Value::String(c.id(tool, "tool")?));
    if let Some(groups) = groups.filter(|g| !g.is_none()) {
        c.charge(r#","groups":"#.len()).map_err(large)?;
        let groups = c.groups(groups)?.into_iter().map(Value::String).collect();
        request.insert("groups".into(), Value::Array(groups));
    }
    if let Some(context) = context.filter(|c| !c.is_none()) {
        c.charge(r#","context":"#.len()).map_err(large)?;
        request.insert("context".into(), Value::Object(c.context(context)?));
    }
    for (name, value) in evidence.fields() {
        if let Some(value) = value {
            c.charge(name.len() + 4).map_err(large)?;
            let value = c.evidence(name, value)?;
            request.insert(name.into(), value);
        }
    }
    c.finish(core::Request::from_value_with_limits(
        &Value::Object(request),
        limits(),
    ))
}

/// A request given whole: a dict (or any JSON-like value, which the core then judges), or JSON
/// text as `str` or `bytes`.
pub(crate) fn request(obj: &Bound<'_, PyAny>) -> Result<core::Request, Failure> {
    if let Some(text) = request_text(obj)? {
        return Ok(core::Request::from_slice_with_limits(text, limits())?);
    }
    let mut c = Converter::new(limits());
    let value = c.request_value(obj)?;
    c.finish(core::Request::from_value_with_limits(&value, limits()))
}

/// A request given as JSON text (`str` or `bytes`) only; anything else is refused.
pub(crate) fn request_json(obj: &Bound<'_, PyAny>) -> Result<core::Request, Failure> {
    match request_text(obj)? {
        Some(text) => Ok(core::Request::from_slice_with_limits(text, limits())?),
        None => Err(Failure::Request {
            path: String::new(),
            message: format!(
                "a request as JSON text is a str or bytes, not {}; pass a dict to \
                 evaluate_request",
                type_name(obj)
            ),
        }),
    }
}

/// The bytes of a request given as JSON text, or `None` for another kind of value.
fn request_text<'a>(obj: &'a Bound<'_, PyAny>) -> Result<Option<&'a [u8]>, Failure> {
    let max = limits().max_request_bytes;
    if let Ok(s) = obj.cast::<PyString>() {
        // More characters than the limit are more bytes too: refused before encoding.
        if s.len().is_ok_and(|chars| chars > max) {
            return Err(too_large_request(max));
        }
        let s = s.to_str().map_err(|_| Failure::Request {
            path: String::new(),
            message: "not JSON: the text holds a lone surrogate, which has no UTF-8 form"
                .to_owned(),
        })?;
        return Ok(Some(s.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Some(b.as_bytes()));
    }
    Ok(None)
}

/// A request given as Python values, as the core's JSON value (unchecked: the core judges it).
pub(crate) fn request_value(obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
    let mut c = Converter::new(limits());
    let value = c.request_value(obj)?;
    if c.truncated {
        return Err(context_too_deep(c.max_depth));
    }
    Ok(value)
}

/// Any JSON-like Python value as a JSON value, within `max_bytes` as JSON text and `max_depth`
/// levels of nesting (the value itself is level 1).
pub(crate) fn json_value(
    obj: &Bound<'_, PyAny>,
    max_bytes: usize,
    max_depth: usize,
) -> Result<Value, Failure> {
    let mut c = Converter {
        max_bytes,
        left: max_bytes,
        max_depth,
        truncated: false,
    };
    let value = c.value(obj, 1).map_err(|e| e.into_request(""))?;
    if c.truncated {
        return Err(Failure::Request {
            path: String::new(),
            message: format!("the value is nested more than {max_depth} levels deep"),
        });
    }
    Ok(value)
}

/// An instant given as a timezone-aware `datetime.datetime`, as integer Unix milliseconds
/// (truncated toward the past, as the core truncates a finer RFC 3339 fraction); `None` for
/// any other value, which the core judges as it is. A naive datetime names no instant and is
/// refused at `path`.
pub(crate) fn datetime_millis(obj: &Bound<'_, PyAny>, path: &str) -> Result<Option<i64>, Failure> {
    // The common forms (RFC 3339 text, integer milliseconds) never touch the datetime module.
    if obj.cast::<PyString>().is_ok() || obj.cast::<PyInt>().is_ok() {
        return Ok(None);
    }
    let py = obj.py();
    let failed = |what: &str| Failure::Request {
        path: path.to_owned(),
        message: format!("a datetime whose {what} cannot be read"),
    };
    let cls = DATETIME.import(py, "datetime", "datetime")?;
    if !obj.is_instance(cls)? {
        return Ok(None);
    }
    let offset = obj
        .call_method0("utcoffset")
        .map_err(|_| failed("utcoffset()"))?;
    if offset.is_none() {
        return Err(Failure::Request {
            path: path.to_owned(),
            message: "a naive datetime names no instant: give it a tzinfo \
                      (datetime.now(timezone.utc))"
                .to_owned(),
        });
    }
    let (epoch, millisecond) = EPOCH
        .get_or_try_init(py, || -> PyResult<_> {
            let m = py.import("datetime")?;
            let utc = m.getattr("timezone")?.getattr("utc")?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("tzinfo", utc)?;
            let epoch = m
                .getattr("datetime")?
                .call((1970, 1, 1), Some(&kwargs))?
                .unbind();
            let ms = PyDict::new(py);
            ms.set_item("milliseconds", 1)?;
            let millisecond = m.getattr("timedelta")?.call((), Some(&ms))?.unbind();
            Ok((epoch, millisecond))
        })
        .map(|(e, m)| (e.bind(py), m.bind(py)))?;
    obj.sub(epoch)
        .and_then(|delta| delta.floor_div(millisecond))
        .and_then(|ms| ms.extract::<i64>())
        .map(Some)
        .map_err(|_| failed("offset from the epoch"))
}

/// An instant argument (of an approval operation) as a JSON value: an aware datetime becomes
/// integer milliseconds, anything else is converted as it is for the core to judge.
pub(crate) fn instant_value(obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
    let obj = stamped(obj, "")?;
    json_value(&obj, limits().max_request_bytes, 1)
}

/// Group claims (a list, tuple, set or frozenset) as a JSON list for the core to judge; any
/// other value is converted as it is.
pub(crate) fn groups_value(obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
    if obj.cast::<PySet>().is_ok() || obj.cast::<PyFrozenSet>().is_ok() {
        let items = obj.try_iter()?.collect::<PyResult<Vec<_>>>()?;
        let list = PyList::new(obj.py(), items)?;
        return json_value(list.as_any(), limits().max_request_bytes, 2);
    }
    json_value(obj, limits().max_request_bytes, 2)
}

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
/// The Unix epoch as an aware datetime, and one millisecond as a timedelta.
static EPOCH: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// `obj` with an aware datetime replaced by its milliseconds, or `obj` itself.
fn stamped<'py>(obj: &Bound<'py, PyAny>, path: &str) -> Result<Bound<'py, PyAny>, Failure> {
    Ok(match datetime_millis(obj, path)? {
        Some(ms) => pyo3::types::PyInt::new(obj.py(), ms).into_any(),
        None => obj.clone(),
    })
}

/// A copy of a dict whose `key` holds a datetime, with the datetime as milliseconds; `None`
/// when there is nothing to replace.
fn stamped_member<'py>(
    obj: &Bound<'py, PyAny>,
    key: &str,
    path: &str,
) -> Result<Option<Bound<'py, PyDict>>, Failure> {
    let Ok(dict) = obj.cast::<PyDict>() else {
        return Ok(None);
    };
    let Some(value) = dict.get_item(key)? else {
        return Ok(None);
    };
    let Some(ms) = datetime_millis(&value, path)? else {
        return Ok(None);
    };
    let copy = dict.copy()?;
    copy.set_item(key, ms)?;
    Ok(Some(copy))
}

/// A copy of a request dict with a datetime `now` and `auth` time as milliseconds; `None` when
/// it has neither.
#[cold]
fn stamped_request<'py>(obj: &Bound<'py, PyAny>) -> Result<Option<Bound<'py, PyDict>>, Failure> {
    let Ok(dict) = obj.cast::<PyDict>() else {
        return Ok(None);
    };
    let now = match dict.get_item("now")? {
        Some(now) => datetime_millis(&now, "/now")?,
        None => None,
    };
    let auth = match dict.get_item("auth")? {
        Some(auth) => stamped_member(&auth, "time", "/auth/time")?,
        None => None,
    };
    if now.is_none() && auth.is_none() {
        return Ok(None);
    }
    let copy = dict.copy()?;
    if let Some(ms) = now {
        copy.set_item("now", ms)?;
    }
    if let Some(auth) = auth {
        copy.set_item("auth", auth)?;
    }
    Ok(Some(copy))
}

/// `auth` with a datetime `time` as milliseconds.
fn stamped_auth<'py>(auth: &Bound<'py, PyAny>) -> Result<Bound<'py, PyAny>, Failure> {
    Ok(match stamped_member(auth, "time", "/auth/time")? {
        Some(copy) => copy.into_any(),
        None => auth.clone(),
    })
}

/// Converts a request's Python values into the core's JSON values, within the request's bounds.
///
/// Every value is charged at least the bytes its compact JSON text takes (a string its UTF-8
/// bytes and quotes, a number one byte...), so a request refused for its size here would be
/// refused as JSON text too, and converting a huge value stops after `max_request_bytes`.
/// Containers nested deeper than the limit are not descended into: the conversion never
/// recurses more than `max_context_depth + 1` levels, whatever the value (a cycle included).
struct Converter {
    max_bytes: usize,
    left: usize,
    max_depth: usize,
    /// Set when a container deeper than the limit was replaced by an empty one.
    truncated: bool,
}

impl Converter {
    #[inline]
    fn new(limits: &Limits) -> Self {
        Converter {
            max_bytes: limits.max_request_bytes,
            left: limits.max_request_bytes,
            max_depth: limits.max_context_depth,
            truncated: false,
        }
    }

    #[inline]
    fn charge(&mut self, bytes: usize) -> Result<(), Invalid> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(Invalid::TooLarge {
                max: self.max_bytes,
            }),
        }
    }

    /// The text of a `str`, charged; no longer string than the budget left is encoded.
    #[inline]
    fn text<'a>(&mut self, s: &'a Bound<'_, PyString>) -> Result<&'a str, Invalid> {
        let chars = s.len().unwrap_or(0);
        self.charge(chars.saturating_add(2))?;
        let text = s.to_str().map_err(|_| not_unicode())?;
        // A character of more than one UTF-8 byte costs its other bytes too.
        self.charge(text.len().saturating_sub(chars))?;
        Ok(text)
    }

    /// The core's request, unless a value was cut short.
    #[inline]
    fn finish(
        self,
        built: Result<core::Request, core::RequestError>,
    ) -> Result<core::Request, Failure> {
        let request = built?;
        // INVARIANT: a request whose conversion dropped a too-deep value is never evaluated.
        // The core refuses it for its depth (above); should the two ever count levels
        // differently, it is refused here all the same.
        if self.truncated {
            return Err(context_too_deep(self.max_depth));
        }
        Ok(request)
    }

    /// One evidence field of a request given as keywords; a datetime `now` (or `auth` time)
    /// becomes integer milliseconds.
    fn evidence(&mut self, name: &str, obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
        let path = format!("/{name}");
        let obj = match name {
            "now" => stamped(obj, &path)?,
            "auth" => stamped_auth(obj)?,
            _ => obj.clone(),
        };
        // The request object is level 0, so an evidence object is level 1.
        self.value(&obj, 1).map_err(|e| e.into_request(&path))
    }

    /// A whole request given as Python values. A datetime has no JSON form, so a request with
    /// a datetime `now` (or `auth` time) fails to convert as it is: only then is it looked
    /// for, and the request converted again with the datetimes as integer milliseconds.
    fn request_value(&mut self, obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
        // The request object is level 0, so its context is level 1 as the core counts.
        match self.value(obj, 0) {
            Ok(value) => Ok(value),
            Err(e @ Invalid::Value { .. }) => match stamped_request(obj)? {
                Some(stamped) => {
                    *self = Converter::new(limits());
                    self.value(stamped.as_any(), 0)
                        .map_err(|e| e.into_request(""))
                }
                None => Err(e.into_request("")),
            },
            Err(e) => Err(e.into_request("")),
        }
    }

    /// A request's `context`, the object at level 1 as the core counts.
    fn context(&mut self, context: &Bound<'_, PyAny>) -> Result<Map<String, Value>, Failure> {
        let Ok(dict) = context.cast::<PyDict>() else {
            return Err(Failure::Request {
                path: "/context".to_owned(),
                message: format!("`context` must be a dict, not {}", type_name(context)),
            });
        };
        self.object(dict, 1).map_err(|e| e.into_request("/context"))
    }

    /// One of the request's ids (`user`, `connector`, `tool`).
    #[inline]
    fn id(&mut self, obj: &Bound<'_, PyAny>, name: &str) -> Result<String, Failure> {
        let Ok(s) = obj.cast::<PyString>() else {
            return Err(Failure::Request {
                path: format!("/{name}"),
                message: format!("`{name}` must be a string, not {}", type_name(obj)),
            });
        };
        match self.text(s) {
            Ok(s) => Ok(s.to_owned()),
            Err(Invalid::Value { .. }) => Err(Failure::Request {
                path: format!("/{name}"),
                message: format!("`{name}` holds a lone surrogate, which has no UTF-8 form"),
            }),
            Err(e) => Err(e.into_request("")),
        }
    }

    /// Group ids from a list, tuple, set or frozenset of strings.
    fn groups(&mut self, obj: &Bound<'_, PyAny>) -> Result<Vec<String>, Failure> {
        let held = crate::view::group_objects(obj)?;
        self.charge(2).map_err(|e| e.into_request(""))?;
        let mut out = Vec::with_capacity(held.len());
        for (i, s) in held.iter().enumerate() {
            if i > 0 {
                self.charge(1).map_err(|e| e.into_request(""))?;
            }
            match self.text(s) {
                Ok(s) => out.push(s.to_owned()),
                Err(Invalid::Value { .. }) => {
                    return Err(Failure::Request {
                        path: format!("/groups/{i}"),
                        message: "a group id holds a lone surrogate, which has no UTF-8 form"
                            .to_owned(),
                    })
                }
                Err(e) => return Err(e.into_request("")),
            }
        }
        Ok(out)
    }

    /// Converts a JSON-like Python value; `level` is its nesting level if it is a container.
    #[inline]
    fn value(&mut self, obj: &Bound<'_, PyAny>, level: usize) -> Result<Value, Invalid> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Value::String(self.text(s)?.to_owned()));
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            let b = b.is_true();
            self.charge(if b { 4 } else { 5 })?;
            return Ok(Value::Bool(b));
        }
        if obj.cast::<PyInt>().is_ok() || obj.cast::<PyFloat>().is_ok() {
            self.charge(1)?;
            return number(obj);
        }
        if obj.is_none() {
            self.charge(4)?;
            return Ok(Value::Null);
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return self.object(dict, level).map(Value::Object);
        }
        if let Some(items) = Items::of(obj) {
            self.charge(2)?;
            if level > self.max_depth {
                self.truncated = true;
                return Ok(Value::Array(Vec::new()));
            }
            let mut out = Vec::new();
            for (i, item) in items.enumerate() {
                if i > 0 {
                    self.charge(1)?;
                }
                out.push(
                    self.value(&item, level + 1)
                        .map_err(|e| e.under(i.to_string()))?,
                );
            }
            return Ok(Value::Array(out));
        }
        Err(unsupported(obj))
    }

    /// Converts a dict with string keys.
    #[inline]
    fn object(
        &mut self,
        dict: &Bound<'_, PyDict>,
        level: usize,
    ) -> Result<Map<String, Value>, Invalid> {
        self.charge(2)?;
        if level > self.max_depth {
            // The core refuses the request for its depth; what is below does not matter.
            self.truncated = true;
            return Ok(Map::new());
        }
        let mut map = Map::new();
        for (i, (k, v)) in dict.iter().enumerate() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(non_string_key(&k));
            };
            let key = self.text(key)?;
            self.charge(1 + usize::from(i > 0))?;
            let value = self.value(&v, level + 1).map_err(|e| e.under(key))?;
            // Two keys that are distinct to Python but equal as text (a `str` subclass with its
            // own equality): which one counts would be a guess, so the value is refused.
            if map.insert(key.to_owned(), value).is_some() {
                return Err(Invalid::value(format!("duplicate key `{}`", brief(key))).under(key));
            }
        }
        Ok(map)
    }
}

// ---------------------------------------------------------------------------------------------
// Python values

/// The items of a list or tuple, read one at a time.
pub(crate) enum Items<'py> {
    List(pyo3::types::list::BoundListIterator<'py>),
    Tuple(pyo3::types::tuple::BoundTupleIterator<'py>),
}

impl<'py> Items<'py> {
    pub(crate) fn of(obj: &Bound<'py, PyAny>) -> Option<Self> {
        if let Ok(list) = obj.cast::<PyList>() {
            return Some(Items::List(list.iter()));
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            return Some(Items::Tuple(tuple.iter()));
        }
        None
    }
}

impl<'py> Iterator for Items<'py> {
    type Item = Bound<'py, PyAny>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::List(items) => items.next(),
            Items::Tuple(items) => items.next(),
        }
    }
}

/// A number as the JSON parser would read it: integers exactly when they fit 64 bits, else
/// as a float; `NaN` and infinities have no JSON form.
#[inline]
pub(crate) fn number(obj: &Bound<'_, PyAny>) -> Result<Value, Invalid> {
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

fn non_string_key(key: &Bound<'_, PyAny>) -> Invalid {
    Invalid::value(format!(
        "key `{}` is not a string: JSON object keys are strings",
        repr(key)
    ))
}

pub(crate) fn not_unicode() -> Invalid {
    Invalid::value("the string holds a lone surrogate, which has no UTF-8 form")
}

pub(crate) fn unsupported(obj: &Bound<'_, PyAny>) -> Invalid {
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

pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
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

pub(crate) fn brief(s: &str) -> Cow<'_, str> {
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
        satisfied: str_tuple(py, d.satisfied())?.unbind(),
        step_up: d.step_up().cloned().collect(),
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
        satisfied: str_tuple(py, &d.satisfied)?.unbind(),
        step_up: d.step_up.clone().into_boxed_slice(),
        version: PyString::new(py, &d.version).unbind(),
    })
}

pub(crate) fn str_tuple<'py, S: AsRef<str>>(
    py: Python<'py>,
    items: impl IntoIterator<Item = S, IntoIter: ExactSizeIterator>,
) -> PyResult<Bound<'py, PyTuple>> {
    let items = items.into_iter();
    if items.len() == 0 {
        return Ok(PyTuple::empty(py));
    }
    PyTuple::new(py, items.map(|s| PyString::new(py, s.as_ref())))
}

/// The strings of a tuple built by [`str_tuple`].
pub(crate) fn tuple_strings(tuple: &Bound<'_, PyTuple>) -> PyResult<Vec<String>> {
    tuple.iter().map(|s| s.extract::<String>()).collect()
}
