//! The fast path of `evaluate` and `evaluateMany`: a request that `index.js` wrote whole into
//! a shared buffer, its ids and groups borrowed from it and its context read in place from its
//! bytes ([`BytesContext`]): no `serde_json` map, no copy, no Node-API call.
//!
//! A request, as `index.js` writes it (integers are little-endian `u32`):
//!
//! ```text
//! request = u32(n) u32(length of user) u32(of connector) u32(of tool) u32(of group)*n
//!           ids context
//! ids     = the UTF-8 bytes of the user, connector, tool and n groups, one after the other
//! context = 0x00 (none) | object
//! value   = 0x00 null | 0x01 false | 0x02 true | 0x03 f64 | 0x04 str | list | object
//! list    = 0x05 u32(n) u32(byte length of the items) value*n
//! object  = 0x06 u32(n) u32(byte length of the members) (str(key) value)*n
//! str     = u32(byte length) UTF-8 bytes
//! ```
//!
//! Lists and objects carry their byte length, so that skipping a member costs the same
//! whatever it holds. A number is the double JavaScript holds (finite): it is read as the core
//! reads the text `JSON.stringify` writes for it (see [`number`]).
//!
//! The native calls take no argument: what they would take is at the start of the buffer, as
//! native-endian `u32`s (which JavaScript writes through a `Uint32Array`):
//!
//! ```text
//! evaluate     = u32(slot) request
//! evaluateMany = u32(slot) u32(count) u32(split) request*count
//! ```
//!
//! with the set's slot (`fastSlot`), and for `evaluateMany` the number of requests, written
//! one after the other, and the byte from which to write their decisions.
//!
//! JavaScript writes only plain data that JSON means the same way, within the core's limits
//! (nesting, size), and reads all of it to do so: what it cannot write (a value JSON cannot
//! hold or writes otherwise, a class instance, a `toJSON`, a lone surrogate, a cycle, nesting
//! too deep, too many bytes) sends the request to the general path, where `JSON.stringify`
//! writes it and the core checks it whole. So the context needs no check here beyond reading
//! the bytes safely: bytes that are not what `index.js` writes hand the request over too.
//!
//! The decision is written as native-endian `u32`s, from the start of the buffer for
//! `evaluate`, one after the other from the split on for `evaluateMany`; JavaScript reads them
//! through a `Uint32Array`:
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
use std::sync::Arc;

use agen_policy_core as core;
use core::{Context, ContextList, ContextValue, RequestError, Scalar};
use rustc_hash::FxHashMap;
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

/// The bytes of the header of `evaluateMany`'s call: the slot, the count and the split.
pub(crate) const MANY_HEADER: usize = 12;

/// The slot of the set at the start of `evaluate`'s call, and the request's bytes after it.
pub(crate) fn read_slot(buffer: &[u8]) -> Option<(u32, &[u8])> {
    let (slot, rest) = buffer.split_first_chunk::<4>()?;
    Some((u32::from_ne_bytes(*slot), rest))
}

/// The slot, the count of requests and the split at the start of `evaluateMany`'s call.
pub(crate) fn read_many_header(buffer: &[u8]) -> Option<(u32, u32, u32)> {
    let word = |i: usize| {
        let bytes = buffer.get(4 * i..4 * i + 4)?;
        Some(u32::from_ne_bytes(bytes.try_into().ok()?))
    };
    Some((word(0)?, word(1)?, word(2)?))
}

/// One request read from the buffer: its ids and groups, and its context's bytes, all borrowed
/// (kept small: it is returned by value for each request).
pub(crate) struct Request<'a> {
    pub(crate) user: &'a str,
    pub(crate) connector: &'a str,
    pub(crate) tool: &'a str,
    pub(crate) groups: SmallVec<[&'a str; 4]>,
    context: Option<Container<'a>>,
}

impl<'a> Request<'a> {
    /// The context, to be read in place (`None` for a request without one).
    pub(crate) fn context(&self) -> Option<BytesContext<'a>> {
        self.context.map(BytesContext::new)
    }
}

