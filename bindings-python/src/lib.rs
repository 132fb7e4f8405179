//! The native part of the `agen_policy` Python package (`agen_policy._native`).
//!
//! Every method converts its arguments (module `convert`), calls the core and converts the result
//! back: the semantics are the core's alone. Every entry point from Python (methods, getters,
//! `__repr__`, constructors) runs its body inside `boundary`, so a panic never crosses into
//! Python as anything but `agen_policy.PolicyError`.

mod analysis;
mod approval;
mod convert;
mod decision;
mod explain;
#[cfg(feature = "test-hooks")]
mod hooks;
mod log;
mod problem;
mod testfile;
mod view;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use agen_policy_core as core;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::{Evidence, Failure};
use crate::decision::{Decision, DecisionCache};
use crate::explain::{ConditionTrace, Explanation, PolicyTrace, RuleTrace};
use crate::problem::{Problem, Validation};

/// The most decision slots a batch reserves up front from its length hint.
const BATCH_HINT: usize = 4096;

/// A batch lets go of the GIL for a moment once this long has passed since it last did (the
/// clock read every 4 requests: under 1 % of a request's cost), so that a long batch lets the
/// host's other threads run as Python code would: a thread that has waited longer than the
/// switch interval (5 ms by default) gets the GIL at the next release. A count of requests
/// alone would not do: a slow request (a long string scanned by many conditions, a debug
/// build) makes a few of them take milliseconds.
///
/// The batch is evaluated holding the GIL: the requests are read in place, which needs it.
/// Converting each request to an owned one and evaluating a chunk of 256 without the GIL
/// instead (the earlier design) cost about twice as much per request: 7,257 instructions per
/// request in batches of 64 and 6,468 in batches of 1,000, against 3,644 and 3,610 read in
/// place (callgrind, the benchmark's workload), so no batch size is cheaper released.
const BATCH_YIELD_AFTER: std::time::Duration = std::time::Duration::from_millis(1);

/// Runs the body of an entry point, turning a panic into `PolicyError`.
pub(crate) fn boundary<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    let body = || {
        #[cfg(feature = "test-hooks")]
        hooks::panic_if_armed();
        f()
    };
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Err(convert::internal_error(py, &what))
        }
    }
}

/// A loaded policy document: validated, indexed and immutable.
///
/// Load it once (``from_json``, ``from_dict``, ``from_file``), then evaluate any number of
/// requests against it, from any number of threads.
#[pyclass(frozen, module = "agen_policy")]
struct PolicySet {
    inner: core::PolicySet,
    /// The set's version as a Python string, shared by all its decisions.
    version: Py<PyString>,
    decisions: DecisionCache,
}

impl PolicySet {
    /// Loads JSON bytes without holding the GIL: a large document takes a while.
    fn load(py: Python<'_>, bytes: &[u8]) -> PyResult<PolicySet> {
        match py.detach(|| core::PolicySet::from_slice_with_limits(bytes, convert::limits())) {
            Ok(inner) => {
                let version = PyString::new(py, inner.version()).unbind();
                Ok(PolicySet {
                    inner,
                    version,
                    decisions: DecisionCache::new(),
                })
            }
            Err(e) => Err(convert::load_error(py, &e)),
        }
    }

    fn load_text(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
        let bytes = convert::text(text).map_err(|e| e.into_pyerr(py))?;
        PolicySet::load(py, bytes)
    }

    fn load_values(py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
        let json =
            convert::document_json(document).map_err(|p| convert::unconvertible_document(py, p))?;
        PolicySet::load(py, &json)
    }

    fn load_file(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
        let path = convert::path(path)?;
        let bytes = convert::read_document(py, &path)?;
        PolicySet::load(py, &bytes)
    }

    fn decide(&self, py: Python<'_>, request: &core::Request) -> PyResult<Py<Decision>> {
        self.decisions
            .get(py, &self.inner.evaluate(request), &self.version)
    }

