//! The fast path of `evaluate` and `evaluateMany`: a request whose ids and groups `index.js`
//! wrote into a shared buffer, read in place, and whose context stays the JavaScript object it
//! is, read through [`JsContext`] only where a condition asks.
//!
//! The request's strings, as `index.js` writes them (integers are little-endian `u32`):
//!
//! ```text
//! request = str(user) str(connector) str(tool) u32(n) str(group)*n
//! str     = u32(byte length) UTF-8 bytes
//! ```
//!
//! `evaluateMany` writes its requests one after the other.
//!
//! The decision is written as native-endian `u32`s, which JavaScript reads through a
//! `Uint32Array`:
//!
//! ```text
//! decision = action reason ids(policies) ids(approval flows) ids(satisfied, as policies)
//!            u32(n) step_up*n
//! step_up  = u32(policy) u32(max_age) ids(acr values)
//! ids      = u32(n) u32(index)*n
//! ```
//!
//! with the action's index in `Action::ALL` (0 allow .. 3 deny), the reason's in `Reason::ALL`
//! (0 unknown_connector .. 6 internal), and strings as indices into the lists `policyIds`,
//! `approvalFlowIds` and `acrValueIds` give. A request without evidence (the only kind taken
//! here) satisfies nothing, but the list is written all the same: the decision is the core's,
//! whole.

use std::cell::{Cell, OnceCell};
use std::ffi::CStr;
use std::sync::Arc;

use agen_policy_core as core;
use core::{Context, ContextValue, RequestError};
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, Object, Unknown};
use napi::{Env, JsString, JsValue, ValueType};
use rustc_hash::FxHashMap;
use serde_json::Value;
use smallvec::SmallVec;

/// A policy set for the fast path, with the index of its acr values.
pub struct Encoded {
    pub(crate) set: Arc<core::PolicySet>,
    acr_values: FxHashMap<Box<str>, u32>,
}

impl Encoded {
    pub(crate) fn new(set: &Arc<core::PolicySet>) -> Self {
        let ids = crate::convert::acr_value_ids(set);
        Encoded {
            set: Arc::clone(set),
            acr_values: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str().into(), u32::try_from(i).unwrap_or(u32::MAX)))
                .collect(),
        }
    }

    /// Writes `decision` at the start of `out`; `None` when it does not fit (or names an acr
    /// value the index lacks), else the bytes written.
    pub(crate) fn write(&self, decision: &core::Decision<'_>, out: &mut [u8]) -> Option<usize> {
        let mut out = Writer { buffer: out, at: 0 };
        // Actions, reasons, policies and flows cross as the indices the core gives them.
        let written = out.u32(decision.action().index())
            && out.u32(decision.reason().index())
            && out.indices(decision.policy_indices())
            && out.indices(decision.approval_flow_indices())
            && out.indices(decision.satisfied_indices())
            && out.u32(decision.step_up().count())
            && decision.step_up().all(|r| {
                out.u32(r.policy_index() as usize)
                    && out.u32(usize::try_from(r.max_age()).unwrap_or(usize::MAX))
                    && out.ids(r.acr_values(), &self.acr_values)
            });
        written.then_some(out.at)
    }
}

struct Writer<'a> {
    buffer: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn u32(&mut self, n: usize) -> bool {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        match self.buffer.get_mut(self.at..self.at + 4) {
            Some(slot) => {
                slot.copy_from_slice(&n.to_ne_bytes());
                self.at += 4;
                true
            }
            None => false,
        }
    }

    fn indices(&mut self, mut indices: impl ExactSizeIterator<Item = u32>) -> bool {
        self.u32(indices.len()) && indices.all(|i| self.u32(i as usize))
    }

    /// Strings by their index; one missing from the index sends the request down the general
    /// path.
    fn ids<S: AsRef<str>>(&mut self, ids: &[S], index: &FxHashMap<Box<str>, u32>) -> bool {
        self.u32(ids.len())
            && ids.iter().all(|id| match index.get(id.as_ref()) {
                Some(&i) => self.u32(i as usize),
                None => false,
            })
    }
}

/// The ids and groups of one request, borrowed from the buffer.
pub(crate) struct Ids<'a> {
    pub(crate) user: &'a str,
    pub(crate) connector: &'a str,
    pub(crate) tool: &'a str,
    pub(crate) groups: SmallVec<[&'a str; 8]>,
}