/// Reads one request from `bytes`, advancing past it; `None` when the bytes are not what
/// `index.js` writes.
pub(crate) fn read_request<'a>(bytes: &mut &'a [u8]) -> Option<Request<'a>> {
    let mut r = Reader(bytes);
    let n = r.u32()?;
    let lengths = r.take(n.checked_add(3)?.checked_mul(4)?)?;
    let mut total = 0usize;
    for length in lengths.chunks_exact(4) {
        total = total.checked_add(Reader(length).u32()?)?;
    }
    // The ids' bytes checked as UTF-8 at once, then split where the lengths say (at character
    // boundaries, which `split_at_checked` checks).
    let mut ids = std::str::from_utf8(r.take(total)?).ok()?;
    let mut lengths = Reader(lengths);
    let mut id = || {
        let (head, rest) = ids.split_at_checked(lengths.u32()?)?;
        ids = rest;
        Some(head)
    };
    let user = id()?;
    let connector = id()?;
    let tool = id()?;
    let mut groups = SmallVec::new();
    for _ in 0..n {
        groups.push(id()?);
    }
    let context = match r.u8()? {
        NONE => None,
        OBJECT => Some(r.container()?),
        _ => return None,
    };
    *bytes = r.0;
    Some(Request {
        user,
        connector,
        tool,
        groups,
        context,
    })
}

const NONE: u8 = 0;
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NUMBER: u8 = 3;
const STRING: u8 = 4;
const LIST: u8 = 5;
const OBJECT: u8 = 6;

/// A cursor over encoded bytes; every read is checked, and `None` means bytes that are not
/// what `index.js` writes.
#[derive(Clone, Copy)]
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        let (&head, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<usize> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        usize::try_from(u32::from_le_bytes(*head)).ok()
    }

    /// A string's bytes, not yet checked as UTF-8.
    fn raw(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw()?).ok()
    }

    /// A list's or an object's count and the bytes of its items or members (after the tag).
    fn container(&mut self) -> Option<Container<'a>> {
        let count = self.u32()?;
        let bytes = self.raw()?;
        Some(Container { count, bytes })
    }

    /// Steps over one value, whatever it holds, in constant time.
    fn skip(&mut self) -> Option<()> {
        match self.u8()? {
            NULL | FALSE | TRUE => Some(()),
            NUMBER => self.take(8).map(drop),
            STRING => self.raw().map(drop),
            LIST | OBJECT => {
                self.u32()?;
                self.raw().map(drop)
            }
            _ => None,
        }
    }

    /// One value (its tag and what follows), as the engine takes it: lists are kept in `lists`
    /// so that the reference handed out lives as long as the context.
    fn value<'c>(&mut self, lists: &'c Keep<BytesList<'a>>) -> Option<ContextValue<'c>>
    where
        'a: 'c,
    {
        Some(match self.u8()? {
            NULL => ContextValue::Null,
            FALSE => ContextValue::Bool(false),
            TRUE => ContextValue::Bool(true),
            NUMBER => ContextValue::Number(number(self.f64()?)?),
            STRING => ContextValue::String(self.str()?),
            LIST => {
                let list = self.container()?;
                checked(list)?;
                ContextValue::List(lists.keep(BytesList(list)))
            }
            OBJECT => {
                self.container()?;
                ContextValue::Object
            }
            _ => return None,
        })
    }

    fn f64(&mut self) -> Option<f64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(f64::from_le_bytes(*head))
    }
}

/// The items of a list or the members of an object, and how many there are.
#[derive(Clone, Copy)]
struct Container<'a> {
    count: usize,
    bytes: &'a [u8],
}

impl<'a> Container<'a> {
    /// The value of the member `key` of this object, the reader left at its tag; `Ok(None)`
    /// when there is none.
    fn member(self, key: &str) -> Option<Option<Reader<'a>>> {
        let key = key.as_bytes();
        let mut r = Reader(self.bytes);
        for _ in 0..self.count {
            // Length first: most keys differ there, and comparing it costs less than a call
            // to compare the bytes.
            let k = r.raw()?;
            if k.len() == key.len() && k == key {
                return Some(Some(r));
            }
            r.skip()?;
        }
        Some(None)
    }
}

/// A request's context read in place from the bytes `index.js` wrote (the core's [`Context`]):
/// each lookup scans an object's keys, skipping the values of the others; strings are borrowed
/// from the buffer (checked as UTF-8 where handed out), lists visited in place. Bytes that are
/// not what `index.js` writes stop the reading, and the request takes the general path.
pub(crate) struct BytesContext<'a> {
    root: Container<'a>,
    lists: Keep<BytesList<'a>>,
    malformed: Cell<bool>,
}

