//! The decision log record and the refusal text, as the core makes them: conversion only.

use agen_policy_core as core;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::convert::{self, Failure};
use crate::decision::Decision;

/// An argument that could not be converted, as `ArgumentError` naming it.
fn refused(py: Python<'_>, name: &str, failure: Failure) -> PyErr {
    match failure {
        Failure::Python(e) => e,
        Failure::Request { message, .. } => {
            convert::argument_error(py, format!("`{name}`: {message}"))
        }
    }
}

/// An action's name as the core's `Action`, or `ArgumentError`.
pub(crate) fn action(py: Python<'_>, action: &Bound<'_, PyAny>) -> PyResult<core::Action> {
    let name = convert::str_argument(action, "action")?;
    core::Action::parse(name).ok_or_else(|| {
        convert::argument_error(
            py,
            format!("unknown action `{name}`: expected allow, step_up, request_approval or deny"),
        )
    })
}

/// The record's `time`: integer Unix milliseconds or an aware `datetime`.
fn millis(py: Python<'_>, time: &Bound<'_, PyAny>) -> PyResult<core::Millis> {
    if time.cast::<PyInt>().is_ok() && time.cast::<PyBool>().is_err() {
        return time.extract::<i64>().map_err(|_| {
            convert::argument_error(py, "`time` is beyond 64-bit milliseconds".to_owned())
        });
    }
    match convert::datetime_millis(time, "") {
        Ok(Some(ms)) => Ok(ms),
        Ok(None) => Err(convert::argument_error(
            py,
            format!(
                "`time` must be integer Unix milliseconds or an aware datetime, not {}",
                convert::type_name(time)
            ),
        )),
        Err(e) => Err(refused(py, "time", e)),
    }
}

/// The call's group claims: strings in a list, tuple, set or frozenset.
fn groups(py: Python<'_>, groups: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(groups) = groups else {
        return Ok(Vec::new());
    };
    let value = convert::groups_value(groups).map_err(|e| refused(py, "groups", e))?;
    let items = value.as_array().map(|items| {
        items
            .iter()
            .map(|g| g.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
    });
    items.flatten().ok_or_else(|| {
        convert::argument_error(py, "`groups` must be a list of group ids".to_owned())
    })
}

/// An optional string argument.
fn optional_str(arg: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<String>> {
    match arg {
        Some(a) if !a.is_none() => Ok(Some(convert::str_argument(a, name)?.to_owned())),
        _ => Ok(None),
    }
}

/// The arguments of one record, borrowed from Python.
pub(crate) struct RecordArgs<'a, 'py> {
    pub(crate) decision: &'a Bound<'py, PyAny>,
    pub(crate) id: &'a Bound<'py, PyAny>,
    pub(crate) time: &'a Bound<'py, PyAny>,
    pub(crate) user: &'a Bound<'py, PyAny>,
    pub(crate) connector: &'a Bound<'py, PyAny>,
    pub(crate) tool: &'a Bound<'py, PyAny>,
    pub(crate) groups: Option<&'a Bound<'py, PyAny>>,
    pub(crate) tool_call_id: Option<&'a Bound<'py, PyAny>>,
    pub(crate) arguments_digest: Option<&'a Bound<'py, PyAny>>,
    pub(crate) arguments: Option<&'a Bound<'py, PyAny>>,
}

/// The core's decision log record as one line of JSON.
pub(crate) fn record_line(py: Python<'_>, a: &RecordArgs<'_, '_>) -> PyResult<String> {
    let Ok(decision) = a.decision.cast::<Decision>() else {
        return Err(convert::argument_error(
            py,
            format!(
                "`decision` must be a Decision, not {}",
                convert::type_name(a.decision)
            ),
        ));
    };
    let decision = decision.get().owned(py)?;
    let groups = groups(py, a.groups)?;
    let tool_call_id = optional_str(a.tool_call_id, "tool_call_id")?;
    let arguments_digest = optional_str(a.arguments_digest, "arguments_digest")?;
    let arguments = match a.arguments {
        Some(v) if !v.is_none() => {
            let limits = convert::limits();
            Some(
                convert::json_value(v, limits.max_request_bytes, limits.max_context_depth)
                    .map_err(|e| refused(py, "arguments", e))?,
            )
        }
        _ => None,
    };
    let record = core::log::DecisionRecord {
        id: convert::str_argument(a.id, "id")?,
        time: millis(py, a.time)?,
        user: convert::str_argument(a.user, "user")?,
        groups: &groups,
        connector: convert::str_argument(a.connector, "connector")?,
        tool: convert::str_argument(a.tool, "tool")?,
        tool_call_id: tool_call_id.as_deref(),
        decision: &decision,
        arguments_digest: arguments_digest.as_deref(),
        arguments: arguments.as_ref(),
    };
    Ok(record.to_json_line())
}
