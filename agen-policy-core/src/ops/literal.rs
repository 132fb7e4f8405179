//! Many literal strings tested against one input at once: equal to, a prefix of, a suffix of or
//! contained in it, case-sensitive or under Unicode simple case folding.
//!
//! Up to [`FEW`] values are tested one by one, each in time linear in the input. Beyond, a test
//! reads its input once whatever the number and the length of the values, without allocating:
//!
//! - substrings: one Aho–Corasick automaton over the values, built at load in O(Σ|values|),
//!   run in O(|input|) (also for a single folded value, which the standard library cannot
//!   search for in linear time);
//! - prefixes and suffixes: the values sorted (suffixes by their reversed bytes); reading the
//!   input from its start (or end) narrows, byte by byte, the range of values that agree with
//!   what has been read, two binary searches a byte, until a value ends there or none is left:
//!   O(min(|input|, longest value) · log |values|), and nothing beyond the sorted values kept.
//!
//! Under `ignore_case` the values are folded at load and the input is folded one character at
//! a time as it is read, never into a buffer.

use std::hash::Hasher;
use std::sync::Arc;

use aho_corasick::automaton::Automaton as _;
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, Input, MatchKind};
use rustc_hash::{FxHashMap, FxHasher};

use super::bytes::{contains, same};
use super::fold::{self, fold};

/// Up to this many values are tested one by one (each in time linear in the input, so at most
/// `FEW` times the input in all); beyond it, all at once.
pub(crate) const FEW: usize = 8;

/// Where a value must occur in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Anchor {
    /// At its start (`starts_with`).
    Start,
    /// At its end (`ends_with`).
    End,
    /// Anywhere (`contains`).
    Anywhere,
}

/// Values of `starts_with`, `ends_with` or `contains` (and the literal shapes of `matches`).
#[derive(Debug, Clone)]
pub(crate) struct Literals {
    anchor: Anchor,
    ignore_case: bool,
    /// An empty value is a prefix, a suffix and a substring of every string.
    empty: bool,
    search: Search,
}

#[derive(Debug, Clone)]
enum Search {
    /// No non-empty value.
    Nothing,
    /// Non-empty values (folded under `ignore_case`), tested one by one.
    Each(Box<[Box<str>]>),
    /// Prefixes or suffixes: the non-empty values' bytes (folded under `ignore_case`; for
    /// [`Anchor::End`], reversed), sorted.
    Sorted(Box<[Box<[u8]>]>),
    /// Substrings: one automaton over the non-empty values (folded under `ignore_case`),
    /// shared by every condition with the same values.
    Automaton(Arc<contiguous::NFA>),
}

/// Why a set of values does not compile: the automaton would exceed the crate's own bounds
/// (about 2^31 states, far beyond what a document within the default limits can hold).
#[derive(Debug)]
pub(crate) struct TooLarge;

/// Automata built during one load, by case setting and values: a blocklist repeated in many
/// policies is compiled once.
#[derive(Debug, Default)]
pub(crate) struct AutomatonCache {
    built: FxHashMap<CacheKey, Arc<contiguous::NFA>>,
}

/// An automaton's case setting and values (folded under `ignore_case`).
type CacheKey = (bool, Box<[Box<str>]>);