impl<'a> BytesContext<'a> {
    fn new(root: Container<'a>) -> Self {
        BytesContext {
            root,
            lists: Keep::default(),
            malformed: Cell::new(false),
        }
    }

    /// Whether some bytes read were not what `index.js` writes: then the request takes the
    /// general path, whatever the engine decided.
    pub(crate) fn malformed(&self) -> bool {
        self.malformed.get()
    }

    /// The value at `path`; `None` for bytes that are not what `index.js` writes.
    fn walk(&self, path: &[&str]) -> Option<Option<ContextValue<'_>>> {
        let Some((last, init)) = path.split_last() else {
            return Some(None);
        };
        let mut object = self.root;
        for key in init {
            let Some(mut at) = object.member(key)? else {
                return Some(None);
            };
            // Only an object has members; a list's items are not walked.
            if at.u8()? != OBJECT {
                return Some(None);
            }
            object = at.container()?;
        }
        match object.member(last)? {
            Some(mut at) => at.value(&self.lists).map(Some),
            None => Some(None),
        }
    }
}

impl Context for BytesContext<'_> {
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError> {
        if self.malformed.get() {
            return Err(not_read());
        }
        match self.walk(path) {
            Some(found) => Ok(found),
            None => {
                self.malformed.set(true);
                Err(not_read())
            }
        }
    }

    // `may_have_dotted_keys` stays `true`: a dotted attribute is looked up spelled whole first,
    // one scan of the top-level keys, which costs less than finding out that no key has a dot.
}

/// The error that stops an evaluation whose bytes were malformed (never seen by the caller:
/// the request takes the general path).
fn not_read() -> RequestError {
    RequestError::new("/context", "not read")
}

/// Checks a list's items once, as it is handed out, so that visiting them cannot fail: each
/// where it says, its strings UTF-8, its numbers finite.
fn checked(list: Container<'_>) -> Option<()> {
    let mut r = Reader(list.bytes);
    for _ in 0..list.count {
        let mut item = r;
        match item.u8()? {
            NUMBER => item.f64()?.is_finite().then_some(())?,
            STRING => item.str().map(drop)?,
            _ => {}
        }
        r.skip()?;
    }
    r.0.is_empty().then_some(())
}

/// A list in the buffer (its items checked, see [`checked`]), visited in place.
struct BytesList<'a>(Container<'a>);

impl ContextList for BytesList<'_> {
    fn any(&self, f: &mut dyn FnMut(Scalar<'_>) -> bool) -> Result<bool, RequestError> {
        let mut r = Reader(self.0.bytes);
        for _ in 0..self.0.count {
            let mut item = r;
            let tag = item.u8().ok_or_else(not_read)?;
            let scalar = match tag {
                FALSE => Scalar::Bool(false),
                TRUE => Scalar::Bool(true),
                NUMBER => {
                    let n = item.f64().and_then(number).ok_or_else(not_read)?;
                    if f(Scalar::Num(&n)) {
                        return Ok(true);
                    }
                    r.skip().ok_or_else(not_read)?;
                    continue;
                }
                STRING => Scalar::Str(item.str().ok_or_else(not_read)?),
                _ => {
                    r.skip().ok_or_else(not_read)?;
                    continue;
                }
            };
            if f(scalar) {
                return Ok(true);
            }
            r.skip().ok_or_else(not_read)?;
        }
        Ok(false)
    }
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

/// A number as JSON means it, read as the core reads the text `JSON.stringify` writes for it:
/// a safe integer exactly (`-0` as `0`), any other as that text parsed (`2 ** 60` is written
/// `1152921504606847000`, which is that integer, not the double's value; `1e21` stays a
/// double). `None` for a number that is not finite, which `index.js` never writes.
fn number(v: f64) -> Option<serde_json::Number> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if !v.is_finite() {
        return None;
    }
    if v.fract() == 0.0 && v.abs() <= MAX_SAFE {
        // The cast is exact: `v` is integral and within ±2^53.
        #[allow(clippy::cast_possible_truncation)]
        return Some(serde_json::Number::from(v as i64));
    }
    let mut text = ryu_js::Buffer::new();
    serde_json::from_str(text.format_finite(v)).ok()
}
