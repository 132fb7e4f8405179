//! Approval requests (SPEC §8) on plain dicts: each function converts its Python arguments
//! into JSON values and hands them to the core's `PolicySet::open_approval_value`,
//! `apply_approval` and `grant_value`, which check the arguments (`invalid_request`) and then the
//! state (`invalid_state`) before the operation's own rules.

use agen_policy_core::approval::ApprovalOp;
use agen_policy_core::{self as core, ApprovalCode};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use serde_json::Value;

use crate::convert::{self, Failure};

/// An argument converted, or the `ApprovalError` (code `invalid_request`) its conversion gives.
fn argument(py: Python<'_>, converted: Result<Value, Failure>, name: &str) -> PyResult<Value> {
    converted.map_err(|e| refused(py, e, ApprovalCode::InvalidRequest, name))
}

/// A failed conversion as an `ApprovalError` of `code`, its path prefixed by the argument's
/// name when it is inside one (`request/context/x`).
fn refused(py: Python<'_>, failure: Failure, code: ApprovalCode, name: &str) -> PyErr {
    match failure {
        Failure::Python(e) => e,
        Failure::Request { path, message } => convert::approval_error(
            py,
            code.as_str(),
            format!("`{name}`: {message}"),
            Some(path),
        ),
    }
}

fn small_value(obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
    let limits = convert::limits();
    convert::json_value(obj, limits.max_request_bytes, limits.max_context_depth)
}

/// An instant: RFC 3339 text, integer milliseconds or an aware `datetime`.
fn instant(py: Python<'_>, now: &Bound<'_, PyAny>) -> PyResult<Value> {
    argument(py, convert::instant_value(now), "now")
}

/// A state converted lazily: when it has no JSON form, the core is handed `null` so that it
/// checks the other arguments first, as for any state, and the conversion's reason replaces
/// the core's `invalid_state`.
struct State {
    value: Value,
    unconvertible: Option<Failure>,
}

impl State {
    fn of(state: &Bound<'_, PyAny>) -> State {
        match small_value(state) {
            Ok(value) => State {
                value,
                unconvertible: None,
            },
            Err(e) => State {
                value: Value::Null,
                unconvertible: Some(e),
            },
        }
    }

    fn error(self, py: Python<'_>, e: &core::ApprovalError) -> PyErr {
        match (e.code(), self.unconvertible) {
            (ApprovalCode::InvalidState, Some(failure)) => {
                refused(py, failure, ApprovalCode::InvalidState, "state")
            }
            _ => core_error(py, e),
        }
    }
}

fn core_error(py: Python<'_>, e: &core::ApprovalError) -> PyErr {
    convert::approval_error(py, e.code().as_str(), e.message().to_owned(), None)
}

fn state_dict<'py>(py: Python<'py>, state: &core::ApprovalState) -> PyResult<Bound<'py, PyAny>> {
    convert::to_py(py, &state.to_value())
}

/// `open_approval`: the new state.
pub(crate) fn open<'py>(
    py: Python<'py>,
    set: &core::PolicySet,
    request: &Bound<'_, PyAny>,
    flow: &Bound<'_, PyAny>,
    id: &Bound<'_, PyAny>,
    now: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let flow = argument(py, small_value(flow), "flow")?;
    let id = argument(py, small_value(id), "id")?;
    let now = instant(py, now)?;
    let request = argument(py, convert::request_value(request), "request")?;
    match set.open_approval_value(&request, &flow, &id, &now) {
        Ok(state) => state_dict(py, &state),
        Err(e) => Err(core_error(py, &e)),
    }
}

/// Which operation `apply` runs.
pub(crate) enum Op {
    Approve,
    Reject,
    Check,
    Cancel,
    Tick,
}

/// `approve`, `reject` (with `by` and `groups`), `cancel` and `tick`: the new state.
pub(crate) fn apply<'py>(
    py: Python<'py>,
    set: &core::PolicySet,
    op: Op,
    state: &Bound<'_, PyAny>,
    by: Option<&Bound<'_, PyAny>>,
    now: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let now = instant(py, now)?;
    let by = by
        .map(|by| argument(py, small_value(by), "approver"))
        .transpose()?
        .unwrap_or(Value::Null);
    let groups = groups
        .filter(|g| !g.is_none())
        .map(|g| argument(py, convert::groups_value(g), "groups"))
        .transpose()?;
    let state = State::of(state);
    let op = match op {
        Op::Approve => ApprovalOp::Approve(&by, &now, groups.as_ref()),
        Op::Reject => ApprovalOp::Reject(&by, &now, groups.as_ref()),
        Op::Check => ApprovalOp::Check(&by, &now, groups.as_ref()),
        Op::Cancel => ApprovalOp::Cancel(&now),
        Op::Tick => ApprovalOp::Tick(&now),
    };
    match set.apply_approval(&state.value, op) {
        Ok(next) => state_dict(py, &next),
        Err(e) => Err(state.error(py, &e)),
    }
}

/// `check_approver`: raises what `approve` would but `already_voted`.
pub(crate) fn check_approver(
    py: Python<'_>,
    set: &core::PolicySet,
    state: &Bound<'_, PyAny>,
    person: &Bound<'_, PyAny>,
    now: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    // The core judges the arguments (as JSON values) and the state, then the person.
    apply(py, set, Op::Check, state, Some(person), now, groups).map(|_| ())
}

/// `grant`: the grant of an approved request.
pub(crate) fn grant<'py>(
    py: Python<'py>,
    set: &core::PolicySet,
    state: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let state = State::of(state);
    match set.grant_value(&state.value) {
        Ok(grant) => convert::to_py(py, &grant.to_value()),
        Err(e) => Err(state.error(py, &e)),
    }
}

/// `eligible_approvers`: the directory users who may approve the current step now.
pub(crate) fn eligible_approvers<'py>(
    py: Python<'py>,
    set: &core::PolicySet,
    state: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let state = State::of(state);
    let people = core::ApprovalState::from_value(&state.value)
        .and_then(|s| {
            set.eligible_approvers(&s)
                .map(|people| people.into_iter().map(str::to_owned).collect::<Vec<_>>())
        })
        .map_err(|e| state.error(py, &e))?;
    convert::str_tuple(py, &people)
}

/// `arguments_digest`: the SPEC §8.5 digest of a JSON-like value.
pub(crate) fn arguments_digest(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let limits = convert::limits();
    // As deep as the core's own JSON parser reads arguments given as text.
    const MAX_DEPTH: usize = 128;
    let value = convert::json_value(value, limits.max_document_bytes, MAX_DEPTH)
        .map_err(|e| e.into_pyerr(py, None))?;
    Ok(py.detach(|| core::arguments_digest(&value)))
}
