//! Node bindings of the agen policy engine: the native half of the npm package `agen-policy`.
//!
//! Every exported method converts its arguments (modules `convert` and `fast`) and delegates to
//! [`agen_policy_core`]; no policy semantics live here. JavaScript values become JSON the way
//! `JSON.stringify` makes it, and the core parses and checks that JSON, so a request or document
//! means the same in Node as in every other language; the fast path reads a request that
//! JavaScript wrote whole into bytes, in place, and only what JavaScript can write so that it
//! means what its JSON means.
//!
//! The package's `index.js` adds, in JavaScript, the error classes, the tool guard and the
//! fast path of `evaluate` and `evaluateMany` (see [`evaluate_encoded`] and module `fast`), which
//! encodes a request's context into bytes that the engine reads in place rather than as JSON.
//!
//! Test-only exports (a deliberate panic, a count of fast-path decisions) exist only with the
//! cargo feature `test-hooks`, which `test.sh` turns on and a default build leaves off.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use agen_policy_core as core;
use napi::bindgen_prelude::{
    Array, Buffer, ClassInstance, FromNapiValue, Function, JavaScriptClassExt, JsObjectValue,
    Object, Unknown,
};
use napi::{Env, JsValue, Result, ValueType};
use napi_derive::napi;

mod analysis;
mod convert;
mod fast;
mod testfiles;

pub use analysis::{diff, replay};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use convert::{Decision, Explanation, Hooks, Kind, Problem, Validation};
use fast::Encoded;

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

    /// The buffer `index.js` shares with the fast path, given once (`fastBuffer`): passed with
    /// every call, Node-API's checks of it cost about a tenth of a whole `evaluate`.
    static FAST_BUFFER: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// Keeps `buffer` as the fast path's shared buffer, for this thread's environment.
#[napi(skip_typescript, catch_unwind)]
pub fn fast_buffer(buffer: Buffer) -> Result<()> {
    FAST_BUFFER
        .try_with(|kept| kept.replace(Some(buffer)))
        .map(drop)
        .map_err(convert::internal)
}

/// Runs `f` on the shared buffer; `None` when there is none (or it is in use).
fn with_fast_buffer<T>(f: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
    FAST_BUFFER
        .try_with(|kept| {
            let mut kept = kept.try_borrow_mut().ok()?;
            kept.as_mut().map(|buffer| f(buffer))
        })
        .ok()
        .flatten()
}

/// Policy sets by slot, reusing the slots of sets that were garbage-collected.
#[derive(Default)]
struct Slots {
    sets: Vec<Option<Rc<Encoded>>>,
    free: Vec<u32>,
}

