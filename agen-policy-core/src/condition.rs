//! Targeting conditions compiled at load (SPEC §2.2) and their evaluation.
//!
//! A condition's values are parsed once into the form its operator compares with (globs,
//! regexes, exact numbers, instants, versions, blocks, folded strings); evaluating one resolves
//! the attribute, drops the values the operator cannot compare and tests the rest, without
//! allocating.

use std::cmp::Ordering;
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::FxHasher;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::error::Code;
use crate::json::{brief_str, Json};
use crate::limits::Limits;
use crate::model::Operator;
use crate::ops::cidr::{self, Block};
use crate::ops::fold::{self, fold};
use crate::ops::glob::Glob;
use crate::ops::number;
use crate::ops::semver::{OwnedVersion, Version};
use crate::ops::time::Instant;

/// A condition's result, as [`explain`](crate::PolicySet::explain) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The attribute gave nothing the operator could compare, so the condition is false
    /// whatever `negate` says.
    Missing,
}

impl Outcome {
    /// `true` only for [`Outcome::True`].
    pub fn holds(self) -> bool {
        self == Outcome::True
    }

    /// `true`, `false` or `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::True => "true",
            Outcome::False => "false",
            Outcome::Missing => "missing",
        }
    }
}

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

/// What a compiled condition tests each attribute value with.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Exists,
    Equals(EqualsSet),
    Matches(Box<[Glob]>),
    Regex(Box<[Arc<regex::Regex>]>),
    StartsWith(Strings),
    EndsWith(Strings),
    Contains(Strings),
    /// `lt`/`lte` keep the largest value, `gt`/`gte` the smallest: "some value" is that one.
    Number(Ordering, bool, Number),
    Before(Instant),
    After(Instant),
    SemverEq(Box<[OwnedVersion]>),
    SemverLt(OwnedVersion),
    SemverGt(OwnedVersion),
    InCidr(Box<[Block]>),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    /// Index of its attribute in the set's table of distinct attributes.
    pub(crate) attribute: u32,
    pub(crate) test: Test,
    pub(crate) negate: bool,
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