    /// Decides on `evaluate`'s arguments without evidence, read in place.
    #[inline]
    fn decide_view(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> Result<Py<Decision>, Failure> {
        let decision = view::with_view(user, connector, tool, groups, context, |v| {
            self.inner.evaluate_view(v)
        })??;
        Ok(self.decisions.get(py, &decision, &self.version)?)
    }

    /// Decides on item `i` of a batch: read in place when it is a dict of the fields
    /// `evaluate` takes, else (evidence, JSON text, anything the core must judge) converted
    /// whole as by `evaluate_request`.
    fn decide_item(
        &self,
        py: Python<'_>,
        item: &Bound<'_, PyAny>,
        i: usize,
    ) -> PyResult<Py<Decision>> {
        if let Some(r) = view::PlainRequest::of(item)? {
            let decided = view::with_view(
                &r.user,
                &r.connector,
                &r.tool,
                r.groups.as_ref(),
                r.context.as_ref(),
                |v| self.inner.evaluate_view(v),
            );
            match decided {
                Ok(Ok(decision)) => return self.decisions.get(py, &decision, &self.version),
                // A context value the engine read and refused.
                Ok(Err(e)) => return Err(Failure::from(e).into_pyerr(py, Some(i))),
                // An id or a claim the view refused: converted whole below, so that the error
                // is worded as `evaluate_request` words it.
                Err(_) => {}
            }
        }
        let request = convert::request(item).map_err(|e| e.into_pyerr(py, Some(i)))?;
        self.decide(py, &request)
    }
}

#[pymethods]
impl PolicySet {
    /// Loads a document from JSON text (``str`` or UTF-8 ``bytes``).
    ///
    /// Raises ``DocumentError`` listing every problem when it does not load.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
        boundary(py, || PolicySet::load_text(py, text))
    }

    /// Loads a document given as Python values: dicts, lists, strings, numbers, booleans and
    /// ``None``, as ``json.load`` makes them.
    #[staticmethod]
    fn from_dict(py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
        boundary(py, || PolicySet::load_values(py, document))
    }