impl Slots {
    fn insert(&mut self, set: Rc<Encoded>) -> u32 {
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

    fn get(&self, slot: u32) -> Option<Rc<Encoded>> {
        self.sets.get(slot as usize).and_then(Option::clone)
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
    /// Not a way to make a set: they come from `fromJson`, `fromObject` or `fromFile`.
    #[napi(constructor, skip_typescript, catch_unwind)]
    pub fn refuse_new(env: Env) -> Result<PolicySet> {
        Err(convert::argument_error(
            &env,
            "a PolicySet comes from PolicySet.fromJson, fromObject or fromFile, not `new`"
                .to_owned(),
        ))
    }

    /// Loads a policy document from JSON text, given as a string or as UTF-8 bytes. Throws a
    /// `DocumentError` listing every problem; a text over the size limit (64 MiB) is refused
    /// with `limit_exceeded` before it is copied.
    #[napi(
        catch_unwind,
        ts_args_type = "text: string | Uint8Array",
        ts_return_type = "PolicySet"
    )]
    pub fn from_json<'env>(
        env: &'env Env,
        text: Unknown,
    ) -> Result<ClassInstance<'env, PolicySet>> {
        let text = convert::text(env, text, Kind::Document, "the document text")?;
        PolicySet::load(env, &text)
    }

    /// Loads a policy document given as a JavaScript object (read as `JSON.stringify` writes it).
    #[napi(
        catch_unwind,
        ts_args_type = "document: object",
        ts_return_type = "PolicySet"
    )]
    pub fn from_object<'env>(
        env: &'env Env,
        document: Unknown,
    ) -> Result<ClassInstance<'env, PolicySet>> {
        let text = convert::json(env, document, Kind::Document, None)?;
        PolicySet::load(env, &text)
    }

    /// Reads and loads a policy document file, reading no more than one byte past the size
    /// limit (a larger file is refused with `limit_exceeded`). Throws a `PolicyError` with
    /// code `io_error`, naming the path, when the file cannot be read.
    #[napi(
        catch_unwind,
        ts_args_type = "path: string",
        ts_return_type = "PolicySet"
    )]
    pub fn from_file<'env>(
        env: &'env Env,
        path: Unknown,
    ) -> Result<ClassInstance<'env, PolicySet>> {
        let bytes = convert::read_document(env, path)?;
        PolicySet::load(env, &bytes)
    }

    fn load<'env>(env: &'env Env, bytes: &[u8]) -> Result<ClassInstance<'env, PolicySet>> {
        let set = core::PolicySet::from_slice(bytes).map_err(|e| convert::load_error(env, &e))?;
        let set = PolicySet {
            inner: Arc::new(set),
            slot: Cell::new(None),
        }
        .into_instance(env)?;
        convert::adopt(env, &set.as_object(env))?;
        Ok(set)
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
    pub fn document(&self, env: Env) -> Result<Unknown<'static>> {
        // As JSON text, which `JSON.parse` turns into objects quickly and without the bound on
        // the number of values that converting a `serde_json::Value` has (a million values).
        let text = serde_json::to_string(self.inner.document()).map_err(convert::internal)?;
        let json: Object = env.get_global()?.get_named_property("JSON")?;
        let parse: Function<String, Unknown<'static>> = json.get_named_property("parse")?;
        parse.call(text)
    }

    /// Decides on a request. Throws a `RequestError` (code `invalid_request`) for a request the
    /// engine cannot decide on; never for a decision, however restrictive.
    ///
    /// Without evidence (`now`, `auth`, `grants`, `arguments`), only the context attributes some
    /// condition of a candidate policy reads are read, and only those are checked: a value read
    /// that JSON cannot hold (a function, a symbol, a BigInt, NaN or an infinity, `undefined` in
    /// a list) is a `RequestError` at its path; a value no condition reads is not looked at.
    /// With evidence, the whole request is checked, as `evaluateJson` checks it.
    #[napi(catch_unwind, ts_args_type = "request: Request")]
    pub fn evaluate(&self, env: Env, request: Unknown) -> Result<Decision> {
        let request = convert::request(&env, request, None)?;
        Ok(Decision::from(&self.inner.evaluate(&request)))
    }

    /// Decides on a request given as JSON text or UTF-8 bytes (SPEC §3), as it arrives from
    /// elsewhere.
    #[napi(catch_unwind, ts_args_type = "text: string | Uint8Array")]
    pub fn evaluate_json(&self, env: Env, text: Unknown) -> Result<Decision> {
        let request = convert::request_from_text(&env, text)?;
        Ok(Decision::from(&self.inner.evaluate(&request)))
    }

    /// Decides on several requests, in order, reading each as `evaluate` does. An invalid request
    /// throws a `RequestError` whose `index` is its position.
    #[napi(catch_unwind, ts_args_type = "requests: Request[]")]
    pub fn evaluate_many(&self, env: Env, requests: Unknown) -> Result<Vec<Decision>> {
        if !requests.is_array()? {
            return Err(convert::argument_error(
                &env,
                format!(
                    "the requests must be an array, not {}",
                    convert::type_name(&requests)
                ),
            ));
        }
        let requests = Array::from_unknown(requests)?;
        (0..requests.len())
            .map(|i| {
                let index = Some(i as usize);
                // An element gone since the length was read (a getter shortened the array)
                // reads as `null`, which the core refuses.
                let request = match requests.get::<Unknown>(i)? {
                    Some(request) => convert::request(&env, request, index)?,
                    None => convert::request_from_slice(&env, b"null", index)?,
                };
                Ok(Decision::from(&self.inner.evaluate(&request)))
            })
            .collect()
    }

    /// Explains the decision on a request: for each policy of the request's connector, whether
    /// it governs the tool, whether the user is in its scope, what each rule and condition gave
    /// and what it served. `toString()` gives the same readable text as the CLI.
    #[napi(catch_unwind, ts_args_type = "request: Request")]
    pub fn explain(&self, env: Env, request: Unknown) -> Result<Explanation> {
        let request = convert::request(&env, request, None)?;
        Ok(Explanation::new(self.inner.explain(&request)))
    }

    /// Opens an approval request for `request` through `flow` at `now` (SPEC §8.3): the engine
    /// evaluates the request, which must decide `request_approval` naming `flow`. Returns the
    /// new state (SPEC §8.2); throws an `ApprovalError` (`invalid_request`, `not_requested`,
    /// `cannot_approve`).
    #[napi(
        catch_unwind,
        ts_args_type = "request: Request, flow: string, id: string, now: Instant",
        ts_return_type = "ApprovalState"
    )]
    pub fn open_approval(
        &self,
        env: Env,
        request: Unknown,
        flow: Unknown,
        id: Unknown,
        now: Unknown,
    ) -> Result<serde_json::Value> {
        // Arguments are written in the order the core checks them.
        let flow = convert::value(&env, flow, Kind::Argument)?;
        let id = convert::value(&env, id, Kind::Argument)?;
        let now = convert::value(&env, now, Kind::Argument)?;
        let request = convert::value(&env, request, Kind::ApprovalRequest)?;
        self.inner
            .open_approval_value(&request, &flow, &id, &now)
            .map(|state| state.to_value())
            .map_err(|e| convert::approval_error(&env, &e))
    }

    /// Records `approver`'s approval at `now`; `groups` are the host's group claims for the
    /// approver. Returns the new state; throws an `ApprovalError` (`not_pending`, `expired`,
    /// `self_approval`, `not_an_approver`, `already_voted`, `invalid_state`, `invalid_request`).
    #[napi(
        catch_unwind,
        ts_args_type = "state: ApprovalState, approver: string, now: Instant, groups?: string[]",
        ts_return_type = "ApprovalState"
    )]
    pub fn approve(
        &self,
        env: Env,
        state: Unknown,
        approver: Unknown,
        now: Unknown,
        groups: Unknown,
    ) -> Result<serde_json::Value> {
        self.vote(&env, Vote::Approve, state, approver, now, groups)
    }

    /// Records `approver`'s rejection at `now`: the checks of `approve` but `already_voted`.
    #[napi(
        catch_unwind,
        ts_args_type = "state: ApprovalState, approver: string, now: Instant, groups?: string[]",
        ts_return_type = "ApprovalState"
    )]
    pub fn reject(
        &self,
        env: Env,
        state: Unknown,
        approver: Unknown,
        now: Unknown,
        groups: Unknown,
    ) -> Result<serde_json::Value> {
        self.vote(&env, Vote::Reject, state, approver, now, groups)
    }

    /// Throws the `ApprovalError` that `approve` or `reject` by `person` at `now` would throw
    /// before counting a vote (`not_pending`, `expired`, `self_approval`, `not_an_approver`), and
    /// returns nothing when the person may act: what a list of pending requests shows.
    #[napi(
        catch_unwind,
        ts_args_type = "state: ApprovalState, person: string, now: Instant, groups?: string[]",
        ts_return_type = "void"
    )]
    pub fn check_approver(
        &self,
        env: Env,
        state: Unknown,
        person: Unknown,
        now: Unknown,
        groups: Unknown,
    ) -> Result<()> {
        // The core judges the arguments (as JSON values), the state, then the person.
        self.vote(&env, Vote::Check, state, person, now, groups)
            .map(|_| ())
    }

    /// Cancels a pending request at `now` (the host's decision; the timeout is not checked).
    #[napi(
        catch_unwind,
        ts_args_type = "state: ApprovalState, now: Instant",
        ts_return_type = "ApprovalState"
    )]
    pub fn cancel(&self, env: Env, state: Unknown, now: Unknown) -> Result<serde_json::Value> {
        let now = convert::value(&env, now, Kind::Argument)?;
        let state = convert::value(&env, state, Kind::State)?;
        self.apply(&env, &state, core::ApprovalOp::Cancel(&now))
    }

    /// Expires a pending request whose flow's timeout has passed at `now`; returns any other
    /// state unchanged.
    #[napi(
        catch_unwind,
        ts_args_type = "state: ApprovalState, now: Instant",
        ts_return_type = "ApprovalState"
    )]
    pub fn tick(&self, env: Env, state: Unknown, now: Unknown) -> Result<serde_json::Value> {
        let now = convert::value(&env, now, Kind::Argument)?;
        let state = convert::value(&env, state, Kind::State)?;
        self.apply(&env, &state, core::ApprovalOp::Tick(&now))
    }

    /// The grant of an approved request (SPEC §8.3): what a request's `grants` carry to be
    /// allowed. Throws an `ApprovalError` (`not_approved`, `invalid_state`).
    #[napi(
        catch_unwind,
        ts_args_type = "state: ApprovalState",
        ts_return_type = "Grant"
    )]
    pub fn grant(&self, env: Env, state: Unknown) -> Result<serde_json::Value> {
        let state = convert::value(&env, state, Kind::State)?;
        self.inner
            .grant_value(&state)
            .map(|grant| grant.to_value())
            .map_err(|e| convert::approval_error(&env, &e))
    }

    /// The directory users who may approve the current step of a pending request now, sorted
    /// (people eligible only through a host's group claims are not in the directory, so not
    /// listed); empty when it is not pending.
    #[napi(catch_unwind, ts_args_type = "state: ApprovalState")]
    pub fn eligible_approvers(&self, env: Env, state: Unknown) -> Result<Vec<String>> {
        let state = convert::value(&env, state, Kind::State)?;
        core::ApprovalState::from_value(&state)
            .and_then(|state| {
                self.inner
                    .eligible_approvers(&state)
                    .map(|people| people.into_iter().map(str::to_owned).collect())
            })
            .map_err(|e| convert::approval_error(&env, &e))
    }

    fn vote(
        &self,
        env: &Env,
        vote: Vote,
        state: Unknown,
        person: Unknown,
        now: Unknown,
        groups: Unknown,
    ) -> Result<serde_json::Value> {
        let person = convert::value(env, person, Kind::Argument)?;
        let now = convert::value(env, now, Kind::Argument)?;
        // Left out (`undefined`), the host claims no groups; anything else, `null` included,
        // is the core's to check.
        let groups = match groups.get_type()? {
            ValueType::Undefined => None,
            _ => Some(convert::value(env, groups, Kind::Argument)?),
        };
        let state = convert::value(env, state, Kind::State)?;
        let op = match vote {
            Vote::Approve => core::ApprovalOp::Approve(&person, &now, groups.as_ref()),
            Vote::Reject => core::ApprovalOp::Reject(&person, &now, groups.as_ref()),
            Vote::Check => core::ApprovalOp::Check(&person, &now, groups.as_ref()),
        };
        self.apply(env, &state, op)
    }

    fn apply(
        &self,
        env: &Env,
        state: &serde_json::Value,
        op: core::ApprovalOp<'_>,
    ) -> Result<serde_json::Value> {
        self.inner
            .apply_approval(state, op)
            .map(|state| state.to_value())
            .map_err(|e| convert::approval_error(env, &e))
    }

    /// The slot of this set for the JavaScript fast path.
    #[napi(skip_typescript, catch_unwind)]
    pub fn fast_slot(&self) -> Result<u32> {
        if let Some(slot) = self.slot.get() {
            return Ok(slot);
        }
        let encoded = Rc::new(Encoded::new(&self.inner));
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

    /// The authentication context classes, by the index an encoded decision gives.
    #[napi(skip_typescript, catch_unwind)]
    pub fn acr_value_ids(&self) -> Vec<String> {
        convert::acr_value_ids(&self.inner)
    }
}

