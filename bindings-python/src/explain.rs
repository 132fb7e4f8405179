//! `Explanation` and its traces: the core's explanation of one request, read-only.

use std::sync::Arc;

use agen_policy_core as core;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::boundary;
use crate::convert;
use crate::decision::Decision;

/// A decision and how it came about, for people.
///
/// ``str()`` is the engine's readable text (what ``agen-policy explain`` prints);
/// ``to_dict()`` its JSON form. ``policies`` traces every policy of the request's connector.
#[pyclass(frozen, module = "agen_policy")]
pub(crate) struct Explanation {
    inner: Arc<core::Explanation>,
    decision: Py<Decision>,
}

impl Explanation {
    pub(crate) fn new(py: Python<'_>, inner: core::Explanation) -> PyResult<Self> {
        let decision = Py::new(py, convert::owned_decision(py, &inner.decision)?)?;
        Ok(Explanation {
            inner: Arc::new(inner),
            decision,
        })
    }
}

#[pymethods]
impl Explanation {
    /// The decision, equal to what ``evaluate`` gives for the same request.
    #[getter]
    fn decision(&self, py: Python<'_>) -> PyResult<Py<Decision>> {
        boundary(py, || Ok(self.decision.clone_ref(py)))
    }

    /// The request's user.
    #[getter]
    fn user(&self, py: Python<'_>) -> PyResult<&str> {
        boundary(py, || Ok(&*self.inner.user))
    }

    /// Whether the user is in the document's directory.
    #[getter]
    fn user_in_directory(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.inner.user_in_directory))
    }

    /// The user's effective groups: the directory's, then the request's.
    #[getter]
    fn effective_groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || convert::str_tuple(py, &self.inner.effective_groups))
    }

    /// The request's connector.
    #[getter]
    fn connector(&self, py: Python<'_>) -> PyResult<&str> {
        boundary(py, || Ok(&*self.inner.connector))
    }

    /// The request's tool.
    #[getter]
    fn tool(&self, py: Python<'_>) -> PyResult<&str> {
        boundary(py, || Ok(&*self.inner.tool))
    }

    /// A trace of every policy of the request's connector, in id order.
    #[getter]
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || {
            let traces = (0..self.inner.policies.len())
                .map(|index| {
                    Bound::new(
                        py,
                        PolicyTrace {
                            explanation: Arc::clone(&self.inner),
                            index,
                        },
                    )
                })
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, traces)
        })
    }

    /// The explanation as JSON-ready dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || convert::serialized(py, &*self.inner))
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.inner.to_string()))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            Ok(format!(
                "<Explanation of {}/{} for user {}: {}>",
                self.inner.connector,
                self.inner.tool,
                self.inner.user,
                self.decision.bind(py).str()?
            ))
        })
    }
}

/// How one policy bears on the request.
#[pyclass(frozen, module = "agen_policy")]
pub(crate) struct PolicyTrace {
    explanation: Arc<core::Explanation>,
    index: usize,
}

impl PolicyTrace {
    fn trace(&self, py: Python<'_>) -> PyResult<&core::PolicyTrace> {
        self.explanation
            .policies
            .get(self.index)
            .ok_or_else(|| convert::internal_error(py, "no such policy trace"))
    }
}

#[pymethods]
impl PolicyTrace {
    /// The policy's id.
    #[getter]
    fn id(&self, py: Python<'_>) -> PyResult<&str> {
        boundary(py, || Ok(&*self.trace(py)?.id))
    }

    /// Its name.
    #[getter]
    fn name(&self, py: Python<'_>) -> PyResult<&str> {
        boundary(py, || Ok(&*self.trace(py)?.name))
    }

    /// Its action (an ``Action``).
    #[getter]
    fn action<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || convert::action(py, self.trace(py)?.action))
    }

    /// Whether its tool selector selects the requested tool.
    #[getter]
    fn governs_tool(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.trace(py)?.governs_tool))
    }

    /// Why the user is in its scope (``"all users"``, ``"user alice"``, ``"group eng"``), or
    /// ``None`` when they are not.
    #[getter]
    fn scope(&self, py: Python<'_>) -> PyResult<Option<&str>> {
        boundary(py, || Ok(self.trace(py)?.scope.as_deref()))
    }

    /// Its rules, each with every condition's result (evaluated only for a candidate).
    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || {
            let rules = (0..self.trace(py)?.rules.len())
                .map(|rule| {
                    Bound::new(
                        py,
                        RuleTrace {
                            explanation: Arc::clone(&self.explanation),
                            policy: self.index,
                            rule,
                        },
                    )
                })
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, rules)
        })
    }

    /// What it serves when no rule matches, if it has targeting (an action's name or
    /// ``"none"``).
    #[getter]
    fn otherwise(&self, py: Python<'_>) -> PyResult<Option<&str>> {
        boundary(py, || Ok(self.trace(py)?.otherwise.as_deref()))
    }

    /// What it served, if it was a candidate: an action's name, or ``"none"``.
    #[getter]
    fn served(&self, py: Python<'_>) -> PyResult<Option<&str>> {
        boundary(py, || Ok(self.trace(py)?.served.as_deref()))
    }

    /// Whether it is one of the decision's determining policies.
    #[getter]
    fn determining(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.trace(py)?.determining))
    }

    /// The trace as JSON-ready dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || convert::serialized(py, self.trace(py)?))
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.trace(py)?.to_string()))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            let t = self.trace(py)?;
            Ok(format!(
                "<PolicyTrace {} [{}] served={}>",
                t.id,
                t.action,
                t.served.as_deref().unwrap_or("-")
            ))
        })
    }
}

