//! The arguments digest (SPEC §8.5): SHA-256 of the RFC 8785 (JSON Canonicalization Scheme)
//! form of a tool call's arguments, so that a grant bound to arguments in one language matches
//! the same call made in another.
//!
//! The canonical form is written here rather than taken from a crate: it is short, and every
//! detail that decides a digest (member order by UTF-16 code units, the string escapes, numbers
//! as ECMAScript prints doubles via `ryu-js`) is checked against the shared vectors.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};
use sha2::{Digest as _, Sha256};

use crate::error::RequestError;

/// The lowercase hex SHA-256 of the RFC 8785 canonical JSON of `value`.
///
/// Numbers are IEEE-754 doubles as RFC 8785 requires: an integer beyond 2^53 becomes the
/// nearest double.
///
/// ```
/// use serde_json::json;
///
/// let a = agen_policy_core::arguments_digest(&json!({"owner": "acme", "repo": "website"}));
/// let b = agen_policy_core::arguments_digest(&json!({"repo": "website", "owner": "acme"}));
/// assert_eq!(a, b);
/// assert_eq!(a, "3b55ba5044f396babe141fa12e0250ed8032537fcc16024cc2c8c32404b73b4a");
/// ```
pub fn arguments_digest(value: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(canonical_json(value).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// [`arguments_digest`] of a JSON text. A text that is not JSON, or that holds a string with a
/// lone surrogate or a number out of the range of doubles, is `invalid_request`.
pub fn arguments_digest_json(text: &str) -> Result<String, RequestError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        RequestError::new(
            "",
            format!("the arguments are not JSON RFC 8785 can canonicalize: {e}"),
        )
    })?;
    Ok(arguments_digest(&value))
}

/// The RFC 8785 canonical JSON text of `value`.
///
/// ```
/// use serde_json::json;
///
/// let text = agen_policy_core::canonical_json(&json!({"b": [1.0, 1e21, -0.0], "a": "\u{7}"}));
/// assert_eq!(text, r#"{"a":"\u0007","b":[1,1e+21,0]}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    // Nesting is bounded by whoever built the value (serde_json's parser stops at 128 levels;
    // bindings check depth while converting), so recursion here is bounded too.
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => write_object(members, out),
    }
}

fn write_object(members: &Map<String, Value>, out: &mut String) {
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    // RFC 8785 §3.2.3: members sorted by their names as arrays of UTF-16 code units.
    sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push('{');
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_value(v, out);
    }
    out.push('}');
}

fn write_number(n: &Number, out: &mut String) {
    // A JSON number is read as the nearest double (RFC 8785 §3.2.2.3); serde_json's numbers are
    // never NaN or infinite.
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        out.push('0'); // -0 prints as 0
    } else {
        out.push_str(ryu_js::Buffer::new().format_finite(f));
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
