//! `evaluate`'s arguments read in place: the core's [`RequestView`] over the caller's own `str`
//! objects, and its [`Context`] over the caller's dict.
//!
//! Nothing is copied up front: the ids and groups are the `str` objects' own UTF-8 (CPython
//! keeps it for ASCII text), and the context dict is walked only for the attributes the engine
//! asks for, each at most once per evaluation; only the one value found is converted. The rules
//! (a dotted name looked up as one key first, the depth and string limits, what is refused) are
//! the core's; this module walks keys and converts values, refusing what has no JSON form with
//! the messages of the whole-request conversion (`convert`).

use std::cell::OnceCell;

use agen_policy_core::{Context, ContextList, ContextValue, RequestError, RequestView, Scalar};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};
use serde_json::{Number, Value};
use smallvec::SmallVec;

use crate::convert::{self, Failure, Items};

/// Group claims held on the stack up to this many; more spill to the heap.
const GROUPS_INLINE: usize = 8;

/// Runs `f` on the view of a request made of `evaluate`'s arguments (no evidence), or fails as
/// the whole-request conversion would for an argument of the wrong type.
#[inline]
pub(crate) fn with_view<R>(
    user: &Bound<'_, PyAny>,
    connector: &Bound<'_, PyAny>,
    tool: &Bound<'_, PyAny>,
    groups: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
    f: impl FnOnce(&RequestView<'_>) -> R,
) -> Result<R, Failure> {
    let view = RequestView::with_limits(
        id(user, "user")?,
        id(connector, "connector")?,
        id(tool, "tool")?,
        convert::limits(),
    )?;
    // The claims' `str` objects, held while their text is borrowed (a list may drop an item
    // the moment Python code runs; none runs here, but the borrow checker need not know that).
    let held: SmallVec<[Bound<'_, PyString>; GROUPS_INLINE]>;
    let texts: SmallVec<[&str; GROUPS_INLINE]>;
    let view = match groups.filter(|g| !g.is_none()) {
        None => view,
        Some(groups) => {
            held = group_objects(groups)?;
            texts = group_texts(&held)?;
            view.groups(&texts)?
        }
    };
    let dict = match context.filter(|c| !c.is_none()) {
        None => return Ok(f(&view)),
        Some(context) => context_dict(context)?,
    };
    let context = DictContext::new(dict);
    Ok(f(&view.context(&context)))
}

/// One of the ids, borrowed.
#[inline]
pub(crate) fn id<'a>(obj: &'a Bound<'_, PyAny>, name: &str) -> Result<&'a str, Failure> {
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(Failure::Request {
            path: format!("/{name}"),
            message: format!("`{name}` must be a string, not {}", convert::type_name(obj)),
        });
    };
    s.to_str().map_err(|_| Failure::Request {
        path: format!("/{name}"),
        message: format!("`{name}` holds a lone surrogate, which has no UTF-8 form"),
    })
}

/// The `str` items of a list, tuple, set or frozenset of group ids.
pub(crate) fn group_objects<'py>(
    obj: &Bound<'py, PyAny>,
) -> Result<SmallVec<[Bound<'py, PyString>; GROUPS_INLINE]>, Failure> {
    let collection = obj.cast::<PyList>().is_ok()
        || obj.cast::<PyTuple>().is_ok()
        || obj.cast::<PySet>().is_ok()
        || obj.cast::<PyFrozenSet>().is_ok();
    if !collection {
        return Err(Failure::Request {
            path: "/groups".to_owned(),
            message: format!(
                "`groups` must be a list of group ids, not {}",
                convert::type_name(obj)
            ),
        });
    }
    let mut out = SmallVec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        match item?.cast_into::<PyString>() {
            Ok(s) => out.push(s),
            Err(e) => {
                return Err(Failure::Request {
                    path: format!("/groups/{i}"),
                    message: format!(
                        "a group id must be a string, not {}",
                        convert::type_name(e.into_inner().as_any())
                    ),
                })
            }
        }
    }
    Ok(out)
}

