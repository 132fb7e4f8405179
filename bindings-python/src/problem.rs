//! `Problem` (one error or warning of a document) and `Validation` (all of them).

use std::fmt;
use std::hash::{Hash as _, Hasher as _};

use agen_policy_core as core;
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyTuple, PyType};

use crate::boundary;
use crate::convert;

/// One problem found in a policy document: an error or a warning.
///
/// ``code`` is stable and the same in every language (``duplicate_id``, ``unknown_tool``...);
/// ``path`` is a JSON Pointer to the offending value (``""`` is the root); a JSON syntax error
/// also has a 1-based ``line`` and ``column``.
#[pyclass(frozen, module = "agen_policy")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Problem {
    code: String,
    path: String,
    message: String,
    line: Option<usize>,
    column: Option<usize>,
}

impl Problem {
    pub(crate) fn new(code: &str, path: String, message: String) -> Self {
        Problem {
            code: code.to_owned(),
            path,
            message,
            line: None,
            column: None,
        }
    }

    pub(crate) fn from_core(p: &core::Problem) -> Self {
        Problem {
            code: p.code().as_str().to_owned(),
            path: p.path().to_owned(),
            message: p.message().to_owned(),
            line: p.line(),
            column: p.column(),
        }
    }
}

impl fmt::Display for Problem {
    /// The core's one-line form: `code at path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "the root"
        } else {
            &self.path
        };
        write!(f, "{} at {}: {}", self.code, path, self.message)
    }
}

#[pymethods]
impl Problem {
    #[new]
    #[pyo3(signature = (code, path, message, line=None, column=None))]
    fn py_new(
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
        line: Option<&Bound<'_, PyAny>>,
        column: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        boundary(py, || {
            let position = |value: Option<&Bound<'_, PyAny>>, name: &str| match value {
                Some(v) if !v.is_none() => v.extract::<usize>().map(Some).map_err(|_| {
                    convert::argument_error(py, format!("`{name}` must be a positive int or None"))
                }),
                _ => Ok(None),
            };
            Ok(Problem {
                code: convert::str_argument(code, "code")?.to_owned(),
                path: convert::str_argument(path, "path")?.to_owned(),
                message: convert::str_argument(message, "message")?.to_owned(),
                line: position(line, "line")?,
                column: position(column, "column")?,
            })
        })
    }

    /// The stable code, the same in every language (``unknown_tool``...).
    #[getter]
    fn code(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.code.clone()))
    }

    /// A JSON Pointer to the offending value (``""`` is the root).
    #[getter]
    fn path(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.path.clone()))
    }

    /// What is wrong.
    #[getter]
    fn message(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.message.clone()))
    }

    /// For a JSON syntax error, the 1-based line; else ``None``.
    #[getter]
    fn line(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        boundary(py, || Ok(self.line))
    }

    /// For a JSON syntax error, the 1-based column; else ``None``.
    #[getter]
    fn column(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        boundary(py, || Ok(self.column))
    }

    /// ``{"code", "path", "message"}``, plus ``line`` and ``column`` when known.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        boundary(py, || {
            let d = PyDict::new(py);
            d.set_item("code", &self.code)?;
            d.set_item("path", &self.path)?;
            d.set_item("message", &self.message)?;
            if let Some(line) = self.line {
                d.set_item("line", line)?;
            }
            if let Some(column) = self.column {
                d.set_item("column", column)?;
            }
            Ok(d)
        })
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        boundary(py, || {
            let p = slf.get();
            let args = (&p.code, &p.path, &p.message, p.line, p.column).into_pyobject(py)?;
            Ok((slf.get_type(), args))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            let mut s = format!(
                "Problem(code={}, path={}, message={}",
                repr(py, &self.code)?,
                repr(py, &self.path)?,
                repr(py, &self.message)?
            );
            if let (Some(line), Some(column)) = (self.line, self.column) {
                s.push_str(&format!(", line={line}, column={column}"));
            }
            s.push(')');
            Ok(s)
        })
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.to_string()))
    }

    fn __richcmp__(
        &self,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
        py: Python<'_>,
    ) -> PyResult<Py<PyAny>> {
        boundary(py, || {
            let Ok(other) = other.cast::<Problem>() else {
                return Ok(py.NotImplemented());
            };
            let equal = self == other.get();
            let result = match op {
                CompareOp::Eq => equal,
                CompareOp::Ne => !equal,
                _ => return Ok(py.NotImplemented()),
            };
            Ok(PyBool::new(py, result).to_owned().into_any().unbind())
        })
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<u64> {
        boundary(py, || {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.hash(&mut hasher);
            Ok(hasher.finish())
        })
    }
}

fn repr(py: Python<'_>, s: &str) -> PyResult<String> {
    Ok(pyo3::types::PyString::new(py, s).repr()?.to_string())
}

/// The result of validating a document without keeping it.
///
/// ``problems`` are the errors (the document loads only when there is none), ``warnings`` the
/// warnings; ``valid`` tells whether it loads.
#[pyclass(frozen, module = "agen_policy")]
pub(crate) struct Validation {
    valid: bool,
    problems: Py<PyTuple>,
    warnings: Py<PyTuple>,
}

impl Validation {
    pub(crate) fn new(
        py: Python<'_>,
        valid: bool,
        problems: Vec<Problem>,
        warnings: Vec<Problem>,
    ) -> PyResult<Self> {
        Ok(Validation {
            valid,
            problems: convert::problem_tuple(py, problems)?.unbind(),
            warnings: convert::problem_tuple(py, warnings)?.unbind(),
        })
    }
}

#[pymethods]
impl Validation {
    /// Whether the document loads (it has no problem; warnings do not count).
    #[getter]
    fn valid(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.valid))
    }

    /// The errors (``Problem`` objects): the document loads only when there is none.
    #[getter]
    fn problems(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        boundary(py, || Ok(self.problems.clone_ref(py)))
    }

    /// The warnings (``Problem`` objects).
    #[getter]
    fn warnings(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        boundary(py, || Ok(self.warnings.clone_ref(py)))
    }

    /// ``{"valid": bool, "problems": [...], "warnings": [...]}`` with each problem as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        boundary(py, || {
            let d = PyDict::new(py);
            d.set_item("valid", self.valid)?;
            for (name, list) in [("problems", &self.problems), ("warnings", &self.warnings)] {
                let items = list
                    .bind(py)
                    .iter()
                    .map(|p| p.call_method0("to_dict"))
                    .collect::<PyResult<Vec<_>>>()?;
                d.set_item(name, items)?;
            }
            Ok(d)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            Ok(format!(
                "Validation(valid={}, problems={}, warnings={})",
                if self.valid { "True" } else { "False" },
                self.problems.bind(py).repr()?,
                self.warnings.bind(py).repr()?
            ))
        })
    }
}
