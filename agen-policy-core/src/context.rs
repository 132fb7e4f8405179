//! A request's context read in place: the [`Context`] trait a host implements over its own
//! objects (a Python dict, a JavaScript object, a JSON value), and the values it hands out.
//!
//! The engine asks for the attributes some condition of a candidate policy reads, each at most
//! once per evaluation; whatever no condition reads is never converted. The rules of lookup
//! (a key spelled with dots first, then along the dots) live in the engine: a context only
//! walks keys.

use serde_json::{Map, Number, Value};

use crate::error::RequestError;
use crate::ops::bytes::same;

/// A request's context, as the host holds it.
///
/// Implementations walk keys and convert the one value found; they decide nothing. A value the
/// host cannot express as JSON (a float that is not finite, a type JSON lacks) is an error,
/// and the request is refused with `invalid_request` at that place rather than decided on.
pub trait Context {
    /// The value at `path`: `path[0]` a key of the context, each next key one of the object
    /// found before. `Ok(None)` when some key is absent or some value on the way is not an
    /// object.
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError>;

    /// Whether some top-level key may contain a dot. When none does, a dotted attribute name
    /// is only looked up along the dots. `true` unless the host knows better.
    fn may_have_dotted_keys(&self) -> bool {
        true
    }
}

/// One value read from a context.
#[derive(Clone)]
pub enum ContextValue<'a> {
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (finite).
    Number(Number),
    /// A string.
    String(&'a str),
    /// A list; conditions test its scalar items.
    List(&'a dyn ContextList),
    /// An object: present, but nothing a condition compares.
    Object,
}

impl std::fmt::Debug for ContextValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextValue::Null => f.write_str("Null"),
            ContextValue::Bool(b) => write!(f, "Bool({b})"),
            ContextValue::Number(n) => write!(f, "Number({n})"),
            ContextValue::String(s) => write!(f, "String({s:?})"),
            ContextValue::List(_) => f.write_str("List(..)"),
            ContextValue::Object => f.write_str("Object"),
        }
    }
}

/// A list in a context, visited item by item.
pub trait ContextList {
    /// Calls `f` on each scalar item (strings, numbers, booleans; `null`, lists and objects
    /// are skipped) until it returns `true`; returns whether one did. An item the host cannot
    /// express as JSON is an error.
    fn any(&self, f: &mut dyn FnMut(Scalar<'_>) -> bool) -> Result<bool, RequestError>;

    /// The bytes of the list's string items, counted against the request's string limit.
    fn string_bytes(&self) -> Result<usize, RequestError> {
        let mut bytes = 0usize;
        self.any(&mut |s| {
            if let Scalar::Str(s) = s {
                bytes = bytes.saturating_add(s.len());
            }
            false
        })?;
        Ok(bytes)
    }
}

/// A value a condition compares.
#[derive(Debug, Clone, Copy)]
pub enum Scalar<'a> {
    /// A string.
    Str(&'a str),
    /// A number.
    Num(&'a Number),
    /// A boolean.
    Bool(bool),
}

impl Scalar<'_> {
    /// The scalar of a JSON value, if it is one.
    pub fn of(value: &Value) -> Option<Scalar<'_>> {
        match value {
            Value::String(s) => Some(Scalar::Str(s)),
            Value::Number(n) => Some(Scalar::Num(n)),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
}

impl ContextList for Vec<Value> {
    fn any(&self, f: &mut dyn FnMut(Scalar<'_>) -> bool) -> Result<bool, RequestError> {
        Ok(self.iter().filter_map(Scalar::of).any(f))
    }
}

impl<'a> ContextValue<'a> {
    /// The context value of a JSON value.
    pub fn of(value: &'a Value) -> ContextValue<'a> {
        match value {
            Value::Null => ContextValue::Null,
            Value::Bool(b) => ContextValue::Bool(*b),
            Value::Number(n) => ContextValue::Number(n.clone()),
            Value::String(s) => ContextValue::String(s),
            Value::Array(items) => ContextValue::List(items),
            Value::Object(_) => ContextValue::Object,
        }
    }
}

/// A JSON object as a context. Small objects are searched in order: comparing a few keys costs
/// less than hashing one.
impl Context for Map<String, Value> {
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(None);
        };
        let mut value = member(self, first);
        for key in rest {
            value = value
                .and_then(Value::as_object)
                .and_then(|o| member(o, key));
        }
        Ok(value.map(ContextValue::of))
    }
}

/// `object[key]`, by a scan when the object is small.
#[inline]
fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    const SCAN: usize = 8;
    if object.len() <= SCAN {
        // Length and first byte first: most keys differ there, and comparing them is cheaper
        // than a call to compare the bytes.
        let first = key.as_bytes().first();
        object.iter().find_map(|(k, v)| {
            (k.len() == key.len()
                && k.as_bytes().first() == first
                && same(k.as_bytes(), key.as_bytes()))
            .then_some(v)
        })
    } else {
        object.get(key)
    }
}
