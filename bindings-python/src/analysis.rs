//! Policy analysis (`docs/analysis.md`): lint, access review, diff and replay, each the core's
//! answer serialized to `dict`s.

use agen_policy_core as core;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{self, Failure};
use crate::{boundary, PolicySet};

/// The findings of ``PolicySet.lint``.
pub(crate) fn lint<'py>(py: Python<'py>, set: &core::PolicySet) -> PyResult<Bound<'py, PyAny>> {
    convert::serialized(py, &set.lint())
}

/// The review of ``PolicySet.access``.
pub(crate) fn access<'py>(
    py: Python<'py>,
    set: &core::PolicySet,
    connector: &str,
    tool: &str,
    user: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    convert::serialized(py, &set.access(connector, tool, user))
}

/// The change impact of ``new`` over ``old``: per user and tool, what decides differently,
/// with witness requests decided by both sets.
#[pyfunction]
pub(crate) fn diff<'py>(
    py: Python<'py>,
    old: PyRef<'py, PolicySet>,
    new: PyRef<'py, PolicySet>,
) -> PyResult<Bound<'py, PyAny>> {
    boundary(py, || {
        convert::serialized(py, &core::diff(&old.inner, &new.inner))
    })
}

/// The records of a decision log (each a ``dict`` or one JSON line) decided again under
/// ``policies``; the transitions, the most loosening first. A record that is not one raises
/// ``RequestError`` with its ``index``.
#[pyfunction]
pub(crate) fn replay<'py>(
    py: Python<'py>,
    policies: PyRef<'py, PolicySet>,
    records: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    boundary(py, || {
        let limits = convert::limits();
        let mut parsed = Vec::new();
        for (index, item) in records.try_iter()?.enumerate() {
            let item = item?;
            let line = if let Ok(s) = item.cast::<PyString>() {
                s.to_str()?.to_owned()
            } else {
                convert::json_value(
                    &item,
                    limits.max_request_bytes,
                    limits.max_context_depth + 1,
                )
                .map_err(|f| f.into_pyerr(py, Some(index)))?
                .to_string()
            };
            let record = core::ReplayRecord::from_json_line(&line)
                .map_err(|e| Failure::from(e).into_pyerr(py, Some(index)))?;
            parsed.push(record);
        }
        convert::serialized(py, &core::replay(&policies.inner, &parsed))
    })
}