    /// Loads a document from a JSON file (a ``str``, ``bytes`` or ``os.PathLike`` path), reading
    /// at most one byte more than the document size limit.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
        boundary(py, || PolicySet::load_file(py, path))
    }

    /// The version of this set: the SHA-256, in hex, of its document as loaded (every default
    /// written out), so two documents that differ only in formatting have the same version.
    /// Every decision carries it.
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        boundary(py, || Ok(self.version.clone_ref(py)))
    }

    /// The warnings found while loading (``Problem`` objects).
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || {
            convert::problem_tuple(
                py,
                self.inner
                    .warnings()
                    .iter()
                    .map(Problem::from_core)
                    .collect(),
            )
        })
    }

    /// The document as loaded, with every default filled in, as a new ``dict``.
    fn document<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || convert::serialized(py, self.inner.document()))
    }

    /// Lint findings about the document (``docs/analysis.md``): ``{"findings": [...]}``, each
    /// with ``severity``, ``code``, ``path``, ``message`` and ``policies``, most severe first.
    fn lint<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || analysis::lint(py, &self.inner))
    }

    /// The access review of ``connector``'s ``tool``: for each directory user (or only
    /// ``user``), each named group and anyone else, the decision as pieces of the context.
    #[pyo3(signature = (connector, tool, user=None))]
    fn access<'py>(
        &self,
        py: Python<'py>,
        connector: &str,
        tool: &str,
        user: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || {
            analysis::access(py, &self.inner, connector, tool, user)
        })
    }

    /// Decides whether ``user`` may call ``tool`` of ``connector``.
    ///
    /// ``groups`` are the caller's group claims (joined with the directory's groups of the
    /// user); ``context`` a dict of JSON-like values that targeting attributes are looked up in.
    /// ``now``, ``auth``, ``grants`` and ``arguments`` are the evidence of SPEC §7.2 that a
    /// step-up or an approval was completed: ``now`` is RFC 3339 text, integer Unix
    /// milliseconds or a timezone-aware ``datetime``; ``auth`` a dict ``{"time", "acr",
    /// "amr"}``; ``grants`` a list of grants (as ``grant`` returns them); ``arguments`` the
    /// call's ``arguments_digest``. Raises ``RequestError`` for an invalid request; never for
    /// a decision.
    ///
    /// Without evidence the request is read in place: the ids and groups are borrowed, and the
    /// context is read only where a condition of a candidate policy reads it, so only the
    /// values read are converted and checked (a value without a JSON form that no condition
    /// reads changes nothing). With evidence the whole request is converted and checked first.
    #[pyo3(signature = (
        user, connector, tool, *, groups=None, context=None, now=None, auth=None, grants=None,
        arguments=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        auth: Option<&Bound<'_, PyAny>>,
        grants: Option<&Bound<'_, PyAny>>,
        arguments: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Decision>> {
        boundary(py, || {
            let evidence = Evidence {
                now,
                auth,
                grants,
                arguments,
            };
            if !evidence.is_empty() {
                let request = convert::request_arguments(
                    py, user, connector, tool, groups, context, evidence,
                )?;
                return self.decide(py, &request);
            }
            self.decide_view(py, user, connector, tool, groups, context)
                .map_err(|e| e.into_pyerr(py, None))
        })
    }

    /// Decides on a whole request: a dict with ``user``, ``connector``, ``tool`` and optional
    /// ``groups``, ``context``, ``now``, ``auth``, ``grants`` and ``arguments`` (a datetime
    /// ``now`` or ``auth["time"]`` as in ``evaluate``). JSON text is accepted too, as by
    /// ``evaluate_json``.
    fn evaluate_request(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Decision>> {
        boundary(py, || {
            let request = convert::request(request).map_err(|e| e.into_pyerr(py, None))?;
            self.decide(py, &request)
        })
    }

    /// Decides on a request given as JSON text (``str`` or UTF-8 ``bytes``), parsed by the
    /// engine itself (a repeated key is refused, numbers are read as in documents).
    fn evaluate_json(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Py<Decision>> {
        boundary(py, || {
            let request = convert::request_json(text).map_err(|e| e.into_pyerr(py, None))?;
            self.decide(py, &request)
        })
    }

    /// Decides on every request of an iterable (each as for ``evaluate_request``), in order.
    ///
    /// The first invalid request raises ``RequestError`` with its ``index`` (and nothing is
    /// returned). A dict of ``evaluate``'s fields (``user``, ``connector``, ``tool``,
    /// ``groups``, ``context``) is read in place as ``evaluate`` reads it: only the context
    /// values a condition reads are checked. Any other request is converted whole.
    ///
    /// The batch holds the GIL (reading the dicts in place needs it), letting it go for a
    /// moment every millisecond so that other threads run during a long batch.
    fn evaluate_many<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        boundary(py, || {
            let not_a_batch = || {
                let message = format!(
                    "evaluate_many takes an iterable of requests, not {}",
                    convert::type_name(requests)
                );
                Failure::Request {
                    path: String::new(),
                    message,
                }
                .into_pyerr(py, None)
            };
            if requests.cast::<PyString>().is_ok()
                || requests.cast::<PyBytes>().is_ok()
                || requests.cast::<PyDict>().is_ok()
            {
                return Err(not_a_batch());
            }
            let iter = requests.try_iter().map_err(|e| {
                if e.is_instance_of::<PyTypeError>(py) {
                    not_a_batch()
                } else {
                    e
                }
            })?;
            let mut objects = Vec::with_capacity(requests.len().unwrap_or(0).min(BATCH_HINT));
            let mut released = std::time::Instant::now();
            for (i, item) in iter.enumerate() {
                if i % 4 == 3 && released.elapsed() >= BATCH_YIELD_AFTER {
                    py.detach(|| ());
                    released = std::time::Instant::now();
                }
                objects.push(self.decide_item(py, &item?, i)?);
            }
            PyList::new(py, objects)
        })
    }

    /// The benchmark's floor (a test hook): a native method taking `evaluate`'s arguments that
    /// converts nothing and returns `None` (inside the panic boundary, as every entry point).
    #[cfg(feature = "test-hooks")]
    #[pyo3(signature = (user, connector, tool, *, groups=None, context=None))]
    #[allow(unused_variables)]
    fn _probe_floor(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        boundary(py, || Ok(()))
    }

    /// Cost probe for the benchmark (a test hook): the call and its argument extraction only,
    /// inside the panic boundary.
    #[cfg(feature = "test-hooks")]
    #[pyo3(signature = (user, connector, tool, *, groups=None, context=None))]
    fn _probe_call(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        boundary(py, || {
            Ok(groups.is_none() && context.is_none() && user.is(connector) && connector.is(tool))
        })
    }

    /// Cost probe for the benchmark (a test hook): the call and the request view of its
    /// arguments (the context is read only by an evaluation).
    #[cfg(feature = "test-hooks")]
    #[pyo3(signature = (user, connector, tool, *, groups=None, context=None))]
    fn _probe_convert(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        boundary(py, || {
            view::with_view(user, connector, tool, groups, context, |v| {
                v.user().len() == v.tool().len()
            })
            .map_err(|e| e.into_pyerr(py, None))
        })
    }

    /// Cost probe for the benchmark (a test hook): `evaluate` without finding the `Decision`
    /// object.
    #[cfg(feature = "test-hooks")]
    #[pyo3(signature = (user, connector, tool, *, groups=None, context=None))]
    fn _probe_decide(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        boundary(py, || {
            view::with_view(user, connector, tool, groups, context, |v| {
                self.inner.evaluate_view(v).map(|d| d.allowed())
            })
            .and_then(|r| r.map_err(Failure::from))
            .map_err(|e| e.into_pyerr(py, None))
        })
    }

    /// Cost probe for the benchmark (a test hook): `evaluate` making a new `Decision` object
    /// every time instead of reusing one.
    #[cfg(feature = "test-hooks")]
    #[pyo3(signature = (user, connector, tool, *, groups=None, context=None))]
    fn _probe_uncached(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        boundary(py, || {
            let d = view::with_view(user, connector, tool, groups, context, |v| {
                self.inner.evaluate_view(v)
            })
            .and_then(|r| r.map_err(Failure::from))
            .map_err(|e| e.into_pyerr(py, None))?;
            convert::decision(py, &d, &self.version)
        })
    }

    /// Explains the decision on a request (same arguments as ``evaluate``).
    #[pyo3(signature = (
        user, connector, tool, *, groups=None, context=None, now=None, auth=None, grants=None,
        arguments=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        auth: Option<&Bound<'_, PyAny>>,
        grants: Option<&Bound<'_, PyAny>>,
        arguments: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Explanation> {
        boundary(py, || {
            let evidence = Evidence {
                now,
                auth,
                grants,
                arguments,
            };
            let request =
                convert::request_arguments(py, user, connector, tool, groups, context, evidence)?;
            Explanation::new(py, self.inner.explain(&request))
        })
    }

    /// Explains the decision on a whole request (as for ``evaluate_request``).
    fn explain_request(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Explanation> {
        boundary(py, || {
            let request = convert::request(request).map_err(|e| e.into_pyerr(py, None))?;
            Explanation::new(py, self.inner.explain(&request))
        })
    }

    /// Opens an approval request (SPEC §8.3) for ``request`` (a dict, as for
    /// ``evaluate_request``) through approval flow ``flow``, with the host's ``id``, at ``now``
    /// (RFC 3339 text, integer Unix milliseconds or an aware ``datetime``). The engine
    /// evaluates the request itself. Returns the new state, a ``dict`` the host stores; raises
    /// ``ApprovalError`` (``not_requested``, ``cannot_approve``, ``invalid_request``).
    fn open_approval<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        flow: &Bound<'py, PyAny>,
        id: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || {
            approval::open(py, &self.inner, request, flow, id, now)
        })
    }

    /// Records ``approver``'s approval of a pending request (``groups``: the host's group
    /// claims for the approver). Returns the new state; the given one is not changed. Raises
    /// ``ApprovalError`` (``not_pending``, ``expired``, ``self_approval``,
    /// ``not_an_approver``, ``already_voted``, ``invalid_state``, ``invalid_request``).
    #[pyo3(signature = (state, approver, now, groups=None))]
    fn approve<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
        approver: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
        groups: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || {
            approval::apply(
                py,
                &self.inner,
                approval::Op::Approve,
                state,
                Some(approver),
                now,
                groups,
            )
        })
    }

    /// Records ``approver``'s rejection: the checks of ``approve`` but ``already_voted``.
    #[pyo3(signature = (state, approver, now, groups=None))]
    fn reject<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
        approver: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
        groups: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || {
            approval::apply(
                py,
                &self.inner,
                approval::Op::Reject,
                state,
                Some(approver),
                now,
                groups,
            )
        })
    }

    /// Cancels a pending request (``not_pending`` otherwise); the timeout is not checked.
    fn cancel<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || {
            approval::apply(
                py,
                &self.inner,
                approval::Op::Cancel,
                state,
                None,
                now,
                None,
            )
        })
    }

    /// Expires a pending request whose flow's timeout has passed; returns any other state
    /// unchanged.
    fn tick<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || {
            approval::apply(py, &self.inner, approval::Op::Tick, state, None, now, None)
        })
    }

    /// The grant of an approved request (``not_approved`` otherwise), a ``dict`` to pass in a
    /// request's ``grants``.
    fn grant<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        boundary(py, || approval::grant(py, &self.inner, state))
    }

    /// Returns ``None`` if ``person`` may act on the pending request now, else raises the
    /// ``ApprovalError`` ``approve`` would (but ``already_voted``).
    #[pyo3(signature = (state, person, now, groups=None))]
    fn check_approver(
        &self,
        py: Python<'_>,
        state: &Bound<'_, PyAny>,
        person: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        boundary(py, || {
            approval::check_approver(py, &self.inner, state, person, now, groups)
        })
    }

    /// The directory users who may approve the current step of a pending request (not the
    /// requester unless the flow allows it, not who already approved), sorted; people eligible
    /// only through the host's group claims are not in the directory and not listed.
    fn eligible_approvers<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        boundary(py, || approval::eligible_approvers(py, &self.inner, state))
    }

    /// Pickles as the document's JSON, which loads to a set of the same version.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyString>,))> {
        let py = slf.py();
        boundary(py, || {
            let text = serde_json::to_string(slf.get().inner.document())
                .map_err(|e| convert::internal_error(py, &format!("cannot serialize: {e}")))?;
            Ok((
                slf.get_type().getattr("from_json")?,
                (PyString::new(py, &text),),
            ))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            let d = self.inner.document();
            Ok(format!(
                "<PolicySet: {} connectors, {} policies>",
                d.connectors.len(),
                d.policies.len()
            ))
        })
    }
}