/// Reads one request's ids and groups from `bytes`, advancing past them; `None` when the bytes
/// are not what `index.js` writes.
pub(crate) fn read_ids<'a>(bytes: &mut &'a [u8]) -> Option<Ids<'a>> {
    fn u32(bytes: &mut &[u8]) -> Option<usize> {
        let (head, rest) = bytes.split_first_chunk::<4>()?;
        *bytes = rest;
        usize::try_from(u32::from_le_bytes(*head)).ok()
    }
    fn str<'a>(bytes: &mut &'a [u8]) -> Option<&'a str> {
        let n = u32(bytes)?;
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        std::str::from_utf8(head).ok()
    }
    let user = str(bytes)?;
    let connector = str(bytes)?;
    let tool = str(bytes)?;
    let n = u32(bytes)?;
    let mut groups = SmallVec::new();
    for _ in 0..n {
        groups.push(str(bytes)?);
    }
    Some(Ids {
        user,
        connector,
        tool,
        groups,
    })
}

/// Why reading the context stopped.
enum Stop {
    /// A value that is not plain data (a `toJSON` method, a class instance, a string with a
    /// lone surrogate): the request takes the general path, which writes it as JSON.
    Handover,
    /// A JavaScript exception (a getter threw): it is rethrown.
    Thrown(napi::Error),
    /// A value JSON cannot hold: the request is refused.
    Invalid(RequestError),
}

impl From<napi::Error> for Stop {
    fn from(e: napi::Error) -> Self {
        Stop::Thrown(e)
    }
}

/// What became of an evaluation whose context could not be read to the end.
pub(crate) enum Failed {
    /// Take the general path.
    Handover,
    /// Rethrow this exception.
    Thrown(napi::Error),
}

/// Values kept as long as the context: the first few inline, then in chunks, so that the
/// references handed out stay valid while more are kept (a small arena in safe code).
struct Keep<T> {
    slots: [OnceCell<T>; 4],
    used: Cell<usize>,
    more: OnceCell<Box<Keep<T>>>,
}

impl<T> Default for Keep<T> {
    fn default() -> Self {
        Keep {
            slots: Default::default(),
            used: Cell::new(0),
            more: OnceCell::new(),
        }
    }
}

impl<T> Keep<T> {
    fn keep(&self, value: T) -> &T {
        let used = self.used.get();
        match self.slots.get(used) {
            Some(slot) => {
                self.used.set(used + 1);
                // INVARIANT: slots are filled in order, each once, so this one is empty.
                slot.get_or_init(move || value)
            }
            None => self.more.get_or_init(Box::default).keep(value),
        }
    }
}

/// A request's context read in place from the JavaScript object: only the attributes the
/// engine asks for, each key an own property looked up, and the one value found converted
/// (the core's [`Context`]). Values it cannot express as JSON (a function, a symbol, a BigInt,
/// a number that is not finite, `undefined` in a list) refuse the request at their place;
/// values that are not plain data (a `Date`, anything with `toJSON`, a class instance, a string
/// with a lone surrogate) hand the request to the general path, where `JSON.stringify` writes
/// it, so that they mean what they mean there.
pub(crate) struct JsContext<'env> {
    env: &'env Env,
    root: Object<'env>,
    /// The root's prototype, once read (`Some(None)` for `null`).
    root_proto: Cell<Option<Option<Object<'env>>>>,
    strings: Keep<String>,
    lists: Keep<Vec<Value>>,
    /// Why reading stopped, once it has: nothing more is read.
    failed: Cell<Option<Failed>>,
    stopped: Cell<bool>,
}

impl<'env> JsContext<'env> {
    pub(crate) fn new(env: &'env Env, root: Object<'env>) -> Self {
        JsContext {
            env,
            root,
            root_proto: Cell::new(None),
            strings: Keep::default(),
            lists: Keep::default(),
            failed: Cell::new(None),
            stopped: Cell::new(false),
        }
    }

    /// What stopped the reading, if something did other than an invalid value.
    pub(crate) fn failed(&self) -> Option<Failed> {
        self.failed.take()
    }

