//! `matches` patterns: `*` any run of characters (also none), `?` exactly one character, `\`
//! escapes the next character; a pattern matches the whole string.

use super::fold::fold;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyOne,
    AnyRun,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    tokens: Box<[Token]>,
    ignore_case: bool,
}

/// Why a pattern does not compile.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GlobError {
    TrailingEscape,
}

impl Glob {
    /// Compiles a pattern; with `ignore_case`, literal characters are stored folded.
    pub(crate) fn new(pattern: &str, ignore_case: bool) -> Result<Glob, GlobError> {
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
            tokens.push(match token {
                Token::Char(c) if ignore_case => Token::Char(fold(c)),
                t => t,
            });
        }
        Ok(Glob {
            tokens: tokens.into_boxed_slice(),
            ignore_case,
        })
    }

    /// Whether the pattern matches all of `s`.
    ///
    /// The classic single-backtrack algorithm: on a mismatch, the last `*` takes one more
    /// character. Time O(|s| · |pattern|) at worst, no allocation.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let tokens = &self.tokens;
        let mut t = 0; // next token
        let mut i = 0; // next byte of s
        let mut star: Option<(usize, usize)> = None; // (token after the star, byte it resumes at)
        loop {
            let next = s.get(i..).and_then(|rest| rest.chars().next());
            let Some(c) = next else { break };
            let advanced = match tokens.get(t) {
                Some(Token::AnyRun) => {
                    star = Some((t + 1, i));
                    t += 1;
                    continue;
                }
                Some(Token::AnyOne) => true,
                Some(Token::Char(p)) => *p == if self.ignore_case { fold(c) } else { c },
                None => false,
            };
            if advanced {
                t += 1;
                i += c.len_utf8();
            } else if let Some((after_star, resume)) = star {
                let skipped = s
                    .get(resume..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                let resume = resume + skipped;
                star = Some((after_star, resume));
                t = after_star;
                i = resume;
            } else {
                return false;
            }
        }
        tokens
            .get(t..)
            .is_some_and(|rest| rest.iter().all(|tok| *tok == Token::AnyRun))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p, false).map(|g| g.is_match(s)).unwrap_or(false)
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
    fn backtracking_stays_bounded() {
        let pattern = "*a".repeat(50) + "b";
        let subject = "a".repeat(2000);
        assert!(!m(&pattern, &subject));
    }
}