/// The text of each group id, borrowed from its `str`.
pub(crate) fn group_texts<'a>(
    held: &'a [Bound<'_, PyString>],
) -> Result<SmallVec<[&'a str; GROUPS_INLINE]>, Failure> {
    held.iter()
        .enumerate()
        .map(|(i, s)| {
            s.to_str().map_err(|_| Failure::Request {
                path: format!("/groups/{i}"),
                message: "a group id holds a lone surrogate, which has no UTF-8 form".to_owned(),
            })
        })
        .collect()
}

/// The context argument, which must be a dict.
pub(crate) fn context_dict<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
) -> Result<&'a Bound<'py, PyDict>, Failure> {
    obj.cast::<PyDict>().map_err(|_| Failure::Request {
        path: "/context".to_owned(),
        message: format!("`context` must be a dict, not {}", convert::type_name(obj)),
    })
}

/// A request dict of `evaluate`'s fields only, each of a type `evaluate` takes: what a batch
/// reads in place.
pub(crate) struct PlainRequest<'py> {
    pub(crate) user: Bound<'py, PyAny>,
    pub(crate) connector: Bound<'py, PyAny>,
    pub(crate) tool: Bound<'py, PyAny>,
    pub(crate) groups: Option<Bound<'py, PyAny>>,
    pub(crate) context: Option<Bound<'py, PyAny>>,
}

/// The fields of a plain request, in [`PlainRequest::of`]'s order.
const FIELD_NAMES: [&str; 5] = ["user", "connector", "tool", "groups", "context"];

/// The field names as Python strings, interned once: a request dict written in Python source
/// has these very objects as its keys, recognised by identity.
static FIELDS: PyOnceLock<[Py<PyString>; 5]> = PyOnceLock::new();

