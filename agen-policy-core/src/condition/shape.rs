//! The literal shape of a regular expression. `^abc`, `(x|y)$`, `^(a|b)$` and `abc` ask only
//! whether the input starts with, ends with, equals or contains one of a few strings, which a
//! literal test answers for a fraction of what a regex search costs.
//!
//! The shape is read from the pattern's syntax tree, parsed with the settings the regex is
//! compiled with (case setting, UTF-8): a pattern has a shape only when the literal test means
//! exactly what the regex's `is_match` does. Under `ignore_case` a letter parses to a class,
//! not a literal, so such a pattern keeps its regex.

use regex_syntax::hir::{Hir, HirKind, Look};

/// Where a literal must occur for the regex to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Anywhere: `abc`, `(a|b)`.
    Anywhere,
    /// At the start: `^abc`.
    Start,
    /// At the end: `abc$`.
    End,
    /// The whole input: `^abc$`.
    Whole,
}

/// The shape of `pattern` and its literals (non-empty), when it has one.
pub(crate) fn literal_shape(pattern: &str, ignore_case: bool) -> Option<(Shape, Vec<String>)> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(ignore_case)
        .utf8(true)
        .build()
        .parse(pattern)
        .ok()?;
    let hir = unwrap(&hir);
    let (start, middle, end) = match hir.kind() {
        HirKind::Concat(parts) => {
            let (start, rest) = match parts.split_first() {
                Some((first, rest)) if is_look(first, Look::Start) => (true, rest),
                _ => (false, &parts[..]),
            };
            let (end, rest) = match rest.split_last() {
                Some((last, rest)) if is_look(last, Look::End) => (true, rest),
                _ => (false, rest),
            };
            let [middle] = rest else {
                return None;
            };
            (start, middle, end)
        }
        _ => (false, hir, false),
    };
    let values = literals(unwrap(middle))?;
    let shape = match (start, end) {
        (false, false) => Shape::Anywhere,
        (true, false) => Shape::Start,
        (false, true) => Shape::End,
        (true, true) => Shape::Whole,
    };
    Some((shape, values))
}

/// The expression inside any capture groups (they do not change what matches).
fn unwrap(hir: &Hir) -> &Hir {
    let mut hir = hir;
    while let HirKind::Capture(capture) = hir.kind() {
        hir = &capture.sub;
    }
    hir
}

fn is_look(hir: &Hir, look: Look) -> bool {
    matches!(unwrap(hir).kind(), HirKind::Look(l) if *l == look)
}

/// One literal, or an alternation of literals only.
fn literals(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![text(&literal.0)?]),
        HirKind::Alternation(alternatives) => alternatives
            .iter()
            .map(|a| match unwrap(a).kind() {
                HirKind::Literal(literal) => text(&literal.0),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn text(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    std::str::from_utf8(bytes).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern() -> impl Strategy<Value = String> {
        let word = "[aAb1é]{0,3}";
        let body = (prop::collection::vec(word, 1..4), 0..3usize).prop_map(|(words, group)| {
            let alternation = words.join("|");
            match group {
                0 => alternation,
                1 => format!("({alternation})"),
                _ => format!("(?:{alternation})"),
            }
        });
        let start = prop::sample::select(vec!["", "^", "\\A", "(?m)^", "\\b", "(?i)"]);
        let end = prop::sample::select(vec!["", "$", "\\z", "(?m)$", "+", "."]);
        (start, body, end).prop_map(|(s, b, e)| format!("{s}{b}{e}"))
    }

    proptest! {
        /// Where a pattern has a shape, testing its literals there answers as the regex does.
        #[test]
        fn a_shape_matches_as_its_regex(
            pattern in pattern(),
            ignore_case in any::<bool>(),
            inputs in prop::collection::vec("[aAb1é\\n]{0,6}", 1..8),
        ) {
            let Some((shape, values)) = literal_shape(&pattern, ignore_case) else {
                return Ok(());
            };
            let re = regex::RegexBuilder::new(&pattern)
                .case_insensitive(ignore_case)
                .build();
            let Ok(re) = re else {
                return Err(TestCaseError::fail(format!("{pattern} has a shape but no regex")));
            };
            for input in &inputs {
                let literal = values.iter().any(|v| match shape {
                    Shape::Anywhere => input.contains(v.as_str()),
                    Shape::Start => input.starts_with(v.as_str()),
                    Shape::End => input.ends_with(v.as_str()),
                    Shape::Whole => input == v,
                });
                prop_assert_eq!(literal, re.is_match(input), "{} on {:?}", pattern, input);
            }
        }
    }

    #[test]
    fn literal_patterns_have_shapes() {
        let shape = |p: &str| literal_shape(p, false);
        assert_eq!(
            shape("^Claude"),
            Some((Shape::Start, vec!["Claude".into()]))
        );
        assert_eq!(
            shape("(Desktop|CLI)$"),
            Some((Shape::End, vec!["Desktop".into(), "CLI".into()]))
        );
        assert_eq!(
            shape("^(Cursor|Windsurf)$"),
            Some((Shape::Whole, vec!["Cursor".into(), "Windsurf".into()]))
        );
        assert_eq!(shape("Co"), Some((Shape::Anywhere, vec!["Co".into()])));
        // Not literal: classes, repetitions, other anchors, an empty alternative.
        for p in [
            "^C.aude", "a+", "(?m)^a", "\\ba", "^(a|)$", "^$", "", "a|b*",
        ] {
            assert_eq!(shape(p), None, "{p}");
        }
        // Letters under ignore_case parse to classes; digits stay literal.
        assert_eq!(literal_shape("^abc", true), None);
        assert_eq!(
            literal_shape("^123", true),
            Some((Shape::Start, vec!["123".into()]))
        );
    }
}
