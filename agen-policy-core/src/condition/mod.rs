//! Targeting conditions compiled at load (SPEC §2.2) and their evaluation.
//!
//! A condition's values are parsed once into the form its operator compares with (globs,
//! regexes, exact numbers, instants, versions, blocks, folded strings); evaluating one resolves
//! the attribute, drops the values the operator cannot compare and tests the rest, without
//! allocating. `resolve` finds an attribute's value in a request, `compile` turns values into
//! tests; this file holds the outcome and the comparison kernel.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::Arc;

use regex_automata::meta;
use serde::Serialize;
use serde_json::Number;

use crate::ops::cidr::{self, Block};
use crate::ops::glob::GlobSet;
use crate::ops::literal::{Exact, Literals};
use crate::ops::number;
use crate::ops::semver::{OwnedVersion, Version};
use crate::ops::time::Instant;

mod compile;
mod resolve;
mod shape;

pub(crate) use crate::context::Scalar;
pub(crate) use compile::{compile, At, Shared};
pub(crate) use resolve::{lookup, Attribute, Read, ReadCache, Resolved, UserGroups};

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

/// What a compiled condition tests each attribute value with.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Exists,
    Equals(EqualsSet),
    Matches(Box<GlobSet>),
    Regex(Box<[Pattern]>),
    StartsWith(Literals),
    EndsWith(Literals),
    Contains(Literals),
    /// `lt`/`lte` keep the largest value, `gt`/`gte` the smallest: "some value" is that one.
    Number(Ordering, bool, Number),
    Before(Instant),
    After(Instant),
    SemverEq(Box<[OwnedVersion]>),
    SemverLt(OwnedVersion),
    SemverGt(OwnedVersion),
    InCidr(Box<[Block]>),
}

/// One pattern of `regex`, as it is tested.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// A search by the compiled regex.
    Search(Arc<meta::Regex>),
    /// A pattern of literals at a start, an end or anywhere (`shape.rs`).
    Literal(Literals),
    /// A pattern of whole literals (`^(a|b)$`).
    Whole(Exact),
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Search(re) => re.is_match(s),
            Pattern::Literal(literals) => literals.is_match(s),
            Pattern::Whole(exact) => exact.contains(s),
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    /// Index of its attribute in the set's table of distinct attributes.
    pub(crate) attribute: u32,
    pub(crate) test: Test,
    pub(crate) negate: bool,
    /// Its index among its rule's conditions in the document; a compiled rule keeps its
    /// conditions cheapest first ([`CompiledCondition::cost`]).
    pub(crate) position: u32,
}

impl CompiledCondition {
    /// A rough rank of what evaluating the condition costs: comparing a number costs less
    /// than parsing an instant, a version or an address, and that less than a pattern or a
    /// regular expression.
    pub(crate) fn cost(&self) -> u8 {
        match &self.test {
            Test::Exists => 0,
            Test::Number(..) => 1,
            Test::Equals(_) => 2,
            Test::StartsWith(_) | Test::EndsWith(_) => 3,
            Test::Contains(_) => 4,
            Test::Before(_) | Test::After(_) | Test::InCidr(_) => 5,
            Test::SemverEq(_) | Test::SemverLt(_) | Test::SemverGt(_) => 6,
            Test::Matches(_) => 6,
            // A regex of literals costs what the literal test does.
            Test::Regex(patterns) if patterns.iter().all(|p| !matches!(p, Pattern::Search(_))) => 4,
            Test::Regex(_) => 8,
        }
    }