impl<'py> PlainRequest<'py> {
    /// The fields of `obj`, or `None` when it is not such a dict (JSON text, a request with
    /// evidence or an unknown field, a value of another type): the core judges those whole.
    ///
    /// One pass over the dict's items, each key recognised by identity with the interned name
    /// or else by its text: cheaper than looking each field up (a missing one costs a probe).
    pub(crate) fn of(obj: &Bound<'py, PyAny>) -> PyResult<Option<Self>> {
        let Ok(dict) = obj.cast::<PyDict>() else {
            return Ok(None);
        };
        let py = obj.py();
        let names =
            FIELDS.get_or_init(py, || FIELD_NAMES.map(|k| PyString::intern(py, k).unbind()));
        let mut fields: [Option<Bound<'py, PyAny>>; 5] = Default::default();
        for (key, value) in dict.iter() {
            let slot = match names.iter().position(|n| key.is(n)) {
                Some(i) => i,
                None => {
                    let text = key.cast::<PyString>().ok().and_then(|k| k.to_str().ok());
                    match text.and_then(|t| FIELD_NAMES.iter().position(|n| *n == t)) {
                        Some(i) => i,
                        None => return Ok(None),
                    }
                }
            };
            let Some(field) = fields.get_mut(slot) else {
                return Ok(None);
            };
            if field.replace(value).is_some() {
                // Two keys of the same text: the whole-request conversion refuses it.
                return Ok(None);
            }
        }
        let [Some(user), Some(connector), Some(tool), groups, context] = fields else {
            return Ok(None);
        };
        let plain = [&user, &connector, &tool]
            .iter()
            .all(|id| id.cast::<PyString>().is_ok())
            && groups.as_ref().is_none_or(|g| {
                g.is_none() || g.cast::<PyList>().is_ok() || g.cast::<PyTuple>().is_ok()
            })
            && context
                .as_ref()
                .is_none_or(|c| c.is_none() || c.cast::<PyDict>().is_ok());
        Ok(plain.then_some(PlainRequest {
            user,
            connector,
            tool,
            groups,
            context,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// The context

/// A Python dict as the core's [`Context`].
pub(crate) struct DictContext<'a, 'py> {
    dict: &'a Bound<'py, PyDict>,
    /// The `str` values handed to the engine, and the lists.
    strings: Keep<Bound<'py, PyString>>,
    lists: Keep<PyItems<'py>>,
}

impl<'a, 'py> DictContext<'a, 'py> {
    pub(crate) fn new(dict: &'a Bound<'py, PyDict>) -> Self {
        DictContext {
            dict,
            strings: Keep::default(),
            lists: Keep::default(),
        }
    }

    /// The context value of `value`, found at `keys`.
    fn convert(
        &self,
        value: Bound<'py, PyAny>,
        keys: &[&str],
    ) -> Result<ContextValue<'_>, RequestError> {
        let value = match value.cast_into::<PyString>() {
            Ok(s) => {
                let s = self.strings.keep(s);
                let text = s.to_str().map_err(|_| refused(keys, None, not_unicode()))?;
                return Ok(ContextValue::String(text));
            }
            Err(e) => e.into_inner(),
        };
        if let Ok(b) = value.cast::<PyBool>() {
            return Ok(ContextValue::Bool(b.is_true()));
        }
        if value.cast::<PyInt>().is_ok() || value.cast::<PyFloat>().is_ok() {
            return number(&value)
                .map(ContextValue::Number)
                .map_err(|message| refused(keys, None, message));
        }
        if value.is_none() {
            return Ok(ContextValue::Null);
        }
        if value.cast::<PyDict>().is_ok() {
            return Ok(ContextValue::Object);
        }
        if Items::of(&value).is_some() {
            let string_bytes = PyItems::check(&value, keys)?;
            let list = self.lists.keep(PyItems {
                items: value,
                string_bytes,
            });
            return Ok(ContextValue::List(list));
        }
        Err(refused(
            keys,
            None,
            convert::unsupported(&value).into_message(),
        ))
    }
}

impl Context for DictContext<'_, '_> {
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(None);
        };
        let Some(mut value) = member(self.dict, first, &path[..1])? else {
            return Ok(None);
        };
        for (i, key) in rest.iter().enumerate() {
            let Ok(object) = value.cast::<PyDict>() else {
                return Ok(None);
            };
            match member(object, key, &path[..i + 2])? {
                Some(v) => value = v,
                None => return Ok(None),
            }
        }
        self.convert(value, path).map(Some)
    }
}

/// `dict[key]` for a `str` key. A small dict is searched by comparing each key's text, as the
/// core searches a small JSON object: cheaper than making a Python `str` of `key` to hash, and
/// a key is matched by its text, as the whole-request conversion reads keys. Two keys equal as
/// text (`str` subclasses with their own equality) are refused there, so here too. A larger
/// dict is hashed.
fn member<'py>(
    dict: &Bound<'py, PyDict>,
    key: &str,
    keys: &[&str],
) -> Result<Option<Bound<'py, PyAny>>, RequestError> {
    const SCAN: usize = 8;
    if dict.len() > SCAN {
        return dict
            .get_item(key)
            .map_err(|e| refused(keys, None, e.to_string()));
    }
    let mut found = None;
    for (k, v) in dict.iter() {
        // A key that is not a `str`, or not UTF-8, cannot be `key`: skipped, not refused.
        let Ok(k) = k.cast::<PyString>() else {
            continue;
        };
        if k.to_str().is_ok_and(|k| k == key) {
            if found.is_some() {
                let message = format!("duplicate key `{}`", convert::brief(key));
                return Err(refused(keys, None, message));
            }
            found = Some(v);
        }
    }
    Ok(found)
}

/// A list or tuple of the context: the engine visits its scalar items.
pub(crate) struct PyItems<'py> {
    items: Bound<'py, PyAny>,
    string_bytes: usize,
}

impl PyItems<'_> {
    /// Checks each item has a JSON form (nested lists and dicts are not compared, so not read)
    /// and counts the bytes of its strings.
    fn check(items: &Bound<'_, PyAny>, keys: &[&str]) -> Result<usize, RequestError> {
        let mut bytes = 0usize;
        for (i, item) in Items::of(items).into_iter().flatten().enumerate() {
            match scalar(&item) {
                Ok(Some(Item::Str(s))) => {
                    let text = s
                        .to_str()
                        .map_err(|_| refused(keys, Some(i), not_unicode()))?;
                    bytes = bytes.saturating_add(text.len());
                }
                Ok(_) => {}
                Err(message) => return Err(refused(keys, Some(i), message)),
            }
        }
        Ok(bytes)
    }
}