/// A shared handle to the current policy set that can be reloaded while requests are being
/// evaluated, from any number of threads.
///
/// ``reload`` validates the new document completely first: an invalid one raises
/// ``DocumentError`` and the engine keeps serving its current set. A valid one replaces it
/// atomically: a call in flight finishes on the set it started with, the next sees the new
/// one, and every decision's ``version`` names the set that made it.
#[pyclass(frozen, module = "agen_policy")]
struct Engine {
    current: arc_swap::ArcSwap<Py<PolicySet>>,
}

impl Engine {
    fn swap_in(&self, py: Python<'_>, set: PolicySet) -> PyResult<Py<PyString>> {
        let version = set.version.clone_ref(py);
        self.current.store(Arc::new(Py::new(py, set)?));
        Ok(version)
    }

    /// The current set, held for the caller's use whatever reloads happen meanwhile.
    fn set<'py>(&self, py: Python<'py>) -> Bound<'py, PolicySet> {
        self.current.load().bind(py).clone()
    }
}

/// A `PolicySet` argument, or `ArgumentError`.
fn policy_set_argument(policies: &Bound<'_, PyAny>) -> PyResult<Py<PolicySet>> {
    match policies.cast::<PolicySet>() {
        Ok(set) => Ok(set.clone().unbind()),
        Err(_) => Err(convert::argument_error(
            policies.py(),
            format!(
                "`policies` must be a PolicySet, not {}",
                convert::type_name(policies)
            ),
        )),
    }
}

