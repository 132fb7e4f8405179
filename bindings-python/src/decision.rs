//! `Decision`: the answer to one request, made once per evaluation and cheap to read.

use std::sync::Mutex;

use agen_policy_core as core;
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use rustc_hash::FxHashMap;

use crate::boundary;
use crate::convert;

/// How many distinct decisions one policy set keeps as ready-made objects.
const CACHE_CAPACITY: usize = 4096;

/// The decision objects a policy set has already made, so that evaluating a request whose
/// decision was seen before creates no Python object: a decision is immutable, and building
/// one (a tuple, a string per policy id, the object) costs more than the lookup.
pub(crate) struct DecisionCache {
    entries: Mutex<FxHashMap<DecisionKey, Py<Decision>>>,
}

/// A decision's identity within its set (`Decision::identity`): its action and reason, and
/// the set's indices of its policies, flows and satisfied policies. The set never changes, so
/// equal identities mean equal decisions (step-up requirements follow from the policies).
#[derive(PartialEq, Eq, Hash)]
struct DecisionKey {
    action: core::Action,
    reason: core::Reason,
    indices: Indices,
}

/// The indices as one run of numbers, `[policies, flows, policies..., flows..., satisfied...]`
/// (the two counts make the split unambiguous), in a fixed array when they fit (unused slots
/// zero), else on the heap: a fixed array is cheap to fill, hash and compare. A lookup costs
/// about 390 instructions (the lock, the hash, the probe, the new reference) where three small
/// vectors (the key before) cost about 680, and one small vector filled by
/// `extend_from_slice` about 900 (callgrind, the benchmark's workload).
#[derive(PartialEq, Eq, Hash)]
enum Indices {
    Inline([u32; INLINE_INDICES]),
    Heap(Box<[u32]>),
}

const INLINE_INDICES: usize = 8;

impl DecisionKey {
    #[inline]
    fn of(d: &core::Decision<'_>) -> Self {
        let (action, reason, policies, approval_flows, satisfied) = d.identity();
        let count = |s: &[u32]| u32::try_from(s.len()).unwrap_or(u32::MAX);
        let run = [count(policies), count(approval_flows)]
            .into_iter()
            .chain(policies.iter().copied())
            .chain(approval_flows.iter().copied())
            .chain(satisfied.iter().copied());
        let len = 2 + policies.len() + approval_flows.len() + satisfied.len();
        let indices = if len <= INLINE_INDICES {
            let mut inline = [0; INLINE_INDICES];
            for (slot, i) in inline.iter_mut().zip(run) {
                *slot = i;
            }
            Indices::Inline(inline)
        } else {
            Indices::Heap(run.collect())
        };
        DecisionKey {
            action,
            reason,
            indices,
        }
    }
}

impl DecisionCache {
    pub(crate) fn new() -> Self {
        DecisionCache {
            entries: Mutex::new(FxHashMap::default()),
        }
    }

    /// The object for a decision of the set whose version is `version`.
    ///
    /// No Python code runs while the lock is held (only reference counts change), so the
    /// lock cannot wait on the GIL.
    pub(crate) fn get(
        &self,
        py: Python<'_>,
        d: &core::Decision<'_>,
        version: &Py<PyString>,
    ) -> PyResult<Py<Decision>> {
        let key = DecisionKey::of(d);
        if let Ok(entries) = self.entries.lock() {
            if let Some(hit) = entries.get(&key) {
                return Ok(hit.clone_ref(py));
            }
        }
        let made = Py::new(py, convert::decision(py, d, version)?)?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() < CACHE_CAPACITY && !entries.contains_key(&key) {
                entries.insert(key, made.clone_ref(py));
            }
        }
        Ok(made)
    }
}

/// The answer to one request: ``action``, ``reason``, the determining ``policies``, for
/// ``request_approval`` the ``approval_flows`` to run, the policies whose step-up or approval
/// the request's evidence ``satisfied``, for ``step_up`` the ``step_up`` requirements, and the
/// ``version`` of the policy set.
///
/// Immutable; equal decisions compare equal and hash alike. ``str()`` gives the one-line form
/// ``deny (policy: p1, p2)``.
#[pyclass(frozen, module = "agen_policy")]
pub(crate) struct Decision {
    pub(crate) action: core::Action,
    pub(crate) reason: core::Reason,
    pub(crate) allowed: bool,
    pub(crate) action_obj: Py<PyAny>,
    pub(crate) reason_obj: Py<PyAny>,
    pub(crate) policies: Py<PyTuple>,
    pub(crate) approval_flows: Py<PyTuple>,
    pub(crate) satisfied: Py<PyTuple>,
    /// Kept as the core's values: each read of ``step_up`` makes new dicts from them.
    pub(crate) step_up: Box<[core::StepUpRequirement]>,
    pub(crate) version: Py<PyString>,
}