/// The two votes an approver casts.
#[derive(Clone, Copy)]
enum Vote {
    Approve,
    Reject,
    Check,
}

/// The set in `slot`, taken out of the registry (a handle of its own, so that the registry is
/// not borrowed while the set evaluates).
fn fast_set(slot: u32) -> Option<Rc<Encoded>> {
    FAST_SETS
        .try_with(|sets| sets.try_borrow().ok().and_then(|sets| sets.get(slot)))
        .ok()
        .flatten()
}

/// Decides on one request of the fast path: `None` hands it to the general path.
fn decide_fast<'s>(
    set: &'s core::PolicySet,
    request: &fast::Request<'_>,
) -> Option<core::Decision<'s>> {
    // An invalid id or group is the general path's to report, as it always has been.
    let view = core::RequestView::new(request.user, request.connector, request.tool)
        .and_then(|view| view.groups(&request.groups))
        .ok()?;
    match request.context() {
        None => set.evaluate_view(&view).ok(),
        Some(context) => {
            let decided = set.evaluate_view(&view.context(&context));
            // `index.js` wrote only a context the core accepts whole (plain data within the
            // limits), so reading it cannot fail unless its bytes are not what `index.js`
            // writes: then, as for any error, the general path decides and reports.
            if context.malformed() {
                return None;
            }
            decided.ok()
        }
    }
}

