//! A JSON tree that keeps what `serde_json::Value` drops: the order of object members and
//! duplicate keys (so the loader can report them), with a nesting bound checked while parsing.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A parsed JSON value. Objects keep every member in document order, duplicates included.
/// Strings and keys without escapes borrow from the input, which spares most allocations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// The JSON type's name, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }

    /// Converts to a `serde_json::Value`; of duplicate keys the last wins (callers reject
    /// duplicates before they get here).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// A short rendering for messages: scalars in full (long strings cut), containers by kind.
    pub(crate) fn brief(&self) -> String {
        match self {
            Json::Null => "null".to_owned(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => brief_str(s),
            Json::Array(_) => "a list".to_owned(),
            Json::Object(_) => "an object".to_owned(),
        }
    }
}

/// A string quoted for a message, cut after 80 characters.
pub(crate) fn brief_str(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("\"{}…\"", s.get(..cut).unwrap_or_default()),
        None => format!("{s:?}"),
    }
}

/// Why text did not parse.
#[derive(Debug)]
pub(crate) enum ParseError {
    /// Not JSON (or not UTF-8).
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// Nested deeper than allowed.
    TooDeep {
        max_depth: usize,
        line: usize,
        column: usize,
    },
}

/// Parses JSON text, allowing at most `max_depth` levels of arrays and objects.
pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Json<'_>, ParseError> {
    // A UTF-8 byte-order mark is not JSON, but editors write one; RFC 8259 lets a parser
    // ignore it, and naming it in an error would help nobody.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let too_deep = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Seed {
        depth_left: max_depth,
        too_deep: &too_deep,
    };
    let result = seed.deserialize(&mut de).and_then(|json| {
        de.end()?;
        Ok(json)
    });
    result.map_err(|e| {
        if too_deep.get() || e.to_string().starts_with("recursion limit exceeded") {
            ParseError::TooDeep {
                max_depth,
                line: e.line(),
                column: e.column(),
            }
        } else {
            ParseError::Syntax {
                message: syntax_message(&e),
                line: e.line(),
                column: e.column(),
            }
        }
    })
}

/// serde_json's message without its " at line L column C" suffix (callers report those apart).
fn syntax_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full.get(..i).unwrap_or(&full).to_owned(),
        None => full,
    }
}

#[derive(Clone, Copy)]
struct Seed<'c> {
    depth_left: usize,
    too_deep: &'c Cell<bool>,
}

impl Seed<'_> {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(Seed { depth_left, ..self }),
            None => {
                self.too_deep.set(true);
                Err(E::custom("nesting too deep"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.nested()?;
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key_seed(Text)? {
            let value = map.next_value_seed(inner)?;
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicate_members_in_order() {
        let json = parse(br#"{"b":1,"a":2,"b":3}"#, 8).ok();
        let Some(Json::Object(members)) = json else {
            panic!("an object")
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["b", "a", "b"]);
    }

    #[test]
    fn depth_is_bounded() {
        assert!(parse(b"[[[]]]", 3).is_ok());
        assert!(matches!(
            parse(b"[[[[]]]]", 3),
            Err(ParseError::TooDeep { max_depth: 3, .. })
        ));
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse(deep.as_bytes(), 1000),
            Err(ParseError::TooDeep { .. })
        ));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let Err(ParseError::Syntax { line, column, .. }) = parse(b"{\n  \"a\": ,\n}", 8) else {
            panic!("a syntax error")
        };
        assert_eq!((line, column), (2, 8));
    }

    #[test]
    fn brief_cuts_long_strings() {
        let long = "x".repeat(200);
        assert!(brief_str(&long).ends_with("…\""));
        assert_eq!(brief_str("ab"), "\"ab\"");
    }
}
