//! Attributes and their resolution against a request: built-ins, context paths (an exact key
//! first, then along the dots), and the per-evaluation cache of resolved attributes.

use serde_json::{Map, Number, Value};

/// Where an attribute's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attribute {
    UserId,
    UserEmail,
    UserName,
    UserGroups,
    ConnectorId,
    ToolName,
    /// Looked up in the request's context: as one key spelled `name`, else along `path`.
    Context {
        name: Box<str>,
        path: Box<[Box<str>]>,
    },
}

impl Attribute {
    pub(crate) fn new(name: &str) -> Attribute {
        match name {
            "user.id" => Attribute::UserId,
            "user.email" => Attribute::UserEmail,
            "user.name" => Attribute::UserName,
            "user.groups" => Attribute::UserGroups,
            "connector.id" => Attribute::ConnectorId,
            "tool.name" => Attribute::ToolName,
            _ => Attribute::Context {
                name: name.into(),
                path: name.split('.').map(Box::from).collect(),
            },
        }
    }
}

/// The attributes one evaluation has resolved, so that conditions on the same attribute look it
/// up once. A few entries on the stack: past them, attributes are resolved again, never stored
/// on the heap.
pub(crate) struct ResolvedCache<'a> {
    ids: [u32; RESOLVED_CACHE],
    values: [Resolved<'a>; RESOLVED_CACHE],
    len: usize,
}

const RESOLVED_CACHE: usize = 8;

impl<'a> ResolvedCache<'a> {
    pub(crate) fn new() -> Self {
        ResolvedCache {
            ids: [0; RESOLVED_CACHE],
            values: [Resolved::Missing; RESOLVED_CACHE],
            len: 0,
        }
    }

    /// The resolved value of attribute `id`, resolving it with `resolve` the first time.
    pub(crate) fn get(&mut self, id: u32, resolve: impl FnOnce() -> Resolved<'a>) -> Resolved<'a> {
        let known = self.ids.get(..self.len).unwrap_or_default();
        if let Some(i) = known.iter().position(|&k| k == id) {
            if let Some(v) = self.values.get(i) {
                return *v;
            }
        }
        let value = resolve();
        if let (Some(slot_id), Some(slot_value)) =
            (self.ids.get_mut(self.len), self.values.get_mut(self.len))
        {
            *slot_id = id;
            *slot_value = value;
            self.len += 1;
        }
        value
    }
}

/// One value an attribute resolved to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Str(&'a str),
    Num(&'a Number),
    Bool(bool),
}

/// An attribute resolved against one request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resolved<'a> {
    Missing,
    Str(&'a str),
    Json(&'a Value),
    /// `user.groups`: the directory's groups, then the request's.
    Groups(&'a [Box<str>], &'a [String]),
}

impl<'a> Resolved<'a> {
    /// Calls `f` on each value until it returns `true`; returns whether one did.
    pub(super) fn any(self, mut f: impl FnMut(Scalar<'a>) -> bool) -> bool {
        match self {
            Resolved::Missing => false,
            Resolved::Str(s) => f(Scalar::Str(s)),
            Resolved::Json(Value::Array(items)) => {
                items.iter().any(|v| scalar(v).is_some_and(&mut f))
            }
            Resolved::Json(v) => scalar(v).is_some_and(f),
            Resolved::Groups(directory, request) => {
                directory.iter().any(|g| f(Scalar::Str(g)))
                    || request.iter().any(|g| f(Scalar::Str(g)))
            }
        }
    }

    /// Present and not null (`exists`).
    pub(super) fn exists(self) -> bool {
        !matches!(self, Resolved::Missing | Resolved::Json(Value::Null))
    }

    /// The resolved value as JSON, for explanations.
    pub(crate) fn to_value(self) -> Option<Value> {
        match self {
            Resolved::Missing => None,
            Resolved::Str(s) => Some(Value::String(s.to_owned())),
            Resolved::Json(v) => Some(v.clone()),
            Resolved::Groups(d, r) => Some(Value::Array(
                d.iter()
                    .map(|g| Value::String(g.to_string()))
                    .chain(r.iter().map(|g| Value::String(g.clone())))
                    .collect(),
            )),
        }
    }
}

fn scalar(v: &Value) -> Option<Scalar<'_>> {
    match v {
        Value::String(s) => Some(Scalar::Str(s)),
        Value::Number(n) => Some(Scalar::Num(n)),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Looks `name` up in a context: one key spelled exactly so, else along the dots.
pub(crate) fn lookup<'a>(
    context: &'a Map<String, Value>,
    dotted_keys: bool,
    name: &str,
    path: &[Box<str>],
) -> Option<&'a Value> {
    if path.len() < 2 || dotted_keys {
        if let Some(v) = context.get(name) {
            return Some(v);
        }
        if path.len() < 2 {
            return None;
        }
    }
    let (first, rest) = path.split_first()?;
    let mut v = context.get(&**first)?;
    for segment in rest {
        v = v.as_object()?.get(&**segment)?;
    }
    Some(v)
}