impl Literals {
    /// Compiles `values` (as written in the document); folds them under `ignore_case`.
    pub(crate) fn new<'v>(
        anchor: Anchor,
        values: impl IntoIterator<Item = &'v str>,
        ignore_case: bool,
        cache: &mut AutomatonCache,
    ) -> Result<Literals, TooLarge> {
        let mut empty = false;
        let mut kept: Vec<Box<str>> = Vec::new();
        for v in values {
            if v.is_empty() {
                empty = true;
            } else if ignore_case {
                kept.push(fold::fold_str(v).into_boxed_str());
            } else {
                kept.push(v.into());
            }
        }
        let search = if kept.is_empty() || empty {
            // With an empty value, `is_match` never looks further.
            Search::Nothing
        } else if kept.len() <= FEW && !(ignore_case && anchor == Anchor::Anywhere) {
            Search::Each(kept.into_boxed_slice())
        } else if anchor == Anchor::Anywhere {
            let key = (ignore_case, kept.into_boxed_slice());
            match cache.built.get(&key) {
                Some(nfa) => Search::Automaton(Arc::clone(nfa)),
                None => {
                    let nfa = Arc::new(build(ignore_case, &key.1)?);
                    cache.built.insert(key, Arc::clone(&nfa));
                    Search::Automaton(nfa)
                }
            }
        } else {
            let mut sorted: Vec<Box<[u8]>> = kept
                .iter()
                .map(|v| {
                    if anchor == Anchor::End {
                        v.bytes().rev().collect()
                    } else {
                        v.as_bytes().into()
                    }
                })
                .collect();
            sorted.sort_unstable();
            sorted.dedup();
            Search::Sorted(sorted.into_boxed_slice())
        };
        Ok(Literals {
            anchor,
            ignore_case,
            empty,
            search,
        })
    }

    /// Whether some value occurs in `s` where the anchor says (see the module's docs for the
    /// cost).
    pub(crate) fn is_match(&self, s: &str) -> bool {
        if self.empty {
            return true;
        }
        let ic = self.ignore_case;
        match &self.search {
            Search::Nothing => false,
            Search::Each(values) => values.iter().any(|v| match self.anchor {
                Anchor::Start if ic => fold::starts_with(s, v),
                Anchor::Start => s
                    .as_bytes()
                    .get(..v.len())
                    .is_some_and(|p| same(p, v.as_bytes())),
                Anchor::End if ic => fold::ends_with(s, v),
                Anchor::End => s
                    .len()
                    .checked_sub(v.len())
                    .and_then(|at| s.as_bytes().get(at..))
                    .is_some_and(|p| same(p, v.as_bytes())),
                // Never built folded (see `new`); linear (`bytes::contains`).
                Anchor::Anywhere => contains(s, v),
            }),
            Search::Sorted(values) => match (self.anchor, ic) {
                (Anchor::End, false) => starts_some(values, s.bytes().rev()),
                (Anchor::End, true) => {
                    starts_some(values, s.chars().rev().flat_map(|c| utf8(fold(c)).rev()))
                }
                (_, false) => starts_some(values, s.bytes()),
                (_, true) => starts_some(values, s.chars().flat_map(|c| utf8(fold(c)))),
            },
            Search::Automaton(nfa) => {
                if ic {
                    walk_folded(nfa, s)
                } else {
                    // INVARIANT: built for unanchored searches, so the search cannot fail.
                    nfa.try_find(&Input::new(s).earliest(true))
                        .is_ok_and(|m| m.is_some())
                }
            }
        }
    }
}

fn build(ignore_case: bool, values: &[Box<str>]) -> Result<contiguous::NFA, TooLarge> {
    contiguous::NFA::builder()
        .match_kind(MatchKind::Standard)
        // The literal prefilter serves the search that reads the input as it is.
        .prefilter(!ignore_case)
        .build(values.iter().map(|v| v.as_bytes()))
        .map_err(|_| TooLarge)
}

/// Whether one of `sorted` (non-empty byte strings, sorted) is a prefix of `bytes`.
///
/// INVARIANT: `range` holds exactly the values that agree with the `read` bytes read so far;
/// among them one of length `read` (equal to what was read) sorts first.
fn starts_some(sorted: &[Box<[u8]>], bytes: impl Iterator<Item = u8>) -> bool {
    let mut range = sorted;
    let mut read = 0;
    for b in bytes {
        // Values shorter than `read + 1` bytes sort first: `None < Some(_)`.
        let below = range.partition_point(|v| v.get(read) < Some(&b));
        let upto = range.partition_point(|v| v.get(read) <= Some(&b));
        range = range.get(below..upto).unwrap_or_default();
        read += 1;
        match range.first() {
            None => return false,
            Some(v) if v.len() == read => return true,
            Some(_) => {}
        }
    }
    false
}

/// The UTF-8 bytes of `c`, on the stack.
fn utf8(c: char) -> std::iter::Take<std::array::IntoIter<u8, 4>> {
    let mut buf = [0u8; 4];
    let len = c.encode_utf8(&mut buf).len();
    buf.into_iter().take(len)
}

/// Runs the automaton over the UTF-8 bytes of `s` folded (each character folded and encoded
/// on the stack as it is read) until some value has ended. Each byte is one transition, in
/// amortized constant time: O(|s|).
fn walk_folded(nfa: &contiguous::NFA, s: &str) -> bool {
    let Ok(mut sid) = nfa.start_state(Anchored::No) else {
        return false;
    };
    let mut feed = |byte: u8| {
        sid = nfa.next_state(Anchored::No, sid, byte);
        // An unanchored search has no dead state: only a match stops it.
        nfa.is_special(sid) && nfa.is_match(sid)
    };
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let c = fold(c);
        if c.is_ascii() {
            if feed(c as u8) {
                return true;
            }
        } else if c.encode_utf8(&mut buf).bytes().any(&mut feed) {
            return true;
        }
    }
    false
}

