//! Making user text safe to print: ids, names, values, file names and keys come from documents,
//! requests and command lines the person at the terminal did not necessarily write.
//!
//! Control characters could move the cursor, rewrite the screen or change the window title
//! (ESC, BEL, CSI), and bidirectional controls could make a line read differently from what it
//! holds (U+202E, U+2066–2069). Text output shows them escaped, the way Rust's `{:?}` does
//! (`\u{1b}`); JSON output escapes the ones `serde_json` leaves as they are.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character is shown escaped: every control character (C0, DEL, C1), the
/// bidirectional marks, embeddings, overrides and isolates, and the Unicode line and paragraph
/// separators (a line break to some terminals and viewers).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// User text for a line of text output: every control and bidirectional character, line
/// breaks included, shown as `\u{…}`, so the text can neither act on the terminal nor end the
/// line it is put in.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.contains(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text of several lines, each escaped as by [`escaped`] and the line breaks kept: the last
/// pass over everything the command prints as text, for text the core assembled (an
/// explanation shows the request's values as JSON, which leaves bidirectional marks as they
/// are). User text that could hold a line break is escaped where it is put into its line.
pub fn escaped_lines(text: &str) -> Cow<'_, str> {
    if !text.contains(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(escaped).collect();
    Cow::Owned(lines.join("\n"))
}

/// JSON text with every character `serde_json` writes as it is but [`escaped`] would not
/// (DEL, C1 controls, bidirectional marks, U+2028 and U+2029) written as a `\uXXXX` escape.
/// The JSON value is unchanged: outside strings JSON text holds only ASCII punctuation,
/// letters, digits and whitespace, so every such character is inside a string.
pub fn json_escaped(text: String) -> String {
    if !text.contains(|c| c != '\n' && is_unsafe(c)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c != '\n' && is_unsafe(c) {
            // INVARIANT: serde_json escapes C0 controls itself, so a raw one here is the pretty
            // printer's line break only; every other character escaped is in the BMP.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidirectional_characters_are_escaped() {
        assert_eq!(
            escaped("a\u{1b}[31mb\u{7}\0\u{202e}c\u{2066}d\u{200f}\n\t\u{9b}"),
            "a\\u{1b}[31mb\\u{7}\\u{0}\\u{202e}c\\u{2066}d\\u{200f}\\u{a}\\u{9}\\u{9b}"
        );
        assert!(matches!(escaped("plain ü 漢字 🙂"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(
            escaped_lines("a\u{1b}\nb\u{202e}\n"),
            "a\\u{1b}\nb\\u{202e}\n"
        );
        assert_eq!(escaped_lines("a\nb\n"), "a\nb\n");
    }

    #[test]
    fn json_stays_the_same_value() {
        let value = serde_json::json!({"id": "a\u{1b}\u{202e}\u{2069}\u{7f}\u{85}\u{2028}b\n"});
        let text = json_escaped(serde_json::to_string_pretty(&value).expect("serializes"));
        assert!(!text.contains(|c| c != '\n' && is_unsafe(c)), "{text}");
        assert!(text.contains(r"\u202e"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, value);
    }
}
