//! Structured inputs for the `evaluate_large` target: string conditions with many values (more
//! than the engine tests one by one, so that its automata and sorted sets decide) against long
//! context strings, both drawn from a small alphabet of letters that case folding joins (ß/ẞ,
//! s/S/ſ, k/K/the Kelvin sign, σ/ς/Σ, é/É), so that values are found, missed and found only
//! under `ignore_case`.
//!
//! Strings stay within a few thousand characters, and a case-sensitive glob has at most two
//! stars, the second one last: the reference evaluator matches those with a plain recursive
//! matcher, quadratic or worse beyond (case-folded globs go through its regexes, any shape).

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{json, Value};

const ALPHABET: &[char] = &[
    'a', 'b', 'A', 'B', 's', 'S', 'ſ', 'ß', 'ẞ', 'k', 'K', '\u{212A}', 'σ', 'ς', 'Σ', 'é', 'É',
    ' ', 'x',
];
/// What a glob adds to the alphabet.
const GLOB_EXTRA: &[&str] = &["*", "?", "\\*", "\\?", "\\\\"];
const OPERATORS: &[&str] = &[
    "equals",
    "matches",
    "regex",
    "starts_with",
    "ends_with",
    "contains",
];
const REGEXES: &[&str] = &["^a+b", "(?i)kß$", "[sS]{3}", "é|É", "σς", "^$", "b{2,}"];
/// The longest context string, in characters.
const MAX_CHARS: usize = 4096;

fn short(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| u.choose(ALPHABET).copied()).collect()
}

/// A long string: pieces of the alphabet, some repeated many times.
fn long(u: &mut Unstructured<'_>) -> Result<String> {
    let mut s = String::new();
    let mut chars = 0;
    for _ in 0..u.int_in_range(1..=6)? {
        let piece = short(u, 12)?;
        let times = if u.ratio(1, 2)? {
            u.int_in_range(1..=2000)?
        } else {
            1
        };
        let piece_chars = piece.chars().count().max(1);
        let times = times.min((MAX_CHARS - chars) / piece_chars);
        for _ in 0..times {
            s.push_str(&piece);
        }
        chars += piece_chars * times;
        if chars >= MAX_CHARS {
            break;
        }
    }
    Ok(s)
}

/// A piece of `text` (some value should be found), in other cases maybe.
fn cut(u: &mut Unstructured<'_>, text: &str) -> Result<String> {
    let chars: Vec<char> = text.chars().collect();
    let start = u.int_in_range(0..=chars.len())?;
    let len = u.int_in_range(0..=24)?;
    let piece: String = chars.iter().skip(start).take(len).collect();
    if u.ratio(1, 3)? {
        Ok(piece.to_uppercase())
    } else {
        Ok(piece)
    }
}

fn glob(u: &mut Unstructured<'_>, text: &str, ignore_case: bool) -> Result<String> {
    let mut pattern = String::new();
    let mut stars = 0;
    for _ in 0..u.int_in_range(0..=5)? {
        match u.int_in_range(0..=5)? {
            0 | 1 if ignore_case || stars < 1 => {
                pattern.push('*');
                stars += 1;
            }
            2 => pattern.push_str(u.choose(GLOB_EXTRA)?.trim_start_matches('*')),
            3 => pattern.push_str(&cut(u, text)?.replace(['*', '?', '\\'], "")),
            _ => pattern.push_str(&short(u, 4)?),
        }
    }
    // A second star, last: `*abc*`, `ab*c?d*`, which have a middle segment.
    if !ignore_case && stars == 1 && !pattern.ends_with('*') && u.arbitrary()? {
        pattern.push('*');
    }
    Ok(pattern)
}

/// A document of one connector and tool, and requests whose context holds long strings.
#[derive(Debug)]
pub struct LargeCase {
    /// The policy document.
    pub document: Value,
    /// Requests in SPEC §3 form.
    pub requests: Vec<Value>,
}

impl<'a> Arbitrary<'a> for LargeCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let texts: Vec<String> = (0..3).map(|_| long(u)).collect::<Result<_>>()?;
        let mut policies = Vec::new();
        for i in 0..u.int_in_range(1..=2)? {
            let mut rules = Vec::new();
            for _ in 0..u.int_in_range(1..=2)? {
                let mut conditions = Vec::new();
                for _ in 0..u.int_in_range(1..=2)? {
                    let op = *u.choose(OPERATORS)?;
                    let ignore_case = op != "regex" && u.arbitrary()?;
                    // Often more than 8 values: the engine's sets, not its one-by-one tests.
                    let n = if u.ratio(2, 3)? {
                        u.int_in_range(9..=32)?
                    } else {
                        u.int_in_range(1..=8)?
                    };
                    let mut values = Vec::with_capacity(n);
                    for _ in 0..n {
                        let text = u.choose(&texts)?;
                        let v = match op {
                            "matches" => glob(u, text, ignore_case)?,
                            "regex" => (*u.choose(REGEXES)?).to_owned(),
                            "equals" if u.ratio(1, 8)? => text.clone(),
                            _ if u.ratio(1, 2)? => cut(u, text)?,
                            _ => short(u, 6)?,
                        };
                        values.push(json!(v));
                    }
                    let attribute = if u.ratio(1, 4)? { "items" } else { "prompt" };
                    conditions.push(
                        json!({ "attribute": attribute, "operator": op, "values": values,
                                            "ignore_case": ignore_case, "negate": u.ratio(1, 5)? }),
                    );
                }
                rules.push(json!({ "conditions": conditions }));
            }
            policies.push(json!({
                "id": format!("p{i}"), "name": format!("Policy {i}"), "connector": "c",
                "action": *u.choose(&["allow", "step_up", "request_approval", "deny"])?,
                "all_users": true, "tools": "all",
                "targeting": { "rules": rules,
                               "otherwise": *u.choose(&["allow", "deny", "none"])? },
            }));
        }
        let document = json!({
            "connectors": [{ "id": "c", "tools": [{ "name": "t" }] }],
            "policies": policies,
        });
        let mut requests = Vec::new();
        for _ in 0..u.int_in_range(1..=2)? {
            let prompt = u.choose(&texts)?.clone();
            let items: Vec<Value> = (0..u.int_in_range(0..=3)?)
                .map(|_| u.choose(&texts).map(|t| json!(t)))
                .collect::<Result<_>>()?;
            requests.push(json!({ "user": "u", "connector": "c", "tool": "t",
                                  "context": { "prompt": prompt, "items": items } }));
        }
        Ok(LargeCase { document, requests })
    }
}