/// Strings compared for equality (`equals` and the star-less literal globs): folded under
/// `ignore_case`, hashed when there are more than [`FEW`], so that a test hashes its input once
/// and compares it with the few values of the same hash.
#[derive(Debug, Clone, Default)]
pub(crate) struct Exact {
    strings: Box<[Box<str>]>,
    /// `(hash, index into strings)` sorted, when there are more than [`FEW`] strings.
    hashed: Box<[(u64, u32)]>,
    ignore_case: bool,
}

fn hash_chars(chars: impl Iterator<Item = char>) -> u64 {
    let mut h = FxHasher::default();
    for c in chars {
        h.write_u32(u32::from(c));
    }
    h.finish()
}

impl Exact {
    /// `strings` as written in the document; folded here under `ignore_case`.
    pub(crate) fn new<'v>(strings: impl IntoIterator<Item = &'v str>, ignore_case: bool) -> Exact {
        let strings: Box<[Box<str>]> = strings
            .into_iter()
            .map(|s| {
                if ignore_case {
                    fold::fold_str(s).into_boxed_str()
                } else {
                    s.into()
                }
            })
            .collect();
        let hashed = if strings.len() > FEW {
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
        Exact {
            strings,
            hashed,
            ignore_case,
        }
    }

    /// Whether `s` equals some string.
    pub(crate) fn contains(&self, s: &str) -> bool {
        let eq = |v: &str| {
            if self.ignore_case {
                fold::eq(s, v)
            } else {
                same(s.as_bytes(), v.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn set(anchor: Anchor, values: &[&str], ic: bool) -> Literals {
        let mut cache = AutomatonCache::default();
        Literals::new(anchor, values.iter().copied(), ic, &mut cache).expect("small sets compile")
    }

    /// The same values, tested one by one and through the automaton (padded past `FEW` with
    /// values that cannot occur), agree with a plain definition on every input.
    fn check(anchor: Anchor, values: &[&str], ic: bool, inputs: &[&str]) {
        let padding: Vec<String> = (0..FEW).map(|i| format!("\u{E000}{i}\u{E000}")).collect();
        let mut padded: Vec<&str> = values.to_vec();
        padded.extend(padding.iter().map(String::as_str));
        let one_by_one = set(anchor, values, ic);
        let automaton = set(anchor, &padded, ic);
        for s in inputs {
            let want = values.iter().any(|v| {
                let (s, v) = if ic {
                    (fold::fold_str(s), fold::fold_str(v))
                } else {
                    ((*s).to_owned(), (*v).to_owned())
                };
                match anchor {
                    Anchor::Start => s.starts_with(&v),
                    Anchor::End => s.ends_with(&v),
                    Anchor::Anywhere => s.contains(&v),
                }
            });
            if !(ic && anchor == Anchor::Anywhere) {
                assert_eq!(
                    one_by_one.is_match(s),
                    want,
                    "{anchor:?} {values:?} ic={ic} on {s:?}"
                );
            }
            assert_eq!(
                automaton.is_match(s),
                want,
                "{anchor:?} {values:?}+padding ic={ic} on {s:?}"
            );
        }
    }

    const INPUTS: &[&str] = &[
        "",
        "a",
        "Hello World",
        "hello world",
        "HELLO WORLD",
        "xxhelloxx",
        "straße",
        "STRASSE",
        "ẞ",
        "ß",
        "ſ",
        "S",
        "s",
        "\u{212A}elvin",
        "kelvin",
        "KELVIN",
        "ΣΑΣ σας",
        "ı i İ I",
        "ǅ ǆ Ǆ",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        "éÉ",
    ];

    #[test]
    fn agrees_with_the_definition() {
        let value_sets: &[&[&str]] = &[
            &["hello"],
            &["WORLD", "xx"],
            &["ß", "ẞ"],
            &["s"],
            &["ſ"],
            &["k", "\u{212A}"],
            &["ss"],
            &["σ", "Σ", "ς"],
            &["i", "ı"],
            &["İ"],
            &["ǅ"],
            &["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ab"],
            &["É"],
            &["lo wo", "o W"],
        ];
        for values in value_sets {
            for anchor in [Anchor::Start, Anchor::End, Anchor::Anywhere] {
                for ic in [false, true] {
                    check(anchor, values, ic, INPUTS);
                }
            }
        }
    }

    #[test]
    fn folding_follows_simple_case_folding() {
        for anchor in [Anchor::Start, Anchor::End, Anchor::Anywhere] {
            let many = |v: &[&str]| {
                let mut all: Vec<String> = (0..20).map(|i| format!("zz{i}zz")).collect();
                all.extend(v.iter().map(|s| (*s).to_owned()));
                all
            };
            let kelvin = many(&["K"]);
            let s = set(
                anchor,
                &kelvin.iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            );
            assert!(s.is_match("\u{212A}"), "Kelvin sign is k under folding");
            assert!(s.is_match("k"));
            let long_s = many(&["S"]);
            let s = set(
                anchor,
                &long_s.iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            );
            assert!(s.is_match("ſ"), "long s folds to s");
            let sharp = many(&["ß"]);
            let s = set(
                anchor,
                &sharp.iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            );
            assert!(s.is_match("ẞ"), "capital sharp s folds to ß");
            assert!(
                !s.is_match("SS"),
                "simple folding maps one character to one"
            );
            let ss = many(&["ss"]);
            let s = set(
                anchor,
                &ss.iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            );
            assert!(!s.is_match("ß"));
            let dotted = many(&["i"]);
            let s = set(
                anchor,
                &dotted.iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            );
            assert!(!s.is_match("ı") && !s.is_match("İ"));
        }
    }

    #[test]
    fn empty_values_match_everything() {
        for anchor in [Anchor::Start, Anchor::End, Anchor::Anywhere] {
            for ic in [false, true] {
                assert!(set(anchor, &["", "x"], ic).is_match(""));
                assert!(set(anchor, &["zzz", ""], ic).is_match("abc"));
            }
        }
    }

    #[test]
    fn suffixes_are_matched_on_characters_not_bytes() {
        // "é" is C3 A9, "©" is C2 A9: the same last byte.
        let many: Vec<String> = std::iter::once("é".to_owned())
            .chain((0..20).map(|i| format!("q{i}")))
            .collect();
        let values: Vec<&str> = many.iter().map(String::as_str).collect();
        for ic in [false, true] {
            let s = set(Anchor::End, &values, ic);
            assert!(!s.is_match("©"));
            assert!(s.is_match("café"));
        }
    }

    #[test]
    fn hostile_inputs_take_one_pass() {
        // Every value shares a long prefix with the input: one by one this would be
        // values × prefix; the automaton reads the prefix once.
        let prefix = "a".repeat(1000);
        let values: Vec<String> = (0..100).map(|i| format!("{prefix}{i}!")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let input = prefix.repeat(20);
        for anchor in [Anchor::Start, Anchor::End, Anchor::Anywhere] {
            for ic in [false, true] {
                assert!(!set(anchor, &refs, ic).is_match(&input));
            }
        }
        let found = format!("{input}{}", values.last().map_or("", String::as_str));
        assert!(set(Anchor::Anywhere, &refs, true).is_match(&found));
        assert!(set(Anchor::End, &refs, true).is_match(&found));
    }

    #[test]
    fn shared_automata() {
        let mut cache = AutomatonCache::default();
        let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
        let a = Literals::new(
            Anchor::Anywhere,
            words.iter().map(String::as_str),
            true,
            &mut cache,
        );
        let b = Literals::new(
            Anchor::Anywhere,
            words.iter().map(String::as_str),
            true,
            &mut cache,
        );
        let (a, b) = (
            a.expect("small sets compile"),
            b.expect("small sets compile"),
        );
        let (Search::Automaton(x), Search::Automaton(y)) = (&a.search, &b.search) else {
            panic!("twenty values take the automaton")
        };
        assert!(Arc::ptr_eq(x, y));
    }

    #[test]
    fn exact_strings() {
        let many: Vec<String> = (0..50).map(|i| format!("v{i}")).collect();
        for n in [3, 50] {
            let values: Vec<&str> = many.iter().take(n).map(String::as_str).collect();
            let cs = Exact::new(values.iter().copied(), false);
            let ic = Exact::new(values.iter().copied(), true);
            assert!(cs.contains("v2") && !cs.contains("V2") && ic.contains("V2"));
            assert!(!cs.contains("v") && !ic.contains("v22x"));
        }
        let k = Exact::new(["K", "ß"], true);
        assert!(k.contains("\u{212A}") && k.contains("ẞ") && !k.contains("ss"));
    }
}
