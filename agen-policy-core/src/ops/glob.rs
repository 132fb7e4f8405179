//! `matches` patterns: `*` any run of characters (also none), `?` exactly one character, `\`
//! escapes the next character; a pattern matches the whole string.
//!
//! A pattern is its stars' segments: a prefix that must start the string, a suffix that must end
//! it, and middle segments that must occur in order between them. Placing each middle segment
//! at its leftmost occurrence after the previous one is optimal (a star absorbs whatever lies
//! between), so one left-to-right pass decides: each segment is searched in time linear in the
//! text it passes over, and no character is read twice by searches. O(|pattern| + |input|) per
//! pattern, or O(|pattern| + |input| · ⌈s/64⌉) when a middle segment of `s` characters holds a
//! `?` (a bit-parallel search, 64 positions a word).
//!
//! The values of one condition are sorted by shape ([`GlobSet`]): literal patterns, `lit*`,
//! `*lit` and `*lit*` join sets tested through one automaton for all of them
//! ([`Literals`](super::literal::Literals)); only the other shapes are tested one by one.

use smallvec::SmallVec;

use super::fold::fold;
use super::literal::{Anchor, AutomatonCache, Exact, Literals, TooLarge};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyOne,
    AnyRun,
}

/// One character of a segment: a given one, or any (`?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Char(char),
    Any,
}

