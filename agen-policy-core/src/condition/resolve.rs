//! Attributes and their resolution against a request: built-ins, context paths (an exact key
//! first, then along the dots), and the per-evaluation table of what has been read, each value
//! kept with the typed forms its operators compare (instant, version, address), parsed once.

use std::net::IpAddr;

use serde_json::{Number, Value};
use smallvec::SmallVec;

use crate::context::{Context, ContextList, ContextValue, Scalar};
use crate::error::{escape_token, RequestError};
use crate::ops::cidr;
use crate::ops::semver::Version;
use crate::ops::time::Instant;
use crate::view::{string_limit, Groups, RequestView};

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

/// An attribute resolved against one request.
#[derive(Clone)]
pub(crate) enum Resolved<'a> {
    Missing,
    Null,
    Object,
    Bool(bool),
    Num(Number),
    Str(&'a str),
    List(&'a dyn ContextList),
    /// `user.groups`: the directory's groups, then the request's ([`UserGroups`]).
    Groups,
}

/// The user's groups: the directory's, then the request's.
#[derive(Clone, Copy)]
pub(crate) struct UserGroups<'a> {
    pub(crate) directory: &'a [Box<str>],
    pub(crate) request: Groups<'a>,
}

impl UserGroups<'_> {
    fn any(&self, f: &mut impl FnMut(Scalar<'_>) -> bool) -> bool {
        self.directory.iter().any(|g| f(Scalar::Str(g)))
            || self.request.iter().any(|g| f(Scalar::Str(g)))
    }
}

impl<'a> Resolved<'a> {
    /// The resolved value of a context value.
    fn of(value: ContextValue<'a>) -> Resolved<'a> {
        match value {
            ContextValue::Null => Resolved::Null,
            ContextValue::Bool(b) => Resolved::Bool(b),
            ContextValue::Number(n) => Resolved::Num(n),
            ContextValue::String(s) => Resolved::Str(s),
            ContextValue::List(l) => Resolved::List(l),
            ContextValue::Object => Resolved::Object,
        }
    }

    /// The one scalar, when the value is one.
    pub(super) fn scalar(&self) -> Option<Scalar<'_>> {
        match self {
            Resolved::Bool(b) => Some(Scalar::Bool(*b)),
            Resolved::Num(n) => Some(Scalar::Num(n)),
            Resolved::Str(s) => Some(Scalar::Str(s)),
            _ => None,
        }
    }

    /// Calls `f` on each value until it returns `true`; returns whether one did. A list the
    /// host cannot read any more (it was read once already) reads as no value.
    pub(super) fn any(
        &self,
        groups: &UserGroups<'_>,
        mut f: impl FnMut(Scalar<'_>) -> bool,
    ) -> bool {
        match self {
            Resolved::Missing | Resolved::Null | Resolved::Object => false,
            Resolved::Bool(_) | Resolved::Num(_) | Resolved::Str(_) => self.scalar().is_some_and(f),
            Resolved::List(items) => items.any(&mut f).unwrap_or(false),
            Resolved::Groups => groups.any(&mut f),
        }
    }

    /// Present and not null (`exists`).
    pub(super) fn exists(&self) -> bool {
        !matches!(self, Resolved::Missing | Resolved::Null)
    }

    /// The resolved value as JSON, for explanations. Objects read as `{}`: their members are
    /// not read.
    pub(crate) fn to_value(&self, groups: UserGroups<'_>) -> Option<Value> {
        match self {
            Resolved::Missing => None,
            Resolved::Null => Some(Value::Null),
            Resolved::Object => Some(Value::Object(serde_json::Map::new())),
            Resolved::Bool(b) => Some(Value::Bool(*b)),
            Resolved::Num(n) => Some(Value::Number(n.clone())),
            Resolved::Str(s) => Some(Value::String((*s).to_owned())),
            Resolved::List(items) => {
                let mut out = Vec::new();
                let _ = items.any(&mut |s| {
                    out.push(match s {
                        Scalar::Str(s) => Value::String(s.to_owned()),
                        Scalar::Num(n) => Value::Number(n.clone()),
                        Scalar::Bool(b) => Value::Bool(b),
                    });
                    false
                });
                Some(Value::Array(out))
            }
            Resolved::Groups => Some(Value::Array(
                groups
                    .directory
                    .iter()
                    .map(|g| Value::String(g.to_string()))
                    .chain(groups.request.iter().map(|g| Value::String(g.to_owned())))
                    .collect(),
            )),
        }
    }
}

/// An attribute's value and, parsed on first use, the typed form its operators compare, so
/// that conditions on the same attribute parse it once per evaluation. One form is kept: an
/// attribute compared as two kinds (rare) is parsed again when the kind changes.
pub(crate) struct Read<'a> {
    pub(crate) value: Resolved<'a>,
    typed: Typed<'a>,
}

#[derive(Clone, Copy)]
enum Typed<'a> {
    None,
    Instant(Option<Instant>),
    Version(Option<Version<'a>>),
    Address(Option<IpAddr>),
}

impl<'a> Read<'a> {
    pub(crate) fn new(value: Resolved<'a>) -> Self {
        Read {
            value,
            typed: Typed::None,
        }
    }

    /// The value as an instant (a string in RFC 3339 or a number of milliseconds).
    pub(super) fn instant(&mut self) -> Option<Instant> {
        if let Typed::Instant(t) = self.typed {
            return t;
        }
        let t = match &self.value {
            Resolved::Str(s) => Instant::parse(s),
            Resolved::Num(n) => Instant::from_millis(n),
            _ => None,
        };
        self.typed = Typed::Instant(t);
        t
    }

