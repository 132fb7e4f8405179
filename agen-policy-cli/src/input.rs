//! Turning command-line inputs into what the core takes: document bytes and [`Request`]s.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::Path;

use agen_policy_core::{Limits, Request, RequestError};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::Fatal;

/// The argument that means standard input.
const STDIN: &str = "-";

/// Whether a path argument names standard input.
pub fn is_stdin(path: &OsStr) -> bool {
    path == STDIN
}

/// How an input is named in messages.
pub fn display_name(path: &OsStr) -> String {
    if is_stdin(path) {
        "standard input".to_owned()
    } else {
        format!("`{}`", Path::new(path).display())
    }
}

/// Reads a file, or standard input for `-`.
pub fn read(path: &OsStr) -> Result<Vec<u8>, Fatal> {
    let result = if is_stdin(path) {
        let mut bytes = Vec::new();
        io::stdin().lock().read_to_end(&mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    result.map_err(|e| {
        Fatal::Unreadable(format!(
            "cannot read {}: {}",
            display_name(path),
            io_reason(&e)
        ))
    })
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
    /// Every `--context-json`, in order.
    pub context_json: &'a [String],
}

impl RequestFlags<'_> {
    /// Builds the request. Every check of what a request may hold is the core's; this only
    /// assembles the context and refuses a key given twice, since which value was meant would
    /// be a guess.
    pub fn to_request(&self) -> Result<Request, Fatal> {
        let mut context = Map::new();
        let mut add = |key: String, value: Value, flag: &str| {
            if context.contains_key(&key) {
                return Err(Fatal::Usage(format!(
                    "context key `{key}` is given more than once (again by `{flag}`)"
                )));
            }
            context.insert(key, value);
            Ok(())
        };
        for text in self.context_json {
            let object = context_from_json(text).map_err(|e| {
                Fatal::Usage(format!(
                    "invalid request: `--context-json {}`: {}",
                    brief(text),
                    e
                ))
            })?;
            for (key, value) in object {
                add(key, value, "--context-json")?;
            }
        }
        for pair in self.context {
            let (key, value) = context_pair(pair)?;
            add(key, value, "--context")?;
        }
        Request::builder(self.user, self.connector, self.tool)
            .groups(self.groups.iter().cloned())
            .context_map(context)
            .build()
            .map_err(|e| {
                Fatal::Usage(format!(
                    "invalid request from the command line: {}",
                    request_error(&e)
                ))
            })
    }
}

/// Parses a SPEC §3 request (a file's contents, or standard input).
pub fn request_from_json(bytes: &[u8], name: &str) -> Result<Request, Fatal> {
    Request::from_slice_with_limits(bytes, &Limits::default())
        .map_err(|e| Fatal::Usage(format!("invalid request in {name}: {}", request_error(&e))))
}

/// A [`RequestError`] as `at /context/a: message` (or without the path for the whole request).
pub fn request_error(error: &RequestError) -> String {
    if error.path().is_empty() {
        error.message().to_owned()
    } else {
        format!("at {}: {}", error.path(), error.message())
    }
}

/// Splits `key=value`; the value is JSON when it parses as JSON, else the string as given.
fn context_pair(pair: &str) -> Result<(String, Value), Fatal> {
    let usage = || {
        Fatal::Usage(format!(
            "`--context {}` must be key=value with a non-empty key",
            brief(pair)
        ))
    };
    let (key, raw) = pair.split_once('=').ok_or_else(usage)?;
    if key.is_empty() {
        return Err(usage());
    }
    if serde_json::from_str::<&RawValue>(raw).is_err() {
        return Ok((key.to_owned(), Value::String(raw.to_owned())));
    }
    let key_json = serde_json::to_string(key).map_err(|e| Fatal::Usage(e.to_string()))?;
    let mut object = context_from_json(&format!("{{{key_json}:{raw}}}")).map_err(|e| {
        Fatal::Usage(format!(
            "invalid request: `--context {}`: {}",
            brief(pair),
            e
        ))
    })?;
    let value = object.remove(key).unwrap_or(Value::Null);
    Ok((key.to_owned(), value))
}

/// Parses a JSON object as a request context, through the core's request parser: it is the one
/// place that decides what a context may hold (no repeated keys, bounded nesting), so a context
/// given on the command line is held to exactly the rules of one given in a request file.
/// Returns the problem as a message on failure.
fn context_from_json(text: &str) -> Result<Map<String, Value>, String> {
    let Ok(raw) = serde_json::from_str::<&RawValue>(text) else {
        // Not one JSON value: the core's parser says why, in the words it uses for request files.
        return Err(match Request::from_json(text) {
            Err(e) => request_error(&e),
            Ok(_) => "not JSON".to_owned(),
        });
    };
    // Splicing is safe: the text is exactly one JSON value, so it cannot reach outside the
    // `context` member it is placed in.
    let wrapped = format!(
        r#"{{"user":"-","connector":"-","tool":"-","context":{}}}"#,
        raw.get()
    );
    Request::from_json(&wrapped)
        .map(|r| r.context().clone())
        .map_err(|e| request_error(&e))
}

/// User text cut for a message.
fn brief(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
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
        }
        .to_request()
    }

    #[test]
    fn context_values_are_json_when_they_parse() {
        let request = flags_request(
            &[
                "n=1.5",
                "b=false",
                "z=null",
                r#"s="7""#,
                "o={\"type\": \"ChatGPT\"}",
                "agent.type=Claude 3",
                "eq=a=b",
                "empty=",
                "broken={\"a\":",
            ],
            &[],
        )
        .expect("valid");
        assert_eq!(
            Value::Object(request.context().clone()),
            json!({
                "n": 1.5, "b": false, "z": null, "s": "7", "o": {"type": "ChatGPT"},
                "agent.type": "Claude 3", "eq": "a=b", "empty": "", "broken": "{\"a\":"
            })
        );
    }

    #[test]
    fn context_json_objects_merge_with_pairs() {
        let request =
            flags_request(&["c=3"], &[r#"{"a": 1}"#, r#"{"b": {"x": [2]}}"#]).expect("valid");
        assert_eq!(
            Value::Object(request.context().clone()),
            json!({"a": 1, "b": {"x": [2]}, "c": 3})
        );
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        for (pairs, objects) in [
            (&["a=1", "a=1"][..], &[][..]),
            (&["a=1"][..], &[r#"{"a": 1}"#][..]),
            (&[][..], &[r#"{"a": 1}"#, r#"{"a": 2}"#][..]),
        ] {
            let Err(Fatal::Usage(message)) = flags_request(pairs, objects) else {
                panic!("{pairs:?} {objects:?} is accepted");
            };
            assert!(message.contains("`a` is given more than once"), "{message}");
        }
    }

    #[test]
    fn io_reasons_are_lowercase() {
        let e = io::Error::other("Something Broke");
        assert_eq!(io_reason(&e), "something Broke");
        let e = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(io_reason(&e), "no such file or directory");
    }
}