/// Decides on a request that `index.js` wrote whole into the shared buffer (module `fast`),
/// after the slot of the set to decide with, reading its context in place from the bytes, and
/// writes the decision back into the buffer. Returns `false` for a request the general path
/// must take (it reports why).
///
/// Each string or object crossing the Node-API boundary costs tens to hundreds of nanoseconds;
/// the call takes no argument (the buffer was given once, the slot is in it) and gives back
/// indices, which keeps `evaluate` near the engine's own speed: napi-rs converts no argument
/// and keeps no borrow scope for a function without arguments.
#[napi(skip_typescript, catch_unwind)]
pub fn evaluate_encoded() -> bool {
    let decided = with_fast_buffer(|buffer| {
        let (slot, mut bytes) = fast::read_slot(buffer)?;
        let set = fast_set(slot)?;
        let decision =
            fast::read_request(&mut bytes).and_then(|request| decide_fast(&set.set, &request))?;
        set.write(&decision, buffer)
    })
    .flatten()
    .is_some();
    #[cfg(feature = "test-hooks")]
    if decided {
        test_hooks::FAST_PATH_DECISIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    decided
}

/// Decides on the requests written one after the other in the shared buffer, after the slot of
/// the set, their count and the byte from which to write the decisions (module `fast`), in one
/// call; writes the decisions one after the other from that byte on. Returns twice the number
/// decided, plus one when the next request must take the general path; fewer are decided than
/// given when the decisions fill the buffer.
#[napi(skip_typescript, catch_unwind)]
pub fn evaluate_encoded_many() -> u32 {
    with_fast_buffer(|buffer| {
        let (slot, count, split) = fast::read_many_header(buffer)?;
        let set = fast_set(slot)?;
        Some(decide_many(&set, buffer, count, split))
    })
    .flatten()
    .unwrap_or(1)
}

fn decide_many(set: &Encoded, buffer: &mut [u8], count: u32, split: u32) -> u32 {
    let Some((input, output)) = buffer.split_at_mut_checked(split as usize) else {
        return 1;
    };
    let mut bytes: &[u8] = input.get(fast::MANY_HEADER..).unwrap_or_default();
    let mut at = 0;
    for i in 0..count {
        let Some(decision) =
            fast::read_request(&mut bytes).and_then(|request| decide_fast(&set.set, &request))
        else {
            return 2 * i + 1;
        };
        let Some(written) = output
            .get_mut(at..)
            .and_then(|out| set.write(&decision, out))
        else {
            return 2 * i;
        };
        at += written;
        #[cfg(feature = "test-hooks")]
        test_hooks::FAST_PATH_DECISIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    2 * count
}

/// Checks a policy document without keeping it: every error and warning. A text over the size
/// limit is one problem, `limit_exceeded`, found before the text is copied.
#[napi(catch_unwind, ts_args_type = "document: string | Uint8Array | object")]
pub fn validate(env: Env, document: Unknown) -> Result<Validation> {
    let text = convert::document_text(&env, document)?;
    let validation = core::validate(&text, &core::Limits::default());
    Ok(Validation::from(&validation))
}

/// The digest of a tool call's arguments (SPEC §8.5): the lowercase hex SHA-256 of the RFC 8785
/// canonical JSON of `value`, read as `JSON.stringify` writes it. A request's `arguments` carries
/// it, to match grants bound to the call. NaN, an infinity, a string with a lone surrogate, a
/// BigInt, a cycle or `undefined` is a `RequestError`.
#[napi(catch_unwind, ts_args_type = "value: unknown")]
pub fn arguments_digest(env: Env, value: Unknown) -> Result<String> {
    let text = convert::json(&env, value, Kind::Arguments, None)?;
    let limit = core::Limits::default().max_document_bytes;
    let text = match std::str::from_utf8(&text) {
        Ok(text) if text.len() <= limit => text,
        _ => {
            let e = core::RequestError::new(
                "",
                format!("the arguments are larger than the limit of {limit} bytes"),
            );
            return Err(convert::request_error(&env, &e, None));
        }
    };
    core::arguments_digest_json(text).map_err(|e| convert::request_error(&env, &e, None))
}

/// Runs policy test files (SPEC §6, §8.4) through the core's runner: `path` is a test file, or a
/// directory whose `*.json` files directly inside run in name order (none is a failure). Each
/// file, and each `document_file` (relative to its test file), is read at most the document
/// limit + 1 byte. Returns the report; a path that cannot be read throws a `PolicyError` with
/// code `io_error`.
#[napi(
    catch_unwind,
    ts_args_type = "path: string",
    ts_return_type = "TestReport"
)]
pub fn run_tests(env: Env, path: Unknown) -> Result<serde_json::Value> {
    if path.get_type()? != ValueType::String {
        return Err(convert::argument_error(
            &env,
            format!(
                "the path must be a string, not {}",
                convert::type_name(&path)
            ),
        ));
    }
    let path = String::from_unknown(path)?;
    let sources = testfiles::collect(std::path::Path::new(&path))
        .map_err(|(p, e)| convert::io_error(&env, &p.display().to_string(), &e))?;
    let report = testfiles::run(&sources);
    let mut value = serde_json::to_value(&report).map_err(convert::internal)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("ok".to_owned(), report.ok().into());
        // The text for people; nothing is escaped, as a terminal would need (the CLI does).
        fields.insert("text".to_owned(), report.to_text(&str::to_owned).into());
    }
    Ok(value)
}