    /// The value as a version.
    pub(super) fn version(&mut self) -> Option<Version<'a>> {
        if let Typed::Version(v) = self.typed {
            return v;
        }
        let v = match self.value {
            Resolved::Str(s) => Version::parse(s),
            _ => None,
        };
        self.typed = Typed::Version(v);
        v
    }

    /// The value as an IP address.
    pub(super) fn address(&mut self) -> Option<IpAddr> {
        if let Typed::Address(a) = self.typed {
            return a;
        }
        let a = match self.value {
            Resolved::Str(s) => cidr::parse_address(s),
            _ => None,
        };
        self.typed = Typed::Address(a);
        a
    }
}

/// What one evaluation has read, by attribute index. The first entries live on the stack;
/// an evaluation reading more than that many attributes spills to the heap.
pub(crate) struct ReadCache<'a> {
    /// Each attribute read, by its index in the set's table, in the order read.
    reads: SmallVec<[(u32, Read<'a>); READ_INLINE]>,
    /// For the first [`DIRECT`] attribute indices, one more than the read's place in `reads`
    /// (`0`: not read yet); later indices are found by a scan of `reads`.
    direct: [u32; DIRECT],
    pub(crate) groups: UserGroups<'a>,
    /// Bytes of strings the context may still supply.
    bytes_left: usize,
    bytes_max: usize,
    /// The first value the host could not supply: the request is refused.
    pub(crate) failed: Option<RequestError>,
}

const READ_INLINE: usize = 16;

/// Attribute indices below this are found in `ReadCache::direct`; a set's conditions read few
/// distinct attributes, numbered as first met at load.
const DIRECT: usize = 32;

impl<'a> ReadCache<'a> {
    pub(crate) fn new(view: &RequestView<'a>, groups: UserGroups<'a>) -> Self {
        ReadCache {
            reads: SmallVec::new(),
            direct: [0; DIRECT],
            groups,
            bytes_left: view.string_bytes_left,
            bytes_max: view.string_bytes_max,
            failed: None,
        }
    }

    /// The read of attribute `id`, made with `resolve` the first time.
    pub(crate) fn get(
        &mut self,
        id: u32,
        resolve: impl FnOnce() -> Result<Resolved<'a>, RequestError>,
    ) -> Option<&mut Read<'a>> {
        let known = match self.direct.get(id as usize) {
            Some(&slot) => (slot as usize).checked_sub(1),
            None => self.reads.iter().position(|(k, _)| *k == id),
        };
        let i = match known {
            Some(i) => i,
            None => self.read(id, resolve),
        };
        self.reads.get_mut(i).map(|(_, read)| read)
    }

    #[cold]
    fn read(
        &mut self,
        id: u32,
        resolve: impl FnOnce() -> Result<Resolved<'a>, RequestError>,
    ) -> usize {
        let value = match resolve().and_then(|v| self.spend(&v).map(|()| v)) {
            Ok(v) => v,
            Err(e) => {
                self.failed.get_or_insert(e);
                Resolved::Missing
            }
        };
        self.reads.push((id, Read::new(value)));
        let i = self.reads.len() - 1;
        // A read index fits in `u32`: attribute indices do, and each is read once. Were it not
        // to, the attribute would be read again: its strings counted twice, never fewer.
        if let (Some(slot), Ok(one_more)) = (self.direct.get_mut(id as usize), u32::try_from(i + 1))
        {
            *slot = one_more;
        }
        i
    }

    /// Counts a context value's strings against the request's limit.
    fn spend(&mut self, value: &Resolved<'a>) -> Result<(), RequestError> {
        let bytes = match value {
            Resolved::Str(s) => s.len(),
            Resolved::List(items) => items.string_bytes()?,
            _ => return Ok(()),
        };
        self.bytes_left = self
            .bytes_left
            .checked_sub(bytes)
            .ok_or_else(|| string_limit(self.bytes_max))?;
        Ok(())
    }
}

/// Looks `name` up in a context: one key spelled exactly so, else along the dots. A value
/// found deeper than `max_depth` levels (a list's items one level below the list) is an
/// error, as it is for a whole context checked up front.
#[inline]
pub(crate) fn lookup<'a>(
    context: &'a dyn Context,
    dotted_keys: bool,
    name: &str,
    path: &[Box<str>],
    max_depth: usize,
) -> Result<Resolved<'a>, RequestError> {
    let found = if path.len() < 2 || dotted_keys {
        context.get(&[name])?.map(|v| (v, true))
    } else {
        None
    };
    let found = match found {
        Some(found) => Some(found),
        None if path.len() >= 2 => {
            // The keys as `&str`, on the stack for the usual few segments.
            let got = match path {
                [a, b] => context.get(&[a, b]),
                [a, b, c] => context.get(&[a, b, c]),
                _ => {
                    let keys: SmallVec<[&str; 8]> = path.iter().map(|k| &**k).collect();
                    context.get(&keys)
                }
            };
            got?.map(|v| (v, false))
        }
        None => None,
    };
    let Some((value, exact)) = found else {
        return Ok(Resolved::Missing);
    };
    // A list's or an object's members are one level below it.
    let depth = if exact { 1 } else { path.len() }
        + usize::from(matches!(
            value,
            ContextValue::List(_) | ContextValue::Object
        ));
    if depth > max_depth {
        let mut pointer = String::from("/context");
        let keys: &[Box<str>] = if exact { &[] } else { path };
        if exact {
            pointer.push('/');
            escape_token(name, &mut pointer);
        }
        for key in keys {
            pointer.push('/');
            escape_token(key, &mut pointer);
        }
        return Err(RequestError::new(
            pointer,
            format!("context nesting exceeds the limit of {max_depth} levels"),
        ));
    }
    Ok(Resolved::of(value))
}
