//! Node bindings of the agen policy engine: the native half of the npm package `agen-policy`.
//!
//! Every exported method converts its arguments (module `convert`) and delegates to
//! [`agen_policy_core`]; no policy semantics live here. JavaScript values become JSON the way
//! `JSON.stringify` makes it, and the core parses and checks that JSON, so a request or document
//! means the same in Node as in every other language.
//!
//! The package's `index.js` adds, in JavaScript, the error classes, the tool guard and an
//! encoding fast path for `evaluate` (see [`evaluate_encoded`]).

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use agen_policy_core as core;
use napi::bindgen_prelude::{BufferSlice, Function, Object, Unknown};
use napi::{Env, Result};
use napi_derive::napi;

mod convert;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use convert::{Decision, Encoded, ErrorFactory, Explanation, Problem, Validation};

/// A loaded, validated and indexed policy document. Immutable; evaluate any number of requests
/// against it.
#[napi]
pub struct PolicySet {
    inner: Arc<core::PolicySet>,
    /// Its slot in [`FAST_SETS`], once the fast path has asked for one.
    slot: Cell<Option<u32>>,
}

impl Drop for PolicySet {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.get() {
            // At thread exit the registry may already be gone, and with it the entry; a registry
            // in use (a finalizer cannot run inside an evaluation, but a panic here would abort)
            // keeps the slot.
            let _ = FAST_SETS.try_with(|sets| {
                if let Ok(mut sets) = sets.try_borrow_mut() {
                    sets.release(slot);
                }
            });
        }
    }
}

thread_local! {
    /// The sets the fast path may evaluate, by slot. A slot is a plain number, so passing it costs
    /// nothing, where an object handle costs a Node-API reference per call. Node runs each
    /// environment (main thread or worker) on its own thread, so the registry is per thread.
    static FAST_SETS: RefCell<Slots> = RefCell::new(Slots::default());
}

/// Policy sets by slot, reusing the slots of sets that were garbage-collected.
#[derive(Default)]
struct Slots {
    sets: Vec<Option<Encoded>>,
    free: Vec<u32>,
}