/// What a guard does with a decision's action, as the core defines it for every language.
#[napi(object, object_from_js = false)]
pub struct BlockedOutcome {
    /// The error's stable code, e.g. `approval_required`.
    pub code: String,
    /// The error class's name, e.g. `ApprovalRequired`.
    pub class_name: String,
}

/// How a guard blocks a call whose decision has `action`: the error's code and class name, or
/// `null` for `allow` (the call runs).
#[napi(catch_unwind, ts_args_type = "action: Action")]
pub fn blocked_outcome(env: Env, action: Unknown) -> Result<Option<BlockedOutcome>> {
    let action = convert::action(&env, action)?;
    Ok(
        core::guard::Blocked::of(action).map(|blocked| BlockedOutcome {
            code: blocked.code().to_owned(),
            class_name: blocked.class_name().to_owned(),
        }),
    )
}

/// The text a framework adapter gives the model when a call whose decision has `action` did
/// not run (the core's `guard::Blocked::model_message`): it names the tool, never the policies.
/// `null` for `allow`.
#[napi(
    catch_unwind,
    ts_args_type = "action: Action, connector: string, tool: string"
)]
pub fn refusal_message(
    env: Env,
    action: Unknown,
    connector: String,
    tool: String,
) -> Result<Option<String>> {
    let action = convert::action(&env, action)?;
    Ok(core::guard::Blocked::of(action).map(|blocked| blocked.model_message(&connector, &tool)))
}