/// Compiled regular expressions shared by every condition with the same pattern and case
/// setting (with their pool of matching caches, which a `Regex` clone would not share).
pub(crate) type RegexCache = rustc_hash::FxHashMap<(Box<str>, bool), Arc<regex::Regex>>;

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
    fn any(self, mut f: impl FnMut(Scalar<'a>) -> bool) -> bool {
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
    fn exists(self) -> bool {
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

impl CompiledCondition {
    /// Evaluates the condition on a resolved attribute.
    pub(crate) fn evaluate(&self, value: Resolved<'_>) -> Outcome {
        if let Test::Exists = self.test {
            return if value.exists() != self.negate {
                Outcome::True
            } else {
                Outcome::False
            };
        }
        let mut comparable = false;
        let matched = value.any(|s| match self.test.test(s) {
            Some(m) => {
                comparable = true;
                m
            }
            None => false,
        });
        if !comparable {
            Outcome::Missing
        } else if matched != self.negate {
            Outcome::True
        } else {
            Outcome::False
        }
    }
}

impl Test {
    /// Tests one attribute value: `None` when the operator cannot compare it (it is dropped).
    fn test(&self, s: Scalar<'_>) -> Option<bool> {
        match (self, s) {
            (Test::Exists, _) => Some(true),
            (Test::Equals(set), s) => Some(set.contains(s)),
            (Test::Matches(globs), Scalar::Str(s)) => Some(globs.iter().any(|g| g.is_match(s))),
            (Test::Regex(res), Scalar::Str(s)) => Some(res.iter().any(|r| r.is_match(s))),
            (Test::StartsWith(v), Scalar::Str(s)) => {
                Some(v.any(s, |s, p| s.starts_with(p), fold::starts_with))
            }
            (Test::EndsWith(v), Scalar::Str(s)) => {
                Some(v.any(s, |s, p| s.ends_with(p), fold::ends_with))
            }
            (Test::Contains(v), Scalar::Str(s)) => {
                Some(v.any(s, |s, p| s.contains(p), fold::contains))
            }
            (Test::Number(want, or_equal, bound), Scalar::Num(n)) => {
                let o = number::compare(n, bound);
                Some(o == *want || (*or_equal && o == Ordering::Equal))
            }
            (Test::Before(bound), s) => instant(s).map(|t| t < *bound),
            (Test::After(bound), s) => instant(s).map(|t| t > *bound),
            (Test::SemverEq(vs), Scalar::Str(s)) => Version::parse(s).map(|v| {
                vs.iter()
                    .any(|w| v.precedence(&w.as_version()) == Ordering::Equal)
            }),
            (Test::SemverLt(bound), Scalar::Str(s)) => {
                Version::parse(s).map(|v| v.precedence(&bound.as_version()) == Ordering::Less)
            }
            (Test::SemverGt(bound), Scalar::Str(s)) => {
                Version::parse(s).map(|v| v.precedence(&bound.as_version()) == Ordering::Greater)
            }
            (Test::InCidr(blocks), Scalar::Str(s)) => {
                cidr::parse_address(s).map(|a: IpAddr| blocks.iter().any(|b| b.contains(a)))
            }
            _ => None,
        }
    }
}

fn instant(s: Scalar<'_>) -> Option<Instant> {
    match s {
        Scalar::Str(s) => Instant::parse(s),
        Scalar::Num(n) => Instant::from_millis(n),
        Scalar::Bool(_) => None,
    }
}

/// String values of `starts_with`, `ends_with`, `contains`: folded at load under `ignore_case`.
#[derive(Debug, Clone)]
pub(crate) struct Strings {
    values: Box<[Box<str>]>,
    ignore_case: bool,
}

impl Strings {
    fn any(
        &self,
        s: &str,
        exact: impl Fn(&str, &str) -> bool,
        folded: impl Fn(&str, &str) -> bool,
    ) -> bool {
        if self.ignore_case {
            self.values.iter().any(|v| folded(s, v))
        } else {
            self.values.iter().any(|v| exact(s, v))
        }
    }
}

/// The values of `equals`, split by type: strings (folded under `ignore_case`, hashed when
/// there are many), numbers (sorted) and booleans.
#[derive(Debug, Clone)]
pub(crate) struct EqualsSet {
    strings: Box<[Box<str>]>,
    /// `(hash, index into strings)` sorted, when there are more than [`LINEAR_MAX`] strings.
    hashed: Box<[(u64, u32)]>,
    numbers: Box<[Number]>,
    /// Whether `false` / `true` is among the values.
    has_false: bool,
    has_true: bool,
    ignore_case: bool,
}

const LINEAR_MAX: usize = 8;

fn hash_chars(chars: impl Iterator<Item = char>) -> u64 {
    let mut h = FxHasher::default();
    for c in chars {
        h.write_u32(u32::from(c));
    }
    h.finish()
}

impl EqualsSet {
    fn contains(&self, s: Scalar<'_>) -> bool {
        match s {
            Scalar::Bool(b) => {
                if b {
                    self.has_true
                } else {
                    self.has_false
                }
            }
            Scalar::Num(n) => self
                .numbers
                .binary_search_by(|probe| number::compare(probe, n))
                .is_ok(),
            Scalar::Str(s) => {
                let eq = |v: &str| {
                    if self.ignore_case {
                        fold::eq(s, v)
                    } else {
                        s == v
                    }
                };
                if self.hashed.is_empty() {
                    return self.strings.iter().any(|v| eq(v));
                }
                let h = if self.ignore_case {
                    hash_chars(s.chars().map(fold))
                } else {
                    hash_chars(s.chars())
                };
                let start = self.hashed.partition_point(|(k, _)| *k < h);
                self.hashed
                    .get(start..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|(k, _)| *k == h)
                    .any(|(_, i)| self.strings.get(*i as usize).is_some_and(|v| eq(v)))
            }
        }
    }
}

/// Where in a condition a compile error points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    Values,
    Value(usize),
}

/// A compile error of a condition's values.
#[derive(Debug)]
pub(crate) struct CompileError {
    pub(crate) at: At,
    pub(crate) code: Code,
    pub(crate) message: String,
}

fn err(at: At, message: String) -> CompileError {
    CompileError {
        at,
        code: Code::InvalidCondition,
        message,
    }
}

/// Compiles the values of a condition whose operator, `ignore_case` and value count are valid.
pub(crate) fn compile(
    op: Operator,
    values: &[Json<'_>],
    ignore_case: bool,
    limits: &Limits,
    regexes: &mut RegexCache,
) -> Result<Test, Vec<CompileError>> {
    let mut errors = Vec::new();
    let test = compile_values(op, values, ignore_case, limits, regexes, &mut errors);
    match test {
        Some(test) if errors.is_empty() => Ok(test),
        _ if errors.is_empty() => Err(vec![err(
            At::Values,
            format!("`{op}` needs at least one value"),
        )]),
        _ => Err(errors),
    }
}

fn compile_values(
    op: Operator,
    values: &[Json<'_>],
    ignore_case: bool,
    limits: &Limits,
    regexes: &mut RegexCache,
    errors: &mut Vec<CompileError>,
) -> Option<Test> {
    Some(match op {
        Operator::Exists => Test::Exists,
        Operator::Equals => {
            let mut strings = Vec::new();
            let mut numbers = Vec::new();
            let (mut has_false, mut has_true) = (false, false);
            for (i, v) in values.iter().enumerate() {
                match v {
                    Json::String(s) if ignore_case => {
                        strings.push(fold::fold_str(s).into_boxed_str())
                    }
                    Json::String(s) => strings.push(Box::from(&**s)),
                    Json::Number(n) => numbers.push(n.clone()),
                    Json::Bool(true) => has_true = true,
                    Json::Bool(false) => has_false = true,
                    other => errors.push(err(
                        At::Value(i),
                        format!(
                            "`equals` compares strings, numbers and booleans, not {}",
                            other.kind()
                        ),
                    )),
                }
            }
            numbers.sort_by(number::compare);
            let hashed = if strings.len() > LINEAR_MAX {
                let mut h: Vec<(u64, u32)> = strings
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (hash_chars(s.chars()), u32::try_from(i).unwrap_or(u32::MAX)))
                    .collect();
                h.sort_unstable();
                h.into_boxed_slice()
            } else {
                Box::default()
            };
            Test::Equals(EqualsSet {
                strings: strings.into_boxed_slice(),
                hashed,
                numbers: numbers.into_boxed_slice(),
                has_false,
                has_true,
                ignore_case,
            })
        }
        Operator::Matches => {
            let globs = each_string(op, values, errors, |i, s| {
                if s.len() > limits.max_pattern_bytes {
                    return Err(too_long(i, s, limits));
                }
                Glob::new(s, ignore_case).map_err(|_| {
                    err(
                        At::Value(i),
                        format!("pattern {} ends with a lone `\\`", brief_str(s)),
                    )
                })
            });
            Test::Matches(globs.into_boxed_slice())
        }
        Operator::Regex => {
            let res = each_string(op, values, errors, |i, s| {
                if s.len() > limits.max_pattern_bytes {
                    return Err(too_long(i, s, limits));
                }
                if let Some(re) = regexes.get(&(Box::from(s), ignore_case)) {
                    return Ok(Arc::clone(re));
                }
                let compiled = regex::RegexBuilder::new(s)
                    .case_insensitive(ignore_case)
                    .size_limit(limits.max_regex_compiled_bytes)
                    .build()
                    .map_err(|e| match e {
                        regex::Error::CompiledTooBig(n) => CompileError {
                            at: At::Value(i),
                            code: Code::LimitExceeded,
                            message: format!(
                                "regular expression {} compiles to more than {n} bytes",
                                brief_str(s)
                            ),
                        },
                        other => err(
                            At::Value(i),
                            format!(
                                "invalid regular expression {}: {}",
                                brief_str(s),
                                other
                                    .to_string()
                                    .lines()
                                    .last()
                                    .unwrap_or("syntax error")
                                    .trim()
                            ),
                        ),
                    })?;
                let compiled = Arc::new(compiled);
                regexes.insert((Box::from(s), ignore_case), Arc::clone(&compiled));
                Ok(compiled)
            });
            Test::Regex(res.into_boxed_slice())
        }
        Operator::StartsWith | Operator::EndsWith | Operator::Contains => {
            let strings = each_string(op, values, errors, |_, s| {
                Ok(if ignore_case {
                    fold::fold_str(s).into_boxed_str()
                } else {
                    s.into()
                })
            });
            let strings = Strings {
                values: strings.into_boxed_slice(),
                ignore_case,
            };
            match op {
                Operator::StartsWith => Test::StartsWith(strings),
                Operator::EndsWith => Test::EndsWith(strings),
                _ => Test::Contains(strings),
            }
        }
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => {
            let mut numbers = Vec::new();
            for (i, v) in values.iter().enumerate() {
                match v {
                    Json::Number(n) => numbers.push(n.clone()),
                    other => errors.push(err(
                        At::Value(i),
                        format!("`{op}` compares numbers, not {}", other.brief()),
                    )),
                }
            }
            let (want, or_equal) = match op {
                Operator::Lt => (Ordering::Less, false),
                Operator::Lte => (Ordering::Less, true),
                Operator::Gt => (Ordering::Greater, false),
                _ => (Ordering::Greater, true),
            };
            // "some value": below the largest bound, or above the smallest.
            let bound = if want == Ordering::Less {
                numbers.into_iter().max_by(number::compare)
            } else {
                numbers.into_iter().min_by(number::compare)
            };
            bound.map(|b| Test::Number(want, or_equal, b))?
        }
        Operator::Before | Operator::After => {
            let mut instants = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let t = match v {
                    Json::String(s) => Instant::parse(s),
                    Json::Number(n) => Instant::from_millis(n),
                    _ => None,
                };
                match t {
                    Some(t) => instants.push(t),
                    None => errors.push(err(
                        At::Value(i),
                        format!(
                            "{} is not a timestamp (an RFC 3339 date-time with time and offset, or integer Unix milliseconds)",
                            v.brief()
                        ),
                    )),
                }
            }
            if op == Operator::Before {
                Test::Before(instants.into_iter().max()?)
            } else {
                Test::After(instants.into_iter().min()?)
            }
        }
        Operator::SemverEq | Operator::SemverLt | Operator::SemverGt => {
            let versions = each_string(op, values, errors, |i, s| {
                Version::parse(s)
                    .map(Version::to_owned_version)
                    .ok_or_else(|| {
                        err(
                            At::Value(i),
                            format!(
                                "{} is not a version: expected MAJOR[.MINOR[.PATCH]] of \
                                 decimal numbers without leading zeros, then an optional \
                                 -pre-release and +build (no leading `v`)",
                                brief_str(s)
                            ),
                        )
                    })
            });
            // "some value": below the highest version, or above the lowest.
            let pick = |want: Ordering| {
                versions.iter().cloned().reduce(|a, b| {
                    if b.as_version().precedence(&a.as_version()) == want {
                        b
                    } else {
                        a
                    }
                })
            };
            match op {
                Operator::SemverLt => Test::SemverLt(pick(Ordering::Greater)?),
                Operator::SemverGt => Test::SemverGt(pick(Ordering::Less)?),
                _ => Test::SemverEq(versions.into_boxed_slice()),
            }
        }
        Operator::InCidr => {
            let blocks = each_string(op, values, errors, |i, s| {
                Block::parse(s).ok_or_else(|| {
                    err(
                        At::Value(i),
                        format!("{} is not a CIDR block or IP address", brief_str(s)),
                    )
                })
            });
            Test::InCidr(blocks.into_boxed_slice())
        }
    })
}

fn too_long(i: usize, s: &str, limits: &Limits) -> CompileError {
    CompileError {
        at: At::Value(i),
        code: Code::LimitExceeded,
        message: format!(
            "pattern {} is {} bytes long, more than the limit of {}",
            brief_str(s),
            s.len(),
            limits.max_pattern_bytes
        ),
    }
}

/// Applies `f` to each value that is a string, reporting the others.
fn each_string<T>(
    op: Operator,
    values: &[Json<'_>],
    errors: &mut Vec<CompileError>,
    mut f: impl FnMut(usize, &str) -> Result<T, CompileError>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        match v {
            Json::String(s) => match f(i, s) {
                Ok(t) => out.push(t),
                Err(e) => errors.push(e),
            },
            other => errors.push(err(
                At::Value(i),
                format!("`{op}` needs strings, not {}", other.brief()),
            )),
        }
    }
    out
}
