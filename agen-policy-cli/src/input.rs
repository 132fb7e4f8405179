//! Turning command-line inputs into what the core takes: document bytes and [`Request`]s.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use agen_policy_core::{
    arguments_digest_json, parse_timestamp, Auth, Code, Grant, Limits, Request, RequestError,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::show::escaped;
use crate::Fatal;

/// The argument that means standard input.
const STDIN: &str = "-";

/// Whether a path argument names standard input.
pub fn is_stdin(path: &OsStr) -> bool {
    path == STDIN
}

/// How an input is named in messages: the path in backticks, escaped, or `standard input`.
pub fn display_name(path: &OsStr) -> String {
    if is_stdin(path) {
        "standard input".to_owned()
    } else {
        format!("`{}`", escaped(&Path::new(path).display().to_string()))
    }
}

/// Why an input was not taken in.
#[derive(Debug)]
pub enum ReadError {
    /// It cannot be read.
    Unreadable(io::Error),
    /// It holds more than `limit` bytes. Reading stopped past the limit, so the rest of it
    /// was never read.
    TooLarge {
        /// The most bytes it may hold.
        limit: usize,
    },
}

impl ReadError {
    /// The error for the input `path`, where its refusal is not one of a document's problems:
    /// unreadable (exit 3), or too large, an invalid `what` (exit 2).
    pub fn into_fatal(self, what: &str, path: &OsStr) -> Fatal {
        match self {
            ReadError::Unreadable(e) => Fatal::Unreadable(format!(
                "cannot read {}: {}",
                display_name(path),
                io_reason(&e)
            )),
            ReadError::TooLarge { limit } => Fatal::Usage(format!(
                "invalid {what} in {}: {}: {}",
                display_name(path),
                Code::LimitExceeded,
                too_large(what, limit)
            )),
        }
    }
}

/// Why an input larger than its limit is refused (the code is `limit_exceeded`).
pub fn too_large(what: &str, limit: usize) -> String {
    format!("{what} is larger than the limit of {limit} bytes")
}

/// Reads a file, or standard input for `-`, of at most `limit` bytes.
pub fn read(path: &OsStr, limit: usize) -> Result<Vec<u8>, ReadError> {
    if is_stdin(path) {
        return read_at_most(io::stdin().lock(), limit, 0);
    }
    read_file(Path::new(path), limit)
}

/// Reads a file of at most `limit` bytes (`-` is a file's name here).
pub fn read_file(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(ReadError::Unreadable)?;
    // A regular file's size spares the buffer's regrowth; it is only a hint, the read is
    // bounded by the limit whatever the size says.
    let hint = file.metadata().map_or(0, |m| m.len());
    read_at_most(file, limit, hint)
}

/// Reads up to `limit` bytes.
// INVARIANT: at most `limit + 1` bytes are ever read, whatever the input (a huge file,
// `/dev/zero`, an endless pipe), so memory is bounded by the limit before any check runs.
fn read_at_most(reader: impl Read, limit: usize, size_hint: u64) -> Result<Vec<u8>, ReadError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(size_hint.min(cap)).unwrap_or(0));
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Unreadable)?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// An I/O error's description, lowercase like every message of the command.
pub fn io_reason(error: &io::Error) -> String {
    let text = match error.kind() {
        io::ErrorKind::NotFound => return "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => return "permission denied".to_owned(),
        io::ErrorKind::IsADirectory => return "it is a directory".to_owned(),
        io::ErrorKind::InvalidData => return "it is not valid utf-8".to_owned(),
        _ => error.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// A request given as flags rather than as a JSON file.
#[derive(Debug, Default)]
pub struct RequestFlags<'a> {
    /// `--user`.
    pub user: &'a str,
    /// `--connector`.
    pub connector: &'a str,
    /// `--tool`.
    pub tool: &'a str,
    /// Every `--group`, in order.
    pub groups: &'a [String],
    /// Every `--context key=value`, in order.
    pub context: &'a [String],
    /// Every `--context-json key=JSON`, in order.
    pub context_json: &'a [String],
    /// `--now`.
    pub now: Option<&'a str>,
    /// `--auth-time`.
    pub auth_time: Option<&'a str>,
    /// `--acr`.
    pub acr: Option<&'a str>,
    /// Every `--grant FILE`, in order.
    pub grants: &'a [std::ffi::OsString],
    /// `--arguments JSON`.
    pub arguments: Option<&'a str>,
}

impl RequestFlags<'_> {
    /// Builds the request. Every check of what a request may hold is the core's; this only
    /// assembles the context and refuses a key given twice, since which value was meant would
    /// be a guess.
    pub fn to_request(&self) -> Result<Request, Fatal> {
        let mut context = Map::new();
        let mut add = |key: &str, value: Value, flag: &str| {
            if context.contains_key(key) {
                return Err(Fatal::Usage(format!(
                    "context key `{}` is given more than once (again by `{flag}`)",
                    escaped(key)
                )));
            }
            context.insert(key.to_owned(), value);
            Ok(())
        };
        for pair in self.context {
            // INVARIANT: a `--context` value is the text as given, never reinterpreted: `2.1`
            // is the version string `2.1`, not a number that a semver condition cannot read.
            let (key, text) = split_pair("--context", "key=value", pair)?;
            add(key, Value::String(text.to_owned()), "--context")?;
        }
        for pair in self.context_json {
            let (key, value) = context_json_pair(pair)?;
            add(key, value, "--context-json")?;
        }
        let mut builder = Request::builder(self.user, self.connector, self.tool)
            .groups(self.groups.iter().cloned())
            .context_map(context);
        if let Some(now) = self.now {
            builder = builder.now(timestamp("--now", now)?);
        }
        if let Some(time) = self.auth_time {
            let mut auth = Auth::at(timestamp("--auth-time", time)?);
            if let Some(acr) = self.acr {
                auth = auth.with_acr(acr);
            }
            builder = builder.auth(auth);
        }
        for path in self.grants {
            builder = builder.grant(grant_file(path)?);
        }
        if let Some(json) = self.arguments {
            let digest = arguments_digest_json(json)
                .map_err(|e| Fatal::Usage(format!("`--arguments`: {}", request_error(&e))))?;
            builder = builder.arguments(digest);
        }
        builder.build().map_err(|e| {
            Fatal::Usage(format!(
                "invalid request from the command line: {}",
                request_error(&e)
            ))
        })
    }
}