/// One decision log record as a line of JSON (`log::DecisionRecord::to_json_line`), from the
/// decision (the package's camelCase object, as JSON text) and the record's other fields (JSON
/// text of `{ id, time, user, connector, tool, groups?, toolCallId?, argumentsDigest?,
/// arguments? }`, `time` in Unix milliseconds). `index.js` writes both texts and parses the
/// line back into the record object.
#[napi(skip_typescript, catch_unwind)]
pub fn decision_record_line(env: Env, decision: String, fields: String) -> Result<String> {
    let decision = convert::owned_decision(&env, &decision)?;
    let fields = convert::RecordFields::parse(&env, &fields)?;
    Ok(fields.record(&decision).to_json_line())
}

/// Lets `index.js` hand over its functions (see `convert::Hooks`): the one that builds its error
/// classes, so that errors thrown here are instances of them, the one that writes JavaScript
/// values as JSON text, and the one that prepares each new handle.
#[napi(skip_typescript, catch_unwind)]
pub fn install_hooks(
    env: Env,
    error: Function<Object<'static>, Unknown<'static>>,
    json: Function<Object<'static>, Unknown<'static>>,
    adopt: Function<Object<'static>, Unknown<'static>>,
) -> Result<()> {
    Hooks::install(&env, [&error, &json, &adopt])
}