    /// `object[key]` when `key` is an own property (as `JSON.stringify` reads), with its type;
    /// `None` when it is absent or `undefined` (JSON leaves such a member out).
    fn own(&self, object: &Holder<'env>, key: &str) -> Result<Option<Typed<'env>>, Stop> {
        let mut buffer = [0u8; 64];
        let Some(c_key) = c_key(key, &mut buffer) else {
            // A long key, or one with NUL, as a JavaScript string.
            let key: JsString = self.env.create_string(key)?;
            if !object.object.has_own_property_js(key)? {
                return Ok(None);
            }
            return typed(object.object.get_property_unchecked(key)?);
        };
        // Looked up by an internalized key, which V8 finds without making a string.
        let Some(found) = typed(object.object.get_c_named_property_unchecked(c_key)?)? else {
            return Ok(None);
        };
        // Inherited when the prototype has it too (then asked directly: rare).
        if let Some(proto) = &object.proto {
            let inherited: Unknown = proto.get_c_named_property_unchecked(c_key)?;
            if inherited.get_type()? != ValueType::Undefined
                && !object.object.has_c_own_property(c_key)?
            {
                return Ok(None);
            }
        }
        Ok(Some(found))
    }

    fn walk(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, Stop> {
        let Some((last, init)) = path.split_last() else {
            return Ok(None);
        };
        let mut object = match self.root_proto.get() {
            Some(proto) => Holder {
                object: self.root,
                proto,
            },
            None => {
                // `index.js` passes only a plain context (see `Holder::of`): its prototype is
                // `Object.prototype` or `null`, and it has no `toJSON`.
                let proto = self.root.get_prototype()?;
                let proto = match proto.get_type()? {
                    ValueType::Null => None,
                    _ => Some(Object::from_unknown(proto)?),
                };
                self.root_proto.set(Some(proto));
                Holder {
                    object: self.root,
                    proto,
                }
            }
        };
        for key in init {
            let Some((value, kind)) = self.own(&object, key)? else {
                return Ok(None);
            };
            // Only an object has members; a list's items are not walked.
            if kind != ValueType::Object || value.is_array()? {
                return Ok(None);
            }
            object = Holder::of(Object::from_unknown(value)?)?;
        }
        let Some(found) = self.own(&object, last)? else {
            return Ok(None);
        };
        self.convert(found, &|| pointer(path))
    }

    fn convert(
        &self,
        (value, kind): Typed<'env>,
        at: &dyn Fn() -> String,
    ) -> Result<Option<ContextValue<'_>>, Stop> {
        Ok(Some(match kind {
            ValueType::Null => ContextValue::Null,
            ValueType::Boolean => ContextValue::Bool(bool::from_unknown(value)?),
            ValueType::Number => ContextValue::Number(number(f64::from_unknown(value)?, at)?),
            ValueType::String => ContextValue::String(self.strings.keep(string(value)?)),
            ValueType::Object if value.is_array()? => {
                ContextValue::List(self.lists.keep(list(value, at)?))
            }
            ValueType::Object => {
                Holder::of(Object::from_unknown(value)?)?;
                ContextValue::Object
            }
            other => return Err(unwritable(other, at)),
        }))
    }
}

/// A value and its type.
type Typed<'env> = (Unknown<'env>, ValueType);

/// A value with its type, `None` for `undefined`.
fn typed(value: Unknown) -> Result<Option<Typed>, Stop> {
    match value.get_type()? {
        ValueType::Undefined => Ok(None),
        kind => Ok(Some((value, kind))),
    }
}

/// `key` as a C string in `buffer`, when it fits and holds no NUL.
fn c_key<'b>(key: &str, buffer: &'b mut [u8; 64]) -> Option<&'b CStr> {
    let slot = buffer.get_mut(..key.len())?;
    slot.copy_from_slice(key.as_bytes());
    CStr::from_bytes_with_nul(buffer.get(..=key.len())?).ok()
}

/// A plain object whose members are read, and its prototype (`None` for `null`).
#[derive(Clone, Copy)]
struct Holder<'env> {
    object: Object<'env>,
    proto: Option<Object<'env>>,
}

