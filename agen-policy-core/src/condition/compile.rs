//! Compiling a condition's values into the test its operator runs: parsed once at load, with
//! every problem reported at its value; regexes and literal automata shared across the document.

use std::cmp::Ordering;
use std::sync::Arc;

use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;

use super::shape::{self, Shape};
use super::{EqualsSet, Pattern, Test};
use crate::error::Code;
use crate::json::{brief_str, Json};
use crate::limits::Limits;
use crate::model::Operator;
use crate::ops::cidr::Block;
use crate::ops::glob::{GlobSet, SetError};
use crate::ops::literal::{Anchor, AutomatonCache, Exact, Literals};
use crate::ops::number;
use crate::ops::semver::Version;
use crate::ops::time::Instant;

/// What the conditions of one document share while it loads: compiled regular expressions,
/// one per pattern and case setting (with their pool of matching caches, which a `Regex` clone
/// would not share), the compiled bytes they have drawn from
/// [`Limits::max_regex_total_bytes`], and the automata of literal values.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    regexes: rustc_hash::FxHashMap<(Box<str>, bool), Arc<meta::Regex>>,
    regex_bytes: usize,
    literals: AutomatonCache,
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
    shared: &mut Shared,
) -> Result<Test, Vec<CompileError>> {
    let mut errors = Vec::new();
    let test = compile_values(op, values, ignore_case, limits, shared, &mut errors);
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
    shared: &mut Shared,
    errors: &mut Vec<CompileError>,
) -> Option<Test> {
    Some(match op {
        Operator::Exists => Test::Exists,
        Operator::Equals => {
            let mut strings: Vec<&str> = Vec::new();
            let mut numbers = Vec::new();
            let (mut has_false, mut has_true) = (false, false);
            for (i, v) in values.iter().enumerate() {
                match v {
                    Json::String(s) => strings.push(s),
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
            Test::Equals(EqualsSet {
                strings: Exact::new(strings, ignore_case),
                numbers: numbers.into_boxed_slice(),
                has_false,
                has_true,
            })
        }
        Operator::Matches => {
            let patterns = each_string(op, values, errors, |i, s| {
                if s.len() > limits.max_pattern_bytes {
                    return Err(too_long(i, s, limits));
                }
                Ok((i, s))
            });
            match GlobSet::new(patterns.iter().copied(), ignore_case, &mut shared.literals) {
                Ok(set) => Test::Matches(Box::new(set)),
                Err(SetError::Invalid(bad)) => {
                    for (i, _) in bad {
                        let pattern = patterns.iter().find(|(j, _)| *j == i).map_or("", |p| p.1);
                        errors.push(err(
                            At::Value(i),
                            format!("pattern {} ends with a lone `\\`", brief_str(pattern)),
                        ));
                    }
                    return None;
                }
                Err(SetError::TooLarge) => {
                    errors.push(too_large());
                    return None;
                }
            }
        }
        Operator::Regex => {
            let res = each_string(op, values, errors, |i, s| {
                if s.len() > limits.max_pattern_bytes {
                    return Err(too_long(i, s, limits));
                }
                // Compiled whatever its shape: the checks and the budget are the same for
                // every pattern.
                let re = shared
                    .regex(s, ignore_case, limits)
                    .map_err(|(code, message)| CompileError {
                        at: At::Value(i),
                        code,
                        message,
                    })?;
                Ok(shared.pattern(s, ignore_case, re))
            });
            Test::Regex(res.into_boxed_slice())
        }
        Operator::StartsWith | Operator::EndsWith | Operator::Contains => {
            let strings = each_string(op, values, errors, |_, s| Ok(s));
            let anchor = match op {
                Operator::StartsWith => Anchor::Start,
                Operator::EndsWith => Anchor::End,
                _ => Anchor::Anywhere,
            };
            let Ok(literals) = Literals::new(anchor, strings, ignore_case, &mut shared.literals)
            else {
                errors.push(too_large());
                return None;
            };
            match anchor {
                Anchor::Start => Test::StartsWith(literals),
                Anchor::End => Test::EndsWith(literals),
                Anchor::Anywhere => Test::Contains(literals),
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

fn too_large() -> CompileError {
    CompileError {
        at: At::Values,
        code: Code::LimitExceeded,
        message: "the values are too many or too long to compile into one automaton".to_owned(),
    }
}

impl Shared {
    /// How a compiled pattern is tested: as its literals when it has a literal shape, else by
    /// the regex.
    fn pattern(&mut self, pattern: &str, ignore_case: bool, re: Arc<meta::Regex>) -> Pattern {
        let Some((shape, values)) = shape::literal_shape(pattern, ignore_case) else {
            return Pattern::Search(re);
        };
        let values = values.iter().map(String::as_str);
        let anchor = match shape {
            Shape::Whole => return Pattern::Whole(Exact::new(values, false)),
            Shape::Start => Anchor::Start,
            Shape::End => Anchor::End,
            Shape::Anywhere => Anchor::Anywhere,
        };
        match Literals::new(anchor, values, false, &mut self.literals) {
            Ok(literals) => Pattern::Literal(literals),
            Err(_) => Pattern::Search(re),
        }
    }

    /// The compiled regular expression of `pattern`, or why it is refused (a code and a
    /// message). A pattern compiles at most once per document; its compiled size, or the size
    /// it was allowed when it is refused as too large, is drawn from
    /// [`Limits::max_regex_total_bytes`], so that the time spent compiling a document's
    /// regular expressions is bounded whatever their number.
    fn regex(
        &mut self,
        pattern: &str,
        ignore_case: bool,
        limits: &Limits,
    ) -> Result<Arc<meta::Regex>, (Code, String)> {
        let key = (Box::from(pattern), ignore_case);
        if let Some(re) = self.regexes.get(&key) {
            return Ok(Arc::clone(re));
        }
        let total = limits.max_regex_total_bytes;
        let left = total.saturating_sub(self.regex_bytes);
        let over_total = || {
            (
                Code::LimitExceeded,
                format!(
                    "regular expression {} is not compiled: the document's regular expressions \
                     would take more than {total} bytes in all",
                    brief_str(pattern)
                ),
            )
        };
        if left == 0 {
            return Err(over_total());
        }
        let limit = limits.max_regex_compiled_bytes.min(left);
        let built = meta::Builder::new()
            .configure(
                meta::Config::new()
                    .utf8_empty(true)
                    // Evaluation asks only whether there is a match: no capture groups.
                    .which_captures(WhichCaptures::None)
                    .nfa_size_limit(Some(limit))
                    // The `regex` crate's default for its lazy DFA's cache.
                    .hybrid_cache_capacity(2 * (1 << 20)),
            )
            .syntax(
                syntax::Config::new()
                    .case_insensitive(ignore_case)
                    .utf8(true),
            )
            .build(pattern);
        match built {
            Ok(re) => {
                self.regex_bytes = self.regex_bytes.saturating_add(re.memory_usage());
                if self.regex_bytes > total {
                    return Err(over_total());
                }
                let re = Arc::new(re);
                self.regexes.insert(key, Arc::clone(&re));
                Ok(re)
            }
            Err(e) if e.size_limit().is_some() => {
                self.regex_bytes = self.regex_bytes.saturating_add(limit);
                if limit < limits.max_regex_compiled_bytes {
                    return Err(over_total());
                }
                let hint = if has_unicode_class(pattern) {
                    "; Unicode classes such as `\\w` are large: `(?-u:\\w)` or `[A-Za-z0-9_]` \
                     is much smaller"
                } else {
                    ""
                };
                Err((
                    Code::LimitExceeded,
                    format!(
                        "regular expression {} compiles to more than {limit} bytes{hint}",
                        brief_str(pattern)
                    ),
                ))
            }
            Err(e) => {
                let detail = match e.syntax_error() {
                    Some(syntax) => syntax.to_string(),
                    None => e.to_string(),
                };
                Err((
                    Code::InvalidCondition,
                    format!(
                        "invalid regular expression {}: {}",
                        brief_str(pattern),
                        detail.lines().last().unwrap_or("syntax error").trim()
                    ),
                ))
            }
        }
    }
}

/// Whether a pattern names a Perl or Unicode class (`\w`, `\d`, `\s`, `\b`, `\p{..}` and
/// their negations), large in Unicode mode.
fn has_unicode_class(pattern: &str) -> bool {
    pattern.split('\\').skip(1).any(|after| {
        after
            .chars()
            .next()
            .is_some_and(|c| "wWdDsSbBpP".contains(c))
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
fn each_string<'v, T>(
    op: Operator,
    values: &'v [Json<'_>],
    errors: &mut Vec<CompileError>,
    mut f: impl FnMut(usize, &'v str) -> Result<T, CompileError>,
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