impl Slots {
    fn insert(&mut self, set: Encoded) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                if let Some(entry) = self.sets.get_mut(slot as usize) {
                    *entry = Some(set);
                }
                slot
            }
            None => {
                self.sets.push(Some(set));
                u32::try_from(self.sets.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    fn get(&self, slot: u32) -> Option<&Encoded> {
        self.sets.get(slot as usize).and_then(Option::as_ref)
    }

    fn release(&mut self, slot: u32) {
        if let Some(entry) = self.sets.get_mut(slot as usize) {
            if entry.take().is_some() {
                self.free.push(slot);
            }
        }
    }
}

#[napi]
impl PolicySet {
    /// Loads a policy document from JSON text. Throws a `DocumentError` listing every problem.
    #[napi(factory, catch_unwind)]
    pub fn from_json(env: Env, text: String) -> Result<PolicySet> {
        PolicySet::load(&env, text.as_bytes())
    }

    /// Loads a policy document given as a JavaScript object (read as `JSON.stringify` writes it).
    #[napi(factory, catch_unwind, ts_args_type = "document: object")]
    pub fn from_object(env: Env, document: Unknown) -> Result<PolicySet> {
        let text = convert::stringify(&env, document)?;
        PolicySet::load(&env, text.as_bytes())
    }

    /// Reads and loads a policy document file. Throws a `PolicyError` with code `io_error`
    /// when the file cannot be read.
    #[napi(factory, catch_unwind)]
    pub fn from_file(env: Env, path: String) -> Result<PolicySet> {
        let bytes = std::fs::read(&path).map_err(|e| convert::io_error(&env, &path, &e))?;
        PolicySet::load(&env, &bytes)
    }

    fn load(env: &Env, bytes: &[u8]) -> Result<PolicySet> {
        core::PolicySet::from_slice(bytes)
            .map(|set| PolicySet {
                inner: Arc::new(set),
                slot: Cell::new(None),
            })
            .map_err(|e| convert::load_error(env, &e))
    }

    /// The version of this set: the SHA-256, in hex, of its document as loaded (every default
    /// written out). Every decision carries it.
    #[napi(getter, catch_unwind)]
    pub fn version(&self) -> String {
        self.inner.version().to_owned()
    }

    /// The warnings found while loading (`unknown_user`, `unknown_group`, `governs_nothing`).
    #[napi(getter, catch_unwind)]
    pub fn warnings(&self) -> Vec<Problem> {
        self.inner.warnings().iter().map(Problem::from).collect()
    }

    /// The loaded document with every default filled in, as a plain object.
    #[napi(catch_unwind, ts_return_type = "Record<string, unknown>")]
    pub fn document(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self.inner.document()).map_err(convert::internal)
    }

    /// Decides on a request. Throws a `RequestError` (code `invalid_request`) for a request the
    /// engine cannot decide on; never for a decision, however restrictive.
    #[napi(catch_unwind, ts_args_type = "request: Request")]
    pub fn evaluate(&self, env: Env, request: Unknown) -> Result<Decision> {
        let request = convert::request(&env, request)?;
        Ok(Decision::from(&self.inner.evaluate(&request)))
    }

    /// Decides on a request given as JSON text (SPEC §3), as it arrives from elsewhere.
    #[napi(catch_unwind)]
    pub fn evaluate_json(&self, env: Env, text: String) -> Result<Decision> {
        let request = convert::request_from_json(&env, &text, None)?;
        Ok(Decision::from(&self.inner.evaluate(&request)))
    }

    /// Decides on several requests, in order. An invalid request throws a `RequestError`
    /// whose `index` is its position.
    #[napi(catch_unwind, ts_args_type = "requests: Request[]")]
    pub fn evaluate_many(&self, env: Env, requests: Vec<Unknown>) -> Result<Vec<Decision>> {
        requests
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let request = convert::request_at(&env, r, Some(i))?;
                Ok(Decision::from(&self.inner.evaluate(&request)))
            })
            .collect()
    }

    /// Explains the decision on a request: for each policy of the request's connector, whether
    /// it governs the tool, whether the user is in its scope, what each rule and condition gave
    /// and what it served. `toString()` gives the same readable text as the CLI.
    #[napi(catch_unwind, ts_args_type = "request: Request")]
    pub fn explain(&self, env: Env, request: Unknown) -> Result<Explanation> {
        let request = convert::request(&env, request)?;
        Ok(Explanation::new(self.inner.explain(&request)))
    }

    /// The slot of this set for the JavaScript fast path.
    #[napi(skip_typescript, catch_unwind)]
    pub fn fast_slot(&self) -> Result<u32> {
        if let Some(slot) = self.slot.get() {
            return Ok(slot);
        }
        let encoded = Encoded::new(&self.inner);
        let slot = FAST_SETS
            .try_with(|sets| sets.borrow_mut().insert(encoded))
            .map_err(convert::internal)?;
        self.slot.set(Some(slot));
        Ok(slot)
    }

    /// The policy ids, by the index an encoded decision gives.
    #[napi(skip_typescript, catch_unwind)]
    pub fn policy_ids(&self) -> Vec<String> {
        convert::policy_ids(&self.inner)
    }

    /// The approval flow ids, by the index an encoded decision gives.
    #[napi(skip_typescript, catch_unwind)]
    pub fn approval_flow_ids(&self) -> Vec<String> {
        convert::approval_flow_ids(&self.inner)
    }
}

/// Decides on a request that `index.js` encoded into `buffer`, and writes the decision back
/// into it (the format is at `convert::Encoded`). Returns `false` when the encoded request is not one the
/// core accepts, so that the caller takes the general path, which reports why.
///
/// Each string or object crossing the Node-API boundary costs a few hundred nanoseconds; one
/// buffer of bytes costs one crossing, which keeps `evaluate` near the engine's own speed.
#[napi(skip_typescript, catch_unwind)]
pub fn evaluate_encoded(slot: u32, mut buffer: BufferSlice) -> bool {
    // Evaluation runs no JavaScript, so nothing reaches the registry while it is borrowed.
    FAST_SETS
        .try_with(|sets| {
            let sets = sets.borrow();
            sets.get(slot).is_some_and(|set| set.evaluate(&mut buffer))
        })
        .unwrap_or(false)
}

/// Checks a policy document without keeping it: every error and warning.
#[napi(catch_unwind, ts_args_type = "document: string | Uint8Array | object")]
pub fn validate(env: Env, document: Unknown) -> Result<Validation> {
    let bytes = convert::document_bytes(&env, document)?;
    let validation = core::validate(&bytes, &core::Limits::default());
    Ok(Validation::from(&validation))
}

/// Lets `index.js` hand over the function that builds its error classes, so that errors thrown
/// here are instances of them.
#[napi(skip_typescript, catch_unwind)]
pub fn set_error_factory(
    env: Env,
    factory: Function<Object<'static>, Unknown<'static>>,
) -> Result<()> {
    ErrorFactory::install(&env, &factory)
}

/// Panics. It exists so that the test suite can check that a panic in the addon surfaces as a
/// JavaScript exception (every export catches unwinding) rather than aborting the process.
#[napi(js_name = "__panicForTest", skip_typescript, catch_unwind)]
pub fn panic_for_test() {
    #[allow(clippy::panic)]
    {
        panic!("deliberate panic")
    }
}