/// A timestamp flag: integer Unix milliseconds, or an RFC 3339 date-time with an offset.
fn timestamp(flag: &str, text: &str) -> Result<i64, Fatal> {
    let value = match text.parse::<i64>() {
        Ok(ms) => Value::from(ms),
        Err(_) => Value::String(text.to_owned()),
    };
    parse_timestamp(&value).ok_or_else(|| {
        Fatal::Usage(format!(
            "`{flag} {}` is not a timestamp: give RFC 3339 with an offset \
             (2026-11-25T10:00:00Z) or integer Unix milliseconds",
            brief(text)
        ))
    })
}

/// Reads a `--grant` file: one grant as JSON, at most a request's size.
fn grant_file(path: &std::ffi::OsString) -> Result<Grant, Fatal> {
    let bytes =
        read(path, Limits::default().max_request_bytes).map_err(|e| e.into_fatal("grant", path))?;
    let name = display_name(path);
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Fatal::Usage(format!("the grant in {name} is not JSON: {e}")))?;
    Grant::from_value(&value, "")
        .map_err(|e| Fatal::Usage(format!("invalid grant in {name}: {}", request_error(&e))))
}

/// Parses a SPEC §3 request (a file's contents, or standard input).
pub fn request_from_json(bytes: &[u8], name: &str) -> Result<Request, Fatal> {
    Request::from_slice_with_limits(bytes, &Limits::default())
        .map_err(|e| Fatal::Usage(format!("invalid request in {name}: {}", request_error(&e))))
}

/// A [`RequestError`] as `at /context/a: message` (or without the path for the whole request),
/// escaped: both may quote the request.
pub fn request_error(error: &RequestError) -> String {
    let text = if error.path().is_empty() {
        error.message().to_owned()
    } else {
        format!("at {}: {}", error.path(), error.message())
    };
    escaped(&text).into_owned()
}

/// Splits a flag's `key=…` at the first `=`; the key must not be empty.
fn split_pair<'a>(flag: &str, form: &str, pair: &'a str) -> Result<(&'a str, &'a str), Fatal> {
    match pair.split_once('=') {
        Some((key, rest)) if !key.is_empty() => Ok((key, rest)),
        _ => Err(Fatal::Usage(format!(
            "`{flag} {}` must be {form} with a non-empty key",
            brief(pair)
        ))),
    }
}