/// One rule of a policy's targeting.
#[pyclass(frozen, module = "agen_policy")]
pub(crate) struct RuleTrace {
    explanation: Arc<core::Explanation>,
    policy: usize,
    rule: usize,
}

impl RuleTrace {
    fn trace(&self, py: Python<'_>) -> PyResult<&core::RuleTrace> {
        self.explanation
            .policies
            .get(self.policy)
            .and_then(|p| p.rules.get(self.rule))
            .ok_or_else(|| convert::internal_error(py, "no such rule trace"))
    }
}

#[pymethods]
impl RuleTrace {
    /// Whether every condition holds.
    #[getter]
    fn matched(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.trace(py)?.matched))
    }

    /// Its conditions.
    #[getter]
    fn conditions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || {
            let conditions = (0..self.trace(py)?.conditions.len())
                .map(|condition| {
                    Bound::new(
                        py,
                        ConditionTrace {
                            explanation: Arc::clone(&self.explanation),
                            policy: self.policy,
                            rule: self.rule,
                            condition,
                        },
                    )
                })
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, conditions)
        })
    }

    /// The trace as JSON-ready dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || convert::serialized(py, self.trace(py)?))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            let t = self.trace(py)?;
            Ok(format!(
                "<RuleTrace matched={} conditions={}>",
                if t.matched { "True" } else { "False" },
                t.conditions.len()
            ))
        })
    }
}

/// One condition and its result.
#[pyclass(frozen, module = "agen_policy")]
pub(crate) struct ConditionTrace {
    explanation: Arc<core::Explanation>,
    policy: usize,
    rule: usize,
    condition: usize,
}

impl ConditionTrace {
    fn trace(&self, py: Python<'_>) -> PyResult<&core::ConditionTrace> {
        self.explanation
            .policies
            .get(self.policy)
            .and_then(|p| p.rules.get(self.rule))
            .and_then(|r| r.conditions.get(self.condition))
            .ok_or_else(|| convert::internal_error(py, "no such condition trace"))
    }
}

#[pymethods]
impl ConditionTrace {
    /// The attribute name, e.g. ``agent.type``.
    #[getter]
    fn attribute(&self, py: Python<'_>) -> PyResult<&str> {
        boundary(py, || Ok(&*self.trace(py)?.attribute))
    }

    /// The operator's name, e.g. ``matches``.
    #[getter]
    fn operator(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.trace(py)?.operator.to_string()))
    }

    /// The condition's values.
    #[getter]
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || {
            let values = self
                .trace(py)?
                .values
                .iter()
                .map(|v| convert::to_py(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, values)
        })
    }

    /// Whether the result is inverted.
    #[getter]
    fn negate(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.trace(py)?.negate))
    }

    /// Whether strings compare ignoring case.
    #[getter]
    fn ignore_case(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.trace(py)?.ignore_case))
    }

    /// The attribute's value in this request, or ``None`` when it has none.
    #[getter]
    fn actual<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || match &self.trace(py)?.actual {
            Some(v) => convert::to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        })
    }

    /// The result: ``"true"``, ``"false"``, or ``"missing"`` (the attribute gave nothing the
    /// operator could compare, so the condition is false whatever ``negate`` says).
    #[getter]
    fn outcome(&self, py: Python<'_>) -> PyResult<&'static str> {
        boundary(py, || Ok(self.trace(py)?.outcome.as_str()))
    }

    /// The trace as JSON-ready dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || convert::serialized(py, self.trace(py)?))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            let t = self.trace(py)?;
            Ok(format!(
                "<ConditionTrace {}{} {}: {}>",
                t.attribute,
                if t.negate { " not" } else { "" },
                t.operator,
                t.outcome.as_str()
            ))
        })
    }
}