impl ContextList for PyItems<'_> {
    fn any(&self, f: &mut dyn FnMut(Scalar<'_>) -> bool) -> Result<bool, RequestError> {
        for item in Items::of(&self.items).into_iter().flatten() {
            // Checked when read; should Python code have changed the list since, an item
            // without a JSON form is refused without a finer path.
            let hit = match scalar(&item).map_err(|m| RequestError::new("/context", m))? {
                None => false,
                Some(Item::Str(s)) => {
                    let text = s
                        .to_str()
                        .map_err(|_| RequestError::new("/context", not_unicode()))?;
                    f(Scalar::Str(text))
                }
                Some(Item::Num(n)) => f(Scalar::Num(&n)),
                Some(Item::Bool(b)) => f(Scalar::Bool(b)),
            };
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn string_bytes(&self) -> Result<usize, RequestError> {
        Ok(self.string_bytes)
    }
}

/// A list item the engine compares.
enum Item<'py> {
    Str(Bound<'py, PyString>),
    Num(Number),
    Bool(bool),
}

/// The scalar of a list item; `None` for `None`, a list, a tuple or a dict; the message for a
/// value without a JSON form.
fn scalar<'py>(item: &Bound<'py, PyAny>) -> Result<Option<Item<'py>>, String> {
    if let Ok(s) = item.cast::<PyString>() {
        return Ok(Some(Item::Str(s.clone())));
    }
    if let Ok(b) = item.cast::<PyBool>() {
        return Ok(Some(Item::Bool(b.is_true())));
    }
    if item.cast::<PyInt>().is_ok() || item.cast::<PyFloat>().is_ok() {
        return number(item).map(|n| Some(Item::Num(n)));
    }
    if item.is_none() || item.cast::<PyDict>().is_ok() || Items::of(item).is_some() {
        return Ok(None);
    }
    Err(convert::unsupported(item).into_message())
}

/// A Python `int` or `float` as the whole-request conversion reads it.
fn number(obj: &Bound<'_, PyAny>) -> Result<Number, String> {
    match convert::number(obj) {
        Ok(Value::Number(n)) => Ok(n),
        Ok(_) => Err("not a number".to_owned()),
        Err(e) => Err(e.into_message()),
    }
}

fn not_unicode() -> String {
    convert::not_unicode().into_message()
}

/// The error for the value at `keys` (and item `index` of it) of the context.
fn refused(keys: &[&str], index: Option<usize>, message: String) -> RequestError {
    let mut path = String::from("/context");
    for key in keys {
        path.push('/');
        convert::push_token(&mut path, key);
    }
    if let Some(i) = index {
        path.push('/');
        path.push_str(&i.to_string());
    }
    RequestError::new(path, message)
}

// ---------------------------------------------------------------------------------------------
// Keeping what the engine borrows

/// Values kept alive for as long as the context is, so the engine may borrow from them (a
/// `str`'s text, a list's items) after `Context::get` has returned.
///
/// `get` takes `&self`, and what it returns borrows `self`: each value must be stored through
/// a shared reference and never moved afterwards. A `OnceCell` does exactly that in safe code
/// (set once through `&self`, then lent for as long as the cell lives), so the first
/// `KEEP_INLINE` values go into a fixed array of them, inside the context on the stack: no
/// allocation, and nothing to initialise but `None`s. The engine reads each attribute at most
/// once per evaluation, and few conditions read strings or lists, so more is rare; then a boxed
/// block of as many again is chained on (a list of blocks, each allocated once and never
/// moved), which bounds the values kept by the attributes read, with no `unsafe` and no arena
/// crate. A `RefCell<Vec<_>>` would move values as it grows, and could not lend them past the
/// borrow.
struct Keep<T> {
    cells: [OnceCell<T>; KEEP_INLINE],
    more: OnceCell<Box<Keep<T>>>,
}

const KEEP_INLINE: usize = 4;

impl<T> Default for Keep<T> {
    fn default() -> Self {
        Keep {
            cells: std::array::from_fn(|_| OnceCell::new()),
            more: OnceCell::new(),
        }
    }
}

impl<T> Keep<T> {
    /// Keeps `value` for the life of `self`; a reference to it.
    fn keep(&self, value: T) -> &T {
        match self.cells.iter().find(|c| c.get().is_none()) {
            Some(cell) => cell.get_or_init(|| value),
            None => self.more.get_or_init(Box::default).keep(value),
        }
    }
}