/// Splits `key=JSON` and parses the JSON value through the core's request parser: it is the one
/// place that decides what a context may hold (no repeated keys, bounded nesting), so a value
/// given on the command line is held to exactly the rules of one in a request file.
fn context_json_pair(pair: &str) -> Result<(&str, Value), Fatal> {
    let (key, raw) = split_pair("--context-json", "key=JSON", pair)?;
    let invalid = |why: String| {
        Fatal::Usage(format!(
            "invalid request: `--context-json {}`: {why}",
            brief(pair)
        ))
    };
    let Ok(value) = serde_json::from_str::<&RawValue>(raw) else {
        // The core's parser says why, in the words it uses for request files.
        let why = match Request::from_json(raw) {
            Err(e) => request_error(&e),
            Ok(_) => "not JSON".to_owned(),
        };
        return Err(invalid(format!(
            "the value is not JSON ({why}); quote a string, or give it with `--context`"
        )));
    };
    let key_json = serde_json::to_string(key).map_err(|e| invalid(e.to_string()))?;
    // Splicing is safe: the value is exactly one JSON value, so it cannot reach outside the
    // context member it is placed in.
    let wrapped = format!(
        r#"{{"user":"-","connector":"-","tool":"-","context":{{{key_json}:{}}}}}"#,
        value.get()
    );
    let request = Request::from_json(&wrapped).map_err(|e| invalid(request_error(&e)))?;
    let value = request.context().get(key).cloned().unwrap_or(Value::Null);
    Ok((key, value))
}

/// User text cut for a message, escaped.
fn brief(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", escaped(text.get(..cut).unwrap_or_default())),
        None => escaped(text).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flags_request(context: &[&str], context_json: &[&str]) -> Result<Request, Fatal> {
        let context: Vec<String> = context.iter().map(|s| (*s).to_owned()).collect();
        let context_json: Vec<String> = context_json.iter().map(|s| (*s).to_owned()).collect();
        RequestFlags {
            user: "u",
            connector: "c",
            tool: "t",
            groups: &[],
            context: &context,
            context_json: &context_json,
            ..RequestFlags::default()
        }
        .to_request()
    }

    #[test]
    fn context_values_are_strings_as_given() {
        let request = flags_request(
            &[
                "agent.version=2.1",
                "b=false",
                "z=null",
                r#"s="7""#,
                "o={\"type\": \"ChatGPT\"}",
                "agent.type=Claude 3",
                "eq=a=b",
                "empty=",
            ],
            &[],
        )
        .expect("valid");
        assert_eq!(
            Value::Object(request.context().clone()),
            json!({
                "agent.version": "2.1", "b": "false", "z": "null", "s": "\"7\"",
                "o": "{\"type\": \"ChatGPT\"}", "agent.type": "Claude 3", "eq": "a=b", "empty": ""
            })
        );
    }

    #[test]
    fn context_json_values_are_typed() {
        let request = flags_request(
            &["c=3"],
            &[
                "n=2.1",
                "b=false",
                "z=null",
                r#"s="7""#,
                r#"l=[1, "x"]"#,
                r#"agent={"type": "ChatGPT"}"#,
                "eq={\"k\": \"a=b\"}",
            ],
        )
        .expect("valid");
        assert_eq!(
            Value::Object(request.context().clone()),
            json!({
                "c": "3", "n": 2.1, "b": false, "z": null, "s": "7", "l": [1, "x"],
                "agent": {"type": "ChatGPT"}, "eq": {"k": "a=b"}
            })
        );
    }

    #[test]
    fn context_json_values_must_be_json() {
        for (pair, expected) in [
            ("a=ChatGPT", "the value is not JSON"),
            ("a=", "the value is not JSON"),
            (r#"a={"x":"#, "the value is not JSON"),
            (r#"a={"x": 1, "x": 2}"#, "duplicate key `x`"),
            ("novalue", "must be key=JSON with a non-empty key"),
            ("=1", "must be key=JSON with a non-empty key"),
        ] {
            let Err(Fatal::Usage(message)) = flags_request(&[], &[pair]) else {
                panic!("{pair} is accepted");
            };
            assert!(message.contains(expected), "{pair}: {message}");
        }
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        for (pairs, typed) in [
            (&["a=1", "a=1"][..], &[][..]),
            (&["a=1"][..], &["a=1"][..]),
            (&[][..], &["a=1", "a=2"][..]),
        ] {
            let Err(Fatal::Usage(message)) = flags_request(pairs, typed) else {
                panic!("{pairs:?} {typed:?} is accepted");
            };
            assert!(message.contains("`a` is given more than once"), "{message}");
        }
    }

    #[test]
    fn reads_stop_past_the_limit() {
        let read = |bytes: &[u8], limit| read_at_most(bytes, limit, 0);
        assert_eq!(read(b"abc", 3).expect("fits"), b"abc");
        assert!(matches!(
            read(b"abcd", 3),
            Err(ReadError::TooLarge { limit: 3 })
        ));
        // An endless input is refused after limit + 1 bytes.
        assert!(matches!(
            read_at_most(io::repeat(0), 1000, 0),
            Err(ReadError::TooLarge { limit: 1000 })
        ));
    }

    #[test]
    fn io_reasons_are_lowercase() {
        let e = io::Error::other("Something Broke");
        assert_eq!(io_reason(&e), "something Broke");
        let e = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(io_reason(&e), "no such file or directory");
    }
}