impl Unit {
    /// `c` is folded already under `ignore_case` (as the unit is).
    fn accepts(self, c: char) -> bool {
        match self {
            Unit::Char(p) => p == c,
            Unit::Any => true,
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    ignore_case: bool,
    /// The units before the first star; the whole pattern when it has none.
    prefix: Box<[Unit]>,
    /// The segments between stars, in order.
    middle: Box<[Segment]>,
    /// The units after the last star; `None` when the pattern has no star.
    suffix: Option<Box<[Unit]>>,
}

/// Why a pattern does not compile.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GlobError {
    TrailingEscape,
}

/// The tokens of a pattern, as written (not folded), consecutive stars merged.
fn parse(pattern: &str) -> Result<Vec<Token>, GlobError> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let token = match c {
            '*' => Token::AnyRun,
            '?' => Token::AnyOne,
            '\\' => Token::Char(chars.next().ok_or(GlobError::TrailingEscape)?),
            c => Token::Char(c),
        };
        // Consecutive stars match what one does.
        if token == Token::AnyRun && tokens.last() == Some(&Token::AnyRun) {
            continue;
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// What a pattern amounts to, for [`GlobSet`]: its literals are as written, not folded.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    /// `*`: every string.
    Any,
    /// No star, no `?`: this string.
    Exact(String),
    /// `lit*`.
    Prefix(String),
    /// `*lit`.
    Suffix(String),
    /// `*lit*`.
    Substring(String),
    /// Anything else.
    General,
}

fn shape(tokens: &[Token]) -> Shape {
    let literal = |ts: &[Token]| -> Option<String> {
        ts.iter()
            .map(|t| match t {
                Token::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    };
    let star = |t: Option<&Token>| t == Some(&Token::AnyRun);
    let (first, last) = (tokens.first(), tokens.last());
    let inner = |from: usize, to: usize| tokens.get(from..tokens.len().saturating_sub(to));
    let found = match (star(first), star(last)) {
        _ if tokens == [Token::AnyRun] => Some(Shape::Any),
        (false, false) => literal(tokens).map(Shape::Exact),
        (false, true) => inner(0, 1).and_then(literal).map(Shape::Prefix),
        (true, false) => inner(1, 0).and_then(literal).map(Shape::Suffix),
        (true, true) => inner(1, 1).and_then(literal).map(Shape::Substring),
    };
    found.unwrap_or(Shape::General)
}

impl Glob {
    /// Compiles a pattern; with `ignore_case`, literal characters are stored folded.
    #[cfg(test)]
    pub(crate) fn new(pattern: &str, ignore_case: bool) -> Result<Glob, GlobError> {
        Ok(Glob::from_tokens(&parse(pattern)?, ignore_case))
    }

    fn from_tokens(tokens: &[Token], ignore_case: bool) -> Glob {
        let mut segments: Vec<Vec<Unit>> = vec![Vec::new()];
        for t in tokens {
            match t {
                Token::AnyRun => segments.push(Vec::new()),
                Token::AnyOne => segments
                    .last_mut()
                    .into_iter()
                    .for_each(|s| s.push(Unit::Any)),
                Token::Char(c) => {
                    let c = if ignore_case { fold(*c) } else { *c };
                    segments
                        .last_mut()
                        .into_iter()
                        .for_each(|s| s.push(Unit::Char(c)));
                }
            }
        }
        let mut segments = segments.into_iter();
        let prefix = segments.next().unwrap_or_default().into_boxed_slice();
        let suffix = segments.next_back().map(Vec::into_boxed_slice);
        let middle = segments
            .filter(|s| !s.is_empty())
            .map(|s| Segment::new(s, ignore_case))
            .collect();
        Glob {
            ignore_case,
            prefix,
            middle,
            suffix,
        }
    }

    fn key(&self, c: char) -> char {
        if self.ignore_case {
            fold(c)
        } else {
            c
        }
    }

    /// Whether the pattern matches all of `s`. O(|pattern| + |s|) (see the module's docs), no
    /// allocation unless a middle segment with a `?` is longer than 256 characters.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let Some(suffix) = &self.suffix else {
            // No star: character for character.
            let mut chars = s.chars();
            return self
                .prefix
                .iter()
                .all(|u| chars.next().is_some_and(|c| u.accepts(self.key(c))))
                && chars.next().is_none();
        };
        // The prefix at the start, the suffix at the end, not overlapping.
        let mut start = 0;
        let mut chars = s.char_indices();
        for u in self.prefix.iter() {
            match chars.next() {
                Some((i, c)) if u.accepts(self.key(c)) => start = i + c.len_utf8(),
                _ => return false,
            }
        }
        let mut end = s.len();
        let mut back = s.char_indices().rev();
        for u in suffix.iter().rev() {
            match back.next() {
                Some((i, c)) if i >= start && u.accepts(self.key(c)) => end = i,
                _ => return false,
            }
        }
        // Each middle segment at its leftmost occurrence after the previous one.
        let mut rest = s.get(start..end).unwrap_or_default();
        for segment in self.middle.iter() {
            match segment.find(rest, self.ignore_case) {
                Some(after) => rest = rest.get(after..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// A middle segment and how it is searched for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Literal, case-sensitive: `memchr`'s substring search (two-way, linear, vectorized).
    Str(Box<str>),
    /// Literal, folded: Knuth–Morris–Pratt over the folded characters of the input.
    Kmp {
        pattern: Box<[char]>,
        /// `fail[j]`: length of the longest proper border of `pattern[..=j]`.
        fail: Box<[u32]>,
        start: Start,
    },
    /// With a `?`: shift-and, the segment's positions as bits, `words` words a character.
    ShiftAnd {
        len: usize,
        words: usize,
        /// The segment's distinct characters, sorted; row `i` of `masks` is that of `chars[i]`,
        /// the last row that of every other character (its `?` positions).
        chars: Box<[char]>,
        masks: Box<[u64]>,
        /// The row of each ASCII character.
        ascii_rows: Box<[u16]>,
        start: Start,
    },
}

/// The bytes an occurrence of a segment can start with, when there are at most three: while no
/// occurrence is under way, the search skips to the next of them (`memchr`, vectorized).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Any,
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
}

impl Start {
    /// `first` (folded under `ignore_case`): the first bytes of the characters that compare
    /// equal to it. Only two characters outside ASCII fold into it: the Kelvin sign into `k`,
    /// the long s into `s` (a test checks every character).
    fn of(first: Unit, ignore_case: bool) -> Start {
        let Unit::Char(c) = first else {
            return Start::Any;
        };
        let lead = |c: char| {
            let mut buf = [0u8; 4];
            c.encode_utf8(&mut buf)
                .as_bytes()
                .first()
                .copied()
                .unwrap_or(0)
        };
        if !ignore_case {
            return Start::One(lead(c));
        }
        if !c.is_ascii() {
            return Start::Any;
        }
        let (lower, upper) = (c.to_ascii_lowercase() as u8, c.to_ascii_uppercase() as u8);
        match c {
            'k' => Start::Three(lower, upper, lead('\u{212A}')),
            's' => Start::Three(lower, upper, lead('\u{17F}')),
            _ if lower != upper => Start::Two(lower, upper),
            _ => Start::One(lower),
        }
    }

    /// The first position at or after `from` where an occurrence can start.
    fn next(self, hay: &[u8], from: usize) -> Option<usize> {
        let rest = hay.get(from..)?;
        let found = match self {
            Start::Any => Some(0),
            Start::One(a) => memchr::memchr(a, rest),
            Start::Two(a, b) => memchr::memchr2(a, b, rest),
            Start::Three(a, b, c) => memchr::memchr3(a, b, c, rest),
        };
        found.map(|at| from + at)
    }
}

impl Segment {
    fn new(units: Vec<Unit>, ignore_case: bool) -> Segment {
        let start = units
            .first()
            .map_or(Start::Any, |u| Start::of(*u, ignore_case));
        let literal: Option<Vec<char>> = units
            .iter()
            .map(|u| match u {
                Unit::Char(c) => Some(*c),
                Unit::Any => None,
            })
            .collect();
        match literal {
            Some(chars) if !ignore_case => Segment::Str(chars.into_iter().collect()),
            Some(pattern) => {
                let mut fail = vec![0u32; pattern.len()];
                let mut k = 0usize;
                for (j, c) in pattern.iter().enumerate().skip(1) {
                    while k > 0 && pattern.get(k) != Some(c) {
                        k = fail.get(k - 1).map_or(0, |&f| f as usize);
                    }
                    if pattern.get(k) == Some(c) {
                        k += 1;
                    }
                    if let Some(f) = fail.get_mut(j) {
                        *f = u32::try_from(k).unwrap_or(0);
                    }
                }
                Segment::Kmp {
                    pattern: pattern.into_boxed_slice(),
                    fail: fail.into_boxed_slice(),
                    start,
                }
            }
            None => {
                let len = units.len();
                let words = len.div_ceil(64);
                let mut chars: Vec<char> = units
                    .iter()
                    .filter_map(|u| match u {
                        Unit::Char(c) => Some(*c),
                        Unit::Any => None,
                    })
                    .collect();
                chars.sort_unstable();
                chars.dedup();
                let mut masks = vec![0u64; (chars.len() + 1) * words];
                for (bit, u) in units.iter().enumerate() {
                    let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                    let rows: Vec<usize> = match u {
                        Unit::Char(c) => chars.binary_search(c).ok().into_iter().collect(),
                        Unit::Any => (0..=chars.len()).collect(),
                    };
                    for row in rows {
                        if let Some(m) = masks.get_mut(row * words + word) {
                            *m |= mask;
                        }
                    }
                }
                let ascii_rows = (0..128u8)
                    .map(|b| {
                        let row = chars.binary_search(&char::from(b)).unwrap_or(chars.len());
                        u16::try_from(row).unwrap_or(u16::MAX)
                    })
                    .collect();
                Segment::ShiftAnd {
                    len,
                    words,
                    chars: chars.into_boxed_slice(),
                    masks: masks.into_boxed_slice(),
                    ascii_rows,
                    start,
                }
            }
        }
    }

    /// The end (a byte index) of the segment's leftmost occurrence in `hay`. Linear in the
    /// bytes read (times `words` for shift-and), each read once; while no occurrence is under
    /// way, the search skips to the next byte one can start with.
    fn find(&self, hay: &str, ignore_case: bool) -> Option<usize> {
        let key = |c: char| if ignore_case { fold(c) } else { c };
        let bytes = hay.as_bytes();
        // The character at byte `at`, a character boundary: `Start` only finds bytes that
        // begin a character (ASCII or a UTF-8 lead byte).
        let char_at = |at: usize| hay.get(at..).and_then(|rest| rest.chars().next());
        match self {
            Segment::Str(lit) => memchr::memmem::find(bytes, lit.as_bytes()).map(|i| i + lit.len()),
            Segment::Kmp {
                pattern,
                fail,
                start,
            } => {
                let (mut j, mut at) = (0usize, 0usize);
                loop {
                    if j == 0 {
                        at = start.next(bytes, at)?;
                    }
                    let c = char_at(at)?;
                    let k = key(c);
                    while j > 0 && pattern.get(j) != Some(&k) {
                        j = fail.get(j - 1).map_or(0, |&f| f as usize);
                    }
                    if pattern.get(j) == Some(&k) {
                        j += 1;
                    }
                    at += c.len_utf8();
                    if j == pattern.len() {
                        return Some(at);
                    }
                }
            }
            Segment::ShiftAnd {
                len,
                words,
                chars,
                masks,
                ascii_rows,
                start,
            } => {
                let row_of = |c: char| -> usize {
                    let k = key(c);
                    match u8::try_from(k) {
                        Ok(b) if b.is_ascii() => ascii_rows
                            .get(usize::from(b))
                            .map_or(chars.len(), |&r| usize::from(r)),
                        _ => chars.binary_search(&k).unwrap_or(chars.len()),
                    }
                };
                let (top_word, top_bit) = ((len - 1) / 64, (len - 1) % 64);
                let mut at = 0usize;
                if *words == 1 {
                    // Up to 64 characters, the common case: one word of state.
                    let mut state = 0u64;
                    loop {
                        if state == 0 {
                            at = start.next(bytes, at)?;
                        }
                        let c = char_at(at)?;
                        let mask = masks.get(row_of(c)).copied().unwrap_or(0);
                        state = ((state << 1) | 1) & mask;
                        at += c.len_utf8();
                        if (state >> top_bit) & 1 == 1 {
                            return Some(at);
                        }
                    }
                }
                // INVARIANT: four words (256 characters) on the stack; longer segments, beyond
                // the default pattern limit of 4,096 bytes only in their `?`s, spill.
                let mut state: SmallVec<[u64; 4]> = SmallVec::from_elem(0, *words);
                loop {
                    if state.iter().all(|&d| d == 0) {
                        at = start.next(bytes, at)?;
                    }
                    let c = char_at(at)?;
                    let row = row_of(c);
                    let mask = masks
                        .get(row * words..(row + 1) * words)
                        .unwrap_or_default();
                    let mut carry = 1u64;
                    for (d, m) in state.iter_mut().zip(mask) {
                        let shifted = (*d << 1) | carry;
                        carry = *d >> 63;
                        *d = shifted & m;
                    }
                    at += c.len_utf8();
                    if state.get(top_word).is_some_and(|d| (d >> top_bit) & 1 == 1) {
                        return Some(at);
                    }
                }
            }
        }
    }
}

/// The patterns of one `matches` condition, sorted by shape: the literal shapes through sets
/// tested in one pass each, the rest one by one. Only the shapes present are kept, so that a
/// condition of one pattern makes one test.
#[derive(Debug, Clone)]
pub(crate) struct GlobSet {
    parts: Box<[Part]>,
}

/// One shape's patterns.
#[derive(Debug, Clone)]
enum Part {
    /// A pattern of stars only: every string matches.
    Any,
    Exact(Exact),
    /// Prefixes (`lit*`), suffixes (`*lit`) or substrings (`*lit*`).
    Literals(Literals),
    General(Glob),
}

impl GlobSet {
    /// Compiles patterns, reporting each one that does not compile by its index.
    pub(crate) fn new<'p>(
        patterns: impl IntoIterator<Item = (usize, &'p str)>,
        ignore_case: bool,
        cache: &mut AutomatonCache,
    ) -> Result<GlobSet, SetError> {
        let mut any = false;
        let mut errors = Vec::new();
        let (mut exact, mut prefixes, mut suffixes, mut substrings) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut general = Vec::new();
        for (i, p) in patterns {
            let tokens = match parse(p) {
                Ok(tokens) => tokens,
                Err(e) => {
                    errors.push((i, e));
                    continue;
                }
            };
            match shape(&tokens) {
                Shape::Any => any = true,
                Shape::Exact(s) => exact.push(s),
                Shape::Prefix(s) => prefixes.push(s),
                Shape::Suffix(s) => suffixes.push(s),
                Shape::Substring(s) => substrings.push(s),
                Shape::General => general.push(Glob::from_tokens(&tokens, ignore_case)),
            }
        }
        if !errors.is_empty() {
            return Err(SetError::Invalid(errors));
        }
        if any {
            return Ok(GlobSet {
                parts: Box::new([Part::Any]),
            });
        }
        let mut parts = Vec::new();
        if !exact.is_empty() {
            parts.push(Part::Exact(Exact::new(
                exact.iter().map(String::as_str),
                ignore_case,
            )));
        }
        for (anchor, values) in [
            (Anchor::Start, &prefixes),
            (Anchor::End, &suffixes),
            (Anchor::Anywhere, &substrings),
        ] {
            if !values.is_empty() {
                let literals = Literals::new(
                    anchor,
                    values.iter().map(String::as_str),
                    ignore_case,
                    cache,
                )
                .map_err(|TooLarge| SetError::TooLarge)?;
                parts.push(Part::Literals(literals));
            }
        }
        parts.extend(general.into_iter().map(Part::General));
        Ok(GlobSet {
            parts: parts.into_boxed_slice(),
        })
    }

    /// Whether some pattern matches all of `s`.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        self.parts.iter().any(|part| match part {
            Part::Any => true,
            Part::Exact(exact) => exact.contains(s),
            Part::Literals(literals) => literals.is_match(s),
            Part::General(glob) => glob.is_match(s),
        })
    }
}

/// Why the patterns of a condition do not compile.
#[derive(Debug)]
pub(crate) enum SetError {
    /// These patterns (by index) are malformed.
    Invalid(Vec<(usize, GlobError)>),
    /// The literal patterns together are too large for an automaton.
    TooLarge,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p, false).map(|g| g.is_match(s)).unwrap_or(false)
    }

    /// The definition: a recursive matcher over characters (exponential, for short strings).
    fn naive(p: &[Token], s: &[char], ic: bool) -> bool {
        let eq = |a: char, b: char| if ic { fold(a) == fold(b) } else { a == b };
        match p.split_first() {
            None => s.is_empty(),
            Some((Token::AnyRun, rest)) => {
                naive(rest, s, ic) || s.split_first().is_some_and(|(_, t)| naive(p, t, ic))
            }
            Some((Token::AnyOne, rest)) => s.split_first().is_some_and(|(_, t)| naive(rest, t, ic)),
            Some((Token::Char(c), rest)) => s
                .split_first()
                .is_some_and(|(h, t)| eq(*h, *c) && naive(rest, t, ic)),
        }
    }

    fn set(patterns: &[&str], ic: bool) -> GlobSet {
        let mut cache = AutomatonCache::default();
        GlobSet::new(patterns.iter().copied().enumerate(), ic, &mut cache)
            .expect("patterns compile")
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("a*c", "abc"));
        assert!(m("a*c", "ac"));
        assert!(m("a*c", "abbbbc"));
        assert!(!m("a*c", "abd"));
        assert!(m("x?z", "xyz"));
        assert!(!m("x?z", "xz"));
        assert!(m("*", ""));
        assert!(!m("?", ""));
        assert!(m("?", "é"));
        assert!(m("**a**", "bab"));
        assert!(m("*ab*ab", "xxabyyab"));
        assert!(!m("*ab*ab", "xxabyyabz"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a*a", "a"), "prefix and suffix may not overlap");
        assert!(m("a*a", "aa"));
        assert!(m("*a?c*", "xxabbaxcyy"));
        assert!(!m("*a?c*", "xxabbacyy"));
    }

    #[test]
    fn escapes_are_literal() {
        assert!(m(r"lit\*", "lit*"));
        assert!(!m(r"lit\*", "litX"));
        assert!(m(r"\?\\", "?\\"));
        assert_eq!(Glob::new("ab\\", false), Err(GlobError::TrailingEscape));
    }

    #[test]
    fn ignore_case_folds_both_sides() {
        let g = Glob::new("*UNTRUSTED*", true).ok();
        assert!(g.as_ref().is_some_and(|g| g.is_match("an untrusted bot")));
        assert!(g.is_some_and(|g| !g.is_match("trusted")));
        assert!(!m("Abc", "abc"));
    }

    #[test]
    fn shapes() {
        let shape_of = |p: &str| parse(p).map(|t| shape(&t)).unwrap_or(Shape::General);
        assert_eq!(shape_of("*"), Shape::Any);
        assert_eq!(shape_of("***"), Shape::Any);
        assert_eq!(shape_of(""), Shape::Exact(String::new()));
        assert_eq!(shape_of(r"a\*b"), Shape::Exact("a*b".into()));
        assert_eq!(shape_of("ab*"), Shape::Prefix("ab".into()));
        assert_eq!(shape_of("**ab"), Shape::Suffix("ab".into()));
        assert_eq!(shape_of("*ab**"), Shape::Substring("ab".into()));
        assert_eq!(shape_of(r"*\?*"), Shape::Substring("?".into()));
        for general in ["a?", "*a?*", "a*b", "*a*b*", "?*", "a*b*"] {
            assert_eq!(shape_of(general), Shape::General, "{general}");
        }
    }

    /// Every pattern over a small alphabet agrees with the definition, alone and in a set,
    /// with and without `ignore_case`, on every short string.
    #[test]
    fn agrees_with_the_definition() {
        let alphabet = ['a', 'b', 'A', 'ß', 'ẞ', 'ſ', 's', 'S', '\u{212A}', 'k'];
        let pattern_units = ["a", "b", "A", "ß", "S", "k", "K", "?", "*"];
        let mut patterns = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = patterns
                .iter()
                .flat_map(|p| pattern_units.iter().map(move |u| format!("{p}{u}")))
                .collect();
            patterns.extend(longer);
            patterns.sort();
            patterns.dedup();
        }
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .filter(|s| s.chars().count() <= 4)
                .collect();
            strings.extend(longer);
            strings.sort();
            strings.dedup();
        }
        // Sample the strings: every pattern meets a few hundred of them.
        let strings: Vec<&String> = strings.iter().step_by(7).collect();
        for ic in [false, true] {
            for p in &patterns {
                let Ok(tokens) = parse(p) else { continue };
                let g = Glob::new(p, ic).ok();
                let alone = set(&[p], ic);
                for s in &strings {
                    let chars: Vec<char> = s.chars().collect();
                    let want = naive(&tokens, &chars, ic);
                    assert_eq!(
                        g.as_ref().map(|g| g.is_match(s)),
                        Some(want),
                        "{p:?} ic={ic} on {s:?}"
                    );
                    assert_eq!(alone.is_match(s), want, "set of {p:?} ic={ic} on {s:?}");
                }
            }
        }
    }

    #[test]
    fn many_patterns_of_every_shape() {
        let words: Vec<String> = (0..40).map(|i| format!("w{i}x")).collect();
        let mut patterns: Vec<String> = Vec::new();
        for w in &words {
            patterns.extend([
                w.clone(),
                format!("{w}*"),
                format!("*{w}"),
                format!("*{w}*"),
                format!("{w}?*{w}"),
            ]);
        }
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        for ic in [false, true] {
            let s = set(&refs, ic);
            assert!(s.is_match("w7x"));
            assert!(s.is_match("w7xtail") && s.is_match("headw7x") && s.is_match("hw7xt"));
            assert!(s.is_match("w3x-w3x"));
            assert!(!s.is_match("w7") && !s.is_match("nothing here"));
            assert_eq!(s.is_match("W7X"), ic);
            assert_eq!(s.is_match("hW7Xt"), ic);
        }
    }

    #[test]
    fn folding_edge_cases() {
        let g = |p: &str, s: &str| Glob::new(p, true).is_ok_and(|g| g.is_match(s));
        assert!(g("\u{212A}", "k") && g("k", "\u{212A}") && g("K", "\u{212A}"));
        assert!(g("*ſ*", "xSx") && g("*s?*", "xſyy"));
        assert!(g("ß", "ẞ") && !g("ss", "ß") && !g("ß", "ss"));
        assert!(!g("i", "ı") && !g("i", "İ"));
        assert!(g("*σ*ς", "ΣxΣ"));
        for (p, s) in [
            ("*\u{212A}*", "xkx"),
            ("*k?k*", "K\u{212A}zk"),
            ("*ẞ*", "aßb"),
        ] {
            assert!(g(p, s), "{p} {s}");
            assert!(set(&[p], true).is_match(s), "set {p} {s}");
        }
    }

    /// `Start::of` relies on it: the Kelvin sign and the long s are the only characters outside
    /// ASCII that fold into ASCII.
    #[test]
    fn only_two_characters_fold_into_ascii() {
        let into_ascii: Vec<char> = (0x80..=0x10_FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| fold(*c).is_ascii())
            .collect();
        assert_eq!(into_ascii, ['\u{17F}', '\u{212A}']);
    }

    #[test]
    fn hostile_patterns_stay_linear() {
        // Pattern × input would be 4,000 × 200,000 steps; segment search reads the input once.
        let input = "a".repeat(200_000);
        let pattern = format!("*{}b*", "a".repeat(4000));
        assert!(!m(&pattern, &input));
        assert!(m(&pattern, &format!("{input}b")));
        let wild = format!("*{}?b*", "a".repeat(300));
        assert!(!m(&wild, &input));
        assert!(m(&wild, &format!("{input}xb")));
        let pattern = "*a".repeat(50) + "b";
        assert!(!m(&pattern, &"a".repeat(2000)));
        let folded = format!("*{}B*", "A".repeat(4000));
        assert!(Glob::new(&folded, true).is_ok_and(|g| !g.is_match(&input)));
    }

    #[test]
    fn long_wildcard_segments_spill_correctly() {
        // 300 characters with `?`s: five words of shift-and state.
        let unit = "ab?";
        let segment = unit.repeat(100);
        let pattern = format!("*{segment}*");
        let text = "abx".repeat(100);
        assert!(m(&pattern, &format!("zz{text}zz")));
        assert!(!m(&pattern, &format!("zz{}zz", &text[1..])));
    }
}
