//! Unicode simple case folding, one `char` to one `char`, without allocating.
//!
//! Two characters are equal under `ignore_case` when they fold to the same character. The
//! mapping is derived from the standard library's case tables (upper-case, then lower-case,
//! keeping a character whose mapping is not one character) with the few exceptions where that
//! differs from the simple folding of Unicode's `CaseFolding.txt` (statuses C and S), which is
//! also what the `regex` crate's `(?i)` uses; a test checks the two agree on every character.

/// Folds one character.
#[inline]
pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    fold_non_ascii(c)
}

fn fold_non_ascii(c: char) -> char {
    if let Some(&(_, to)) = EXCEPTIONS.iter().find(|(from, _)| *from == c) {
        return to;
    }
    let upper = single(c.to_uppercase()).unwrap_or(c);
    single(upper.to_lowercase()).unwrap_or(upper)
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Characters whose simple folding differs from the upper-then-lower mapping.
const EXCEPTIONS: &[(char, char)] = &[
    // Dotless i upper-cases to I, but simple folding keeps it apart from i.
    ('\u{131}', '\u{131}'),
    // Pairs that simple folding joins although neither has a one-character case mapping.
    ('\u{1FD3}', '\u{390}'),
    ('\u{1FE3}', '\u{3B0}'),
    ('\u{FB05}', '\u{FB06}'),
];

/// Folds every character of `s` into a new string (done once per condition value, at load).
pub(crate) fn fold_str(s: &str) -> String {
    s.chars().map(fold).collect()
}

/// `s` folded equals `folded` (already folded).
pub(crate) fn eq(s: &str, folded: &str) -> bool {
    s.chars().map(fold).eq(folded.chars())
}

/// `s` folded starts with `folded`.
pub(crate) fn starts_with(s: &str, folded: &str) -> bool {
    let mut it = s.chars().map(fold);
    folded.chars().all(|p| it.next() == Some(p))
}

/// `s` folded ends with `folded`.
pub(crate) fn ends_with(s: &str, folded: &str) -> bool {
    let mut it = s.chars().rev().map(fold);
    folded.chars().rev().all(|p| it.next() == Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_pairs() {
        assert!(eq("ChatGPT", &fold_str("chatgpt")));
        assert!(eq("ÄÖÜ", &fold_str("äöü")));
        assert!(eq("\u{212A}", "k"), "Kelvin sign folds to k");
        assert!(eq("ſ", "s"), "long s folds to s");
        assert!(eq("ẞ", &fold_str("ß")));
        assert!(eq("ΣΑΣ", &fold_str("σας")), "final sigma");
    }

    #[test]
    fn simple_folding_maps_one_character_to_one() {
        assert!(!eq("straße", &fold_str("STRASSE")));
        assert!(!eq("ı", "i"));
        assert!(!eq("İ", "i"));
    }

    #[test]
    fn affixes() {
        assert!(starts_with("Hello World", &fold_str("HELLO")));
        assert!(!starts_with("He", &fold_str("HELLO")));
        assert!(ends_with("Hello World", &fold_str("WORLD")));
        assert!(!ends_with("d", &fold_str("WORLD")));
    }
}

#[cfg(test)]
mod unicode_tests {
    use super::fold;
    use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

    /// The characters that Unicode simple case folding puts together with `c`.
    fn simple_class(c: char) -> Vec<char> {
        let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
        class.case_fold_simple();
        class
            .iter()
            .flat_map(|r| (r.start()..=r.end()).collect::<Vec<char>>())
            .collect()
    }

    /// `fold` puts two characters together exactly when Unicode simple case folding (as the
    /// `regex` crate implements it for `(?i)`) does, for every character that has case.
    /// Case pairs newer than the `regex` crate's Unicode tables (both sides unknown to it) follow
    /// the standard library's newer tables.
    #[test]
    fn agrees_with_simple_case_folding_on_every_character() {
        let mut disagreements = Vec::new();
        for c in (0..=0x1_FFFFu32).filter_map(char::from_u32) {
            let class = simple_class(c);
            for &d in &class {
                if fold(d) != fold(c) {
                    disagreements.push(format!("{c:?} ~ {d:?} but fold differs"));
                }
            }
            let newer = class.len() == 1 && simple_class(fold(c)).len() == 1;
            if fold(c) != c && !class.contains(&fold(c)) && !newer {
                disagreements.push(format!("fold({c:?}) = {:?} is not in its class", fold(c)));
            }
        }
        assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    }
}