/// Exports for the benchmark only: present with the cargo feature `bench-hooks` (which
/// `test-hooks` includes).
#[cfg(feature = "bench-hooks")]
pub mod bench_hooks {
    use napi::bindgen_prelude::Unknown;
    use napi_derive::napi;

    /// Does nothing with the request it is given: the floor under `evaluate`, the cost of one
    /// native call taking a request object (`benches/node/bench.mjs`).
    #[napi(js_name = "__floorForBench", skip_typescript, catch_unwind)]
    pub fn floor(_request: Unknown) {}
}

/// Exports for the test suite only: present with the cargo feature `test-hooks`.
#[cfg(feature = "test-hooks")]
pub mod test_hooks {
    use std::sync::atomic::{AtomicU32, Ordering};

    use napi_derive::napi;

    /// Requests decided on the fast path, so that a test can tell which path ran.
    pub(crate) static FAST_PATH_DECISIONS: AtomicU32 = AtomicU32::new(0);

    /// How many requests the fast path has decided, in this process.
    #[napi(js_name = "__fastPathDecisionsForTest", skip_typescript, catch_unwind)]
    pub fn fast_path_decisions() -> u32 {
        FAST_PATH_DECISIONS.load(Ordering::Relaxed)
    }

    /// Panics, so that the tests can check that a panic in the addon surfaces as a JavaScript
    /// exception (every export catches unwinding) rather than aborting the process.
    #[napi(js_name = "__panicForTest", skip_typescript, catch_unwind)]
    pub fn panic_for_test() {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic")
        }
    }
}