    /// Evaluates the condition on an attribute's read, parsing the value into the form the
    /// operator compares at most once per read.
    pub(crate) fn evaluate(&self, read: &mut Read<'_>, groups: &UserGroups<'_>) -> Outcome {
        let result = match (&self.test, &read.value) {
            // The common cases first: one scalar of the type the operator compares, tested in
            // place.
            (
                Test::StartsWith(literals) | Test::EndsWith(literals) | Test::Contains(literals),
                Resolved::Str(s),
            ) => Some(literals.is_match(s)),
            (Test::Equals(set), Resolved::Str(s)) => Some(set.strings.contains(s)),
            (Test::Number(want, or_equal, bound), Resolved::Num(n)) => {
                let o = number::compare(n, bound);
                Some(o == *want || (*or_equal && o == Ordering::Equal))
            }
            (Test::Matches(globs), Resolved::Str(s)) => Some(globs.is_match(s)),
            (Test::Regex(patterns), Resolved::Str(s)) => {
                Some(patterns.iter().any(|p| p.is_match(s)))
            }
            (Test::Exists, value) => Some(value.exists()),
            // Parsed once per read into the form compared.
            (Test::Before(bound), Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.instant().map(|t| t < *bound)
            }
            (Test::After(bound), Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.instant().map(|t| t > *bound)
            }
            (Test::SemverEq(vs), Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.version().map(|v| {
                    vs.iter()
                        .any(|w| v.precedence(&w.as_version()) == Ordering::Equal)
                })
            }
            (Test::SemverLt(bound), Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.version()
                    .map(|v| v.precedence(&bound.as_version()) == Ordering::Less)
            }
            (Test::SemverGt(bound), Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.version()
                    .map(|v| v.precedence(&bound.as_version()) == Ordering::Greater)
            }
            (Test::InCidr(blocks), Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.address().map(|a| blocks.iter().any(|b| b.contains(a)))
            }
            // A scalar of another type: what the operator makes of it.
            (test, Resolved::Str(_) | Resolved::Num(_) | Resolved::Bool(_)) => {
                read.value.scalar().and_then(|s| test.test(s))
            }
            (test, value) => {
                let mut comparable = false;
                let matched = value.any(groups, |s| match test.test(s) {
                    Some(m) => {
                        comparable = true;
                        m
                    }
                    None => false,
                });
                comparable.then_some(matched)
            }
        };
        match result {
            None => Outcome::Missing,
            Some(matched) if matched != self.negate => Outcome::True,
            Some(_) => Outcome::False,
        }
    }
}

impl Test {
    /// Tests one attribute value: `None` when the operator cannot compare it (it is dropped).
    #[inline]
    pub(crate) fn test(&self, s: Scalar<'_>) -> Option<bool> {
        match (self, s) {
            (Test::Exists, _) => Some(true),
            (Test::Equals(set), s) => Some(set.contains(s)),
            (Test::Matches(globs), Scalar::Str(s)) => Some(globs.is_match(s)),
            (Test::Regex(patterns), Scalar::Str(s)) => Some(patterns.iter().any(|p| p.is_match(s))),
            (
                Test::StartsWith(literals) | Test::EndsWith(literals) | Test::Contains(literals),
                Scalar::Str(s),
            ) => Some(literals.is_match(s)),
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

/// The values of `equals`, split by type: strings (folded under `ignore_case`, hashed when
/// there are many), numbers (sorted) and booleans.
#[derive(Debug, Clone)]
pub(crate) struct EqualsSet {
    strings: Exact,
    numbers: Box<[Number]>,
    /// Whether `false` / `true` is among the values.
    has_false: bool,
    has_true: bool,
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
            Scalar::Str(s) => self.strings.contains(s),
        }
    }
}

/// A compiled rule's conditions (kept cheapest first) beside the document's, in document order.
pub(crate) fn in_document_order<'a>(
    rule: &'a [CompiledCondition],
    model: &'a crate::model::Rule,
) -> impl Iterator<Item = (&'a CompiledCondition, &'a crate::model::Condition)> {
    let mut pairs: Vec<_> = rule
        .iter()
        .filter_map(|c| Some((c, model.conditions.get(c.position as usize)?)))
        .collect();
    pairs.sort_by_key(|(c, _)| c.position);
    pairs.into_iter()
}