#[pymethods]
impl Engine {
    /// An engine serving ``policies`` (a ``PolicySet``).
    #[new]
    fn new(py: Python<'_>, policies: &Bound<'_, PyAny>) -> PyResult<Engine> {
        boundary(py, || {
            Ok(Engine {
                current: arc_swap::ArcSwap::from_pointee(policy_set_argument(policies)?),
            })
        })
    }

    /// The policy set currently served.
    #[getter]
    fn current<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PolicySet>> {
        boundary(py, || Ok(self.set(py)))
    }

    /// The current set's version.
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        boundary(py, || Ok(self.set(py).get().version.clone_ref(py)))
    }

    /// Loads a document from JSON text (``str`` or ``bytes``) or a ``dict`` and, only if it is
    /// valid, makes it the current set. Returns the new version; raises ``DocumentError`` (the
    /// current set is then unchanged).
    fn reload(&self, py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<Py<PyString>> {
        boundary(py, || {
            let set = if document.cast::<PyDict>().is_ok() {
                PolicySet::load_values(py, document)?
            } else {
                PolicySet::load_text(py, document)?
            };
            self.swap_in(py, set)
        })
    }

    /// Like ``reload``, reading the document from a JSON file (as ``PolicySet.from_file``).
    fn reload_file(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyString>> {
        boundary(py, || {
            let set = PolicySet::load_file(py, path)?;
            self.swap_in(py, set)
        })
    }

    /// Makes ``policies`` the current set; returns the one it replaces.
    fn replace(&self, py: Python<'_>, policies: &Bound<'_, PyAny>) -> PyResult<Py<PolicySet>> {
        boundary(py, || {
            let new = policy_set_argument(policies)?;
            Ok(self.current.swap(Arc::new(new)).clone_ref(py))
        })
    }

    /// ``evaluate`` on the current set.
    #[pyo3(signature = (
        user, connector, tool, *, groups=None, context=None, now=None, auth=None, grants=None,
        arguments=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        auth: Option<&Bound<'_, PyAny>>,
        grants: Option<&Bound<'_, PyAny>>,
        arguments: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Decision>> {
        boundary(py, || {
            self.set(py).get().evaluate(
                py, user, connector, tool, groups, context, now, auth, grants, arguments,
            )
        })
    }

    /// ``evaluate_request`` on the current set.
    fn evaluate_request(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Decision>> {
        boundary(py, || self.set(py).get().evaluate_request(py, request))
    }

    /// ``evaluate_json`` on the current set.
    fn evaluate_json(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Py<Decision>> {
        boundary(py, || self.set(py).get().evaluate_json(py, text))
    }

    /// ``evaluate_many`` on the current set: the whole batch is decided by one version.
    fn evaluate_many<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        boundary(py, || self.set(py).get().evaluate_many(py, requests))
    }

    /// ``explain`` on the current set.
    #[pyo3(signature = (
        user, connector, tool, *, groups=None, context=None, now=None, auth=None, grants=None,
        arguments=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        connector: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        auth: Option<&Bound<'_, PyAny>>,
        grants: Option<&Bound<'_, PyAny>>,
        arguments: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Explanation> {
        boundary(py, || {
            self.set(py).get().explain(
                py, user, connector, tool, groups, context, now, auth, grants, arguments,
            )
        })
    }

    /// ``explain_request`` on the current set.
    fn explain_request(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Explanation> {
        boundary(py, || self.set(py).get().explain_request(py, request))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        boundary(py, || {
            Ok(format!(
                "<Engine serving version {}>",
                self.set(py).get().inner.version()
            ))
        })
    }
}

/// Validates a document (JSON text as ``str`` or ``bytes``, or a ``dict``) without raising
/// for its content: every error and warning is in the result.
#[pyfunction]
fn validate(py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<Validation> {
    boundary(py, || {
        let refused = |problem| Validation::new(py, false, vec![problem], Vec::new());
        let json;
        let bytes: &[u8] =
            if document.cast::<PyString>().is_ok() || document.cast::<PyBytes>().is_ok() {
                match convert::text(document) {
                    Ok(bytes) => bytes,
                    Err(e) => return refused(e.problem()),
                }
            } else {
                match convert::document_json(document) {
                    Ok(j) => {
                        json = j;
                        &json
                    }
                    Err(problem) => return refused(problem),
                }
            };
        let v = py.detach(|| core::validate(bytes, convert::limits()));
        Validation::new(
            py,
            v.is_valid(),
            v.problems.iter().map(Problem::from_core).collect(),
            v.warnings.iter().map(Problem::from_core).collect(),
        )
    })
}

/// What a guard does with a decision's action, as the core defines it for every language:
/// ``None`` for ``allow`` (the call runs), else the code and the class name of the error
/// raised (``("tool_denied", "ToolDenied")``...).
#[pyfunction]
fn blocked_outcome(
    py: Python<'_>,
    action: &Bound<'_, PyAny>,
) -> PyResult<Option<(&'static str, &'static str)>> {
    boundary(py, || {
        let name = convert::str_argument(action, "action")?;
        let Some(action) = core::Action::parse(name) else {
            return Err(convert::argument_error(
                py,
                format!(
                    "unknown action `{name}`: expected allow, step_up, request_approval or deny"
                ),
            ));
        };
        Ok(core::guard::Blocked::of(action).map(|b| (b.code(), b.class_name())))
    })
}

/// The lowercase hex SHA-256 of the RFC 8785 canonical JSON of ``value`` (SPEC §8.5), the
/// ``arguments`` a request passes for a tool call's arguments. ``value`` is JSON-like Python
/// values; an ``int`` beyond 64 bits becomes the nearest double, as RFC 8785 reads every
/// number. A NaN, an infinity, a lone surrogate or a value of another type raises
/// ``RequestError``.
#[pyfunction]
fn arguments_digest(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    boundary(py, || approval::arguments_digest(py, value))
}

/// The text a framework adapter gives the model when a call with this decision's ``action``
/// did not run (``guard::Blocked::model_message``): it names the tool, never the policies.
/// ``None`` for ``allow``.
#[pyfunction]
fn refusal_message(
    py: Python<'_>,
    action: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    boundary(py, || {
        let action = log::action(py, action)?;
        let connector = convert::str_argument(connector, "connector")?;
        let tool = convert::str_argument(tool, "tool")?;
        Ok(core::guard::Blocked::of(action).map(|b| b.model_message(connector, tool)))
    })
}

/// One decision log record (``log::DecisionRecord``) as one line of JSON, its members in the
/// core's order; ``agen_policy.decision_record`` reads it into a dict.
#[pyfunction]
#[pyo3(signature = (
    decision, *, id, time, user, connector, tool, groups=None, tool_call_id=None,
    arguments_digest=None, arguments=None
))]
#[allow(clippy::too_many_arguments)]
fn _decision_record_line(
    py: Python<'_>,
    decision: &Bound<'_, PyAny>,
    id: &Bound<'_, PyAny>,
    time: &Bound<'_, PyAny>,
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    tool_call_id: Option<&Bound<'_, PyAny>>,
    arguments_digest: Option<&Bound<'_, PyAny>>,
    arguments: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    boundary(py, || {
        log::record_line(
            py,
            &log::RecordArgs {
                decision,
                id,
                time,
                user,
                connector,
                tool,
                groups,
                tool_call_id,
                arguments_digest,
                arguments,
            },
        )
    })
}

/// The native core of ``agen_policy``; import ``agen_policy`` instead.
#[pymodule(name = "_native")]
mod native {
    #[pymodule_export]
    use super::{
        _decision_record_line, arguments_digest, blocked_outcome, refusal_message, validate,
        ConditionTrace, Decision, Engine, Explanation, PolicySet, PolicyTrace, Problem, RuleTrace,
        Validation,
    };

    #[pymodule_export]
    use super::testfile::_run_tests;

    #[pymodule_export]
    use super::analysis::{diff, replay};

    #[cfg(feature = "test-hooks")]
    #[pymodule_export]
    use super::hooks::{_panic_for_tests, _panic_in_next_boundary};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