impl<'env> Holder<'env> {
    /// An object, when it is plain data: its prototype `Object.prototype` (one whose own
    /// prototype is `null`) or `null`, and no `toJSON`, own or inherited. Anything else is
    /// handed over.
    fn of(object: Object<'env>) -> Result<Holder<'env>, Stop> {
        let proto = object.get_prototype()?;
        let proto = match proto.get_type()? {
            ValueType::Null => None,
            _ => {
                let proto = Object::from_unknown(proto)?;
                if proto.get_prototype()?.get_type()? != ValueType::Null {
                    return Err(Stop::Handover);
                }
                Some(proto)
            }
        };
        if object.has_c_named_property(c"toJSON")? {
            return Err(Stop::Handover);
        }
        Ok(Holder { object, proto })
    }
}

impl Context for JsContext<'_> {
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError> {
        // After a failure nothing more is read (no more getters run); the engine keeps the
        // first error.
        let stopped = || RequestError::new("/context", "not read");
        if self.stopped.get() {
            return Err(stopped());
        }
        match self.walk(path) {
            Ok(value) => Ok(value),
            Err(stop) => {
                self.stopped.set(true);
                match stop {
                    Stop::Invalid(e) => Err(e),
                    Stop::Handover => {
                        self.failed.set(Some(Failed::Handover));
                        Err(stopped())
                    }
                    Stop::Thrown(e) => {
                        self.failed.set(Some(Failed::Thrown(e)));
                        Err(stopped())
                    }
                }
            }
        }
    }
}

/// A string's UTF-8; one with a lone surrogate (which UTF-8 cannot hold, and V8 would replace)
/// is handed over, as is one longer than a request's strings may be in all.
fn string(value: Unknown) -> Result<String, Stop> {
    let js = JsString::from_unknown(value)?;
    if js.utf8_len()? > core::Limits::default().max_request_string_bytes {
        return Err(Stop::Handover);
    }
    let s = String::from_unknown(value)?;
    if s.contains('\u{fffd}') {
        let utf16 = js.into_utf16()?;
        if char::decode_utf16(utf16.as_slice().iter().copied()).any(|c| c.is_err()) {
            return Err(Stop::Handover);
        }
    }
    Ok(s)
}

/// A number as JSON means it: a safe integer exactly (`-0` as `0`), any other finite number as
/// the text `JSON.stringify` writes for it, read as the core reads JSON (`2 ** 60` is written
/// `1152921504606847000`, which is that integer, not the double's value).
fn number(v: f64, at: &dyn Fn() -> String) -> Result<serde_json::Number, Stop> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if !v.is_finite() {
        let what = if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        return Err(Stop::Invalid(RequestError::new(
            at(),
            format!("{what} has no JSON form"),
        )));
    }
    if v.fract() == 0.0 && v.abs() <= MAX_SAFE {
        // The cast is exact: `v` is integral and within ±2^53.
        #[allow(clippy::cast_possible_truncation)]
        return Ok(serde_json::Number::from(v as i64));
    }
    let mut text = ryu_js::Buffer::new();
    serde_json::from_str(text.format_finite(v)).map_err(|_| Stop::Handover)
}

/// A list's items as JSON values: scalars as they are, lists and objects (which conditions
/// skip) empty, after checking that each is plain data.
fn list(value: Unknown, at: &dyn Fn() -> String) -> Result<Vec<Value>, Stop> {
    let array = Object::from_unknown(value)?;
    let n = array.get_array_length_unchecked()?;
    let mut items = Vec::with_capacity(n.min(1024) as usize);
    for i in 0..n {
        let item: Unknown = array.get_element(i)?;
        let at = || format!("{}/{i}", at());
        items.push(match item.get_type()? {
            ValueType::Null => Value::Null,
            ValueType::Boolean => Value::Bool(bool::from_unknown(item)?),
            ValueType::Number => Value::Number(number(f64::from_unknown(item)?, &at)?),
            ValueType::String => Value::String(string(item)?),
            ValueType::Object if item.is_array()? => Value::Array(Vec::new()),
            ValueType::Object => {
                Holder::of(Object::from_unknown(item)?)?;
                Value::Object(serde_json::Map::new())
            }
            other => return Err(unwritable(other, &at)),
        });
    }
    Ok(items)
}

/// The refusal of a value JSON cannot hold, in the words of the general path.
fn unwritable(kind: ValueType, at: &dyn Fn() -> String) -> Stop {
    let what = match kind {
        ValueType::Undefined => "undefined",
        ValueType::Function => "a function",
        ValueType::Symbol => "a symbol",
        ValueType::BigInt => "a BigInt",
        _ => "a value of another kind",
    };
    Stop::Invalid(RequestError::new(at(), format!("{what} has no JSON form")))
}

/// The JSON Pointer of a context path.
fn pointer(path: &[&str]) -> String {
    let mut out = String::from("/context");
    for key in path {
        out.push('/');
        for c in key.chars() {
            match c {
                '~' => out.push_str("~0"),
                '/' => out.push_str("~1"),
                c => out.push(c),
            }
        }
    }
    out
}