impl Decision {
    pub(crate) fn owned(&self, py: Python<'_>) -> PyResult<core::OwnedDecision> {
        Ok(core::OwnedDecision {
            action: self.action,
            reason: self.reason,
            policies: convert::tuple_strings(self.policies.bind(py))?,
            approval_flows: convert::tuple_strings(self.approval_flows.bind(py))?,
            satisfied: convert::tuple_strings(self.satisfied.bind(py))?,
            step_up: self.step_up.to_vec(),
            version: self.version.bind(py).to_str()?.to_owned(),
        })
    }

    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            [
                self.action_obj.bind(py).clone(),
                self.reason_obj.bind(py).clone(),
                self.policies.bind(py).clone().into_any(),
                self.approval_flows.bind(py).clone().into_any(),
                self.satisfied.bind(py).clone().into_any(),
                self.version.bind(py).clone().into_any(),
            ],
        )
    }
}

#[pymethods]
impl Decision {
    /// The action (an ``Action``, equal to its name: ``"allow"``, ``"step_up"``,
    /// ``"request_approval"`` or ``"deny"``).
    #[getter]
    fn action(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        boundary(py, || Ok(self.action_obj.clone_ref(py)))
    }

    /// Why (a ``Reason``, equal to its name, e.g. ``"policy"`` or ``"no_policy"``).
    #[getter]
    fn reason(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        boundary(py, || Ok(self.reason_obj.clone_ref(py)))
    }

    /// Ids of the determining policies, in byte order; empty unless the reason is ``policy``.
    #[getter]
    fn policies(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        boundary(py, || Ok(self.policies.clone_ref(py)))
    }

    /// For ``request_approval``, the distinct approval flows of the determining policies, in
    /// byte order; empty otherwise.
    #[getter]
    fn approval_flows(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        boundary(py, || Ok(self.approval_flows.clone_ref(py)))
    }

    /// Ids of the candidate policies whose ``step_up`` or ``request_approval`` the request's
    /// evidence satisfied (SPEC §7.3), in byte order, whatever the decision; usually empty.
    #[getter]
    fn satisfied(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        boundary(py, || Ok(self.satisfied.clone_ref(py)))
    }

    /// For ``step_up``, each determining policy's requirement, by policy id: new dicts
    /// ``{"policy", "max_age", "acr_values"}`` (``max_age`` in seconds, ``acr_values`` a list,
    /// empty for any); empty otherwise.
    #[getter]
    fn step_up<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || {
            let items = self
                .step_up
                .iter()
                .map(|r| convert::serialized(py, r))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)
        })
    }

    /// The version of the policy set that made the decision: the SHA-256, in hex, of its
    /// document as loaded (``PolicySet.version``).
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        boundary(py, || Ok(self.version.clone_ref(py)))
    }

    /// ``True`` only when the action is ``allow``.
    #[getter]
    fn allowed(&self, py: Python<'_>) -> PyResult<bool> {
        boundary(py, || Ok(self.allowed))
    }

    /// ``{"action", "reason", "policies", "approval_flows", "satisfied", "step_up", "version"}``
    /// with plain strings, numbers and lists, the engine's JSON form of a decision.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        boundary(py, || {
            let d = PyDict::new(py);
            d.set_item("action", self.action.as_str())?;
            d.set_item("reason", self.reason.as_str())?;
            d.set_item("policies", PyList::new(py, self.policies.bind(py))?)?;
            d.set_item(
                "approval_flows",
                PyList::new(py, self.approval_flows.bind(py))?,
            )?;
            d.set_item("satisfied", PyList::new(py, self.satisfied.bind(py))?)?;
            d.set_item("step_up", convert::serialized(py, &self.step_up)?)?;
            d.set_item("version", self.version.bind(py))?;
            Ok(d)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            Ok(format!(
                "Decision(action='{}', reason='{}', policies={}, approval_flows={}, satisfied={}, \
                 version='{}…')",
                self.action.as_str(),
                self.reason.as_str(),
                self.policies.bind(py).repr()?,
                self.approval_flows.bind(py).repr()?,
                self.satisfied.bind(py).repr()?,
                self.version
                    .bind(py)
                    .to_str()?
                    .get(..12)
                    .unwrap_or_default()
            ))
        })
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || Ok(self.owned(py)?.to_string()))
    }

    fn __richcmp__(
        &self,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
        py: Python<'_>,
    ) -> PyResult<Py<PyAny>> {
        boundary(py, || {
            let Ok(other) = other.cast::<Decision>() else {
                return Ok(py.NotImplemented());
            };
            let other = other.get();
            let equal = self.action == other.action
                && self.reason == other.reason
                && self.policies.bind(py).eq(other.policies.bind(py))?
                && self
                    .approval_flows
                    .bind(py)
                    .eq(other.approval_flows.bind(py))?
                && self.satisfied.bind(py).eq(other.satisfied.bind(py))?
                && self.step_up == other.step_up
                && self.version.bind(py).as_any().eq(other.version.bind(py))?;
            let result = match op {
                CompareOp::Eq => equal,
                CompareOp::Ne => !equal,
                _ => return Ok(py.NotImplemented()),
            };
            Ok(pyo3::types::PyBool::new(py, result)
                .to_owned()
                .into_any()
                .unbind())
        })
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        boundary(py, || self.key(py)?.hash())
    }
}
