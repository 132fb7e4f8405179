//! Hostile conditions: patterns and value lists that naive matchers would pay for pattern ×
//! input or values × input, against a 1 MiB context value (an agent's prompt), and the
//! documents whose loading or explaining used to grow faster than their size.
//!
//! Each [`Case`] is one policy that denies when its one condition holds and allows otherwise,
//! with a request whose `prompt` the condition reads; [`Case::expected`] is the answer known by
//! construction, checked before anything is timed (and by `cargo test`).

use agen_policy_core::{Action, Limits, PolicySet, Request};
use serde_json::{json, Value};

use crate::rng::Rng;

/// The length in bytes of the hostile inputs.
pub const INPUT_BYTES: usize = 1 << 20;

/// How many values the many-value conditions hold (the default limit per condition).
pub const VALUES: usize = 10_000;

/// One hostile condition and a request for it.
pub struct Case {
    /// The bench's name.
    pub name: &'static str,
    /// The policy document, as JSON text.
    pub document: String,
    /// The request, whose context holds `prompt`.
    pub request: Request,
    /// The decision known by construction: deny when the condition holds.
    pub expected: Action,
}

impl Case {
    fn new(
        name: &'static str,
        op: &str,
        values: Vec<String>,
        ignore_case: bool,
        prompt: &str,
        holds: bool,
    ) -> Case {
        let condition = json!({ "attribute": "prompt", "operator": op, "values": values, "ignore_case": ignore_case });
        Case {
            name,
            document: document(condition),
            // A 1 MiB prompt with its key is past the default allowance of a request's strings
            // (1 MiB in all); a host that takes such prompts raises it, as here.
            request: Request::builder("u", "c", "t")
                .context("prompt", prompt)
                .build_with_limits(&prompt_limits())
                .expect("a valid request"),
            expected: if holds { Action::Deny } else { Action::Allow },
        }
    }

    /// Loads the document.
    pub fn load(&self) -> PolicySet {
        PolicySet::from_json(&self.document).expect("hostile documents are valid")
    }
}

fn document(condition: Value) -> String {
    json!({
        "connectors": [{ "id": "c", "tools": [{ "name": "t" }] }],
        "policies": [{ "id": "p", "name": "Hostile", "connector": "c", "action": "deny",
                       "all_users": true, "tools": "all",
                       "targeting": { "rules": [{ "conditions": [condition] }], "otherwise": "allow" } }]
    })
    .to_string()
}

/// A word of `len` letters of `alphabet`.
fn word(rng: &mut Rng, alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| char::from(*rng.pick(alphabet))).collect()
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

/// [`INPUT_BYTES`] of eight-letter lower-case words separated by spaces.
pub fn prompt() -> String {
    let mut rng = Rng::new(1);
    let mut prompt = String::with_capacity(INPUT_BYTES + 9);
    while prompt.len() + 9 <= INPUT_BYTES {
        prompt.push_str(&word(&mut rng, LETTERS, 8));
        prompt.push(' ');
    }
    while prompt.len() < INPUT_BYTES {
        prompt.push('.');
    }
    prompt
}

/// [`VALUES`] eight-letter words that the prompt does not hold (checked by the cases'
/// expected answers).
pub fn blocklist() -> Vec<String> {
    let mut rng = Rng::new(2);
    (0..VALUES).map(|_| word(&mut rng, LETTERS, 8)).collect()
}

/// The evaluation cases: the issue's two (a 4 KiB glob, a case-folded blocklist) and a
/// [`VALUES`]-value condition of every other string operator, each against a 1 MiB prompt
/// that no value matches, so that the matcher reads all of it.
pub fn cases() -> Vec<Case> {
    let prompt = prompt();
    let a_run = "a".repeat(INPUT_BYTES);
    let mut rng = Rng::new(3);
    // Values that agree with the prompt over its first (or last) 1,000 bytes, then differ:
    // tested one by one, each would read those 1,000 bytes again.
    let head = &prompt[..1000];
    let tail = &prompt[prompt.len() - 1000..];
    let starts: Vec<String> = (0..VALUES)
        .map(|_| format!("{head}{}", word(&mut rng, DIGITS, 6)))
        .collect();
    let ends: Vec<String> = (0..VALUES)
        .map(|_| format!("{}{tail}", word(&mut rng, DIGITS, 6)))
        .collect();
    let words = blocklist();
    let globs: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| match i % 4 {
            0 => format!("{w}*"),
            1 => format!("*{w}"),
            2 => format!("*{w}*"),
            _ => w.clone(),
        })
        .collect();
    // Patterns of no literal shape, tested one by one: a hundred, not ten thousand.
    let general: Vec<String> = words
        .iter()
        .take(100)
        .map(|w| format!("*{}?{}*", &w[..4], &w[4..]))
        .collect();
    vec![
        Case::new(
            "glob_4KiB",
            "matches",
            vec![format!("*{}b*", "a".repeat(4000))],
            false,
            &a_run,
            false,
        ),
        Case::new(
            "contains_ignore_case",
            "contains",
            words.clone(),
            true,
            &prompt,
            false,
        ),
        Case::new("contains", "contains", words, false, &prompt, false),
        Case::new(
            "starts_with",
            "starts_with",
            starts.clone(),
            false,
            &prompt,
            false,
        ),
        Case::new(
            "starts_with_ignore_case",
            "starts_with",
            starts.clone(),
            true,
            &prompt,
            false,
        ),
        Case::new(
            "ends_with",
            "ends_with",
            ends.clone(),
            false,
            &prompt,
            false,
        ),
        Case::new(
            "ends_with_ignore_case",
            "ends_with",
            ends,
            true,
            &prompt,
            false,
        ),
        Case::new("equals", "equals", starts.clone(), false, &prompt, false),
        Case::new("equals_ignore_case", "equals", starts, true, &prompt, false),
        Case::new("matches", "matches", globs.clone(), false, &prompt, false),
        Case::new(
            "matches_ignore_case",
            "matches",
            globs,
            true,
            &prompt,
            false,
        ),
        Case::new(
            "matches_100_general",
            "matches",
            general,
            true,
            &prompt,
            false,
        ),
    ]
}

/// A document of [`VALUES`] distinct regexes, each too large alone (`\w{1,30}` in Unicode
/// mode): loading must refuse it.
pub fn regexes_document() -> String {
    let values: Vec<String> = (0..VALUES).map(|i| format!(r"\w{{1,30}}{i}")).collect();
    document(json!({ "attribute": "prompt", "operator": "regex", "values": values }))
}

/// A document of `n` policies on one connector, all of them allowing every user every tool, and
/// a request they all determine.
pub fn one_connector(n: usize) -> (String, Request) {
    let policies: Vec<Value> = (0..n)
        .map(|i| {
            json!({ "id": format!("p{i:07}"), "name": "Everyone", "connector": "c",
                    "action": "allow", "all_users": true, "tools": "all" })
        })
        .collect();
    let document =
        json!({ "connectors": [{ "id": "c", "tools": [{ "name": "t" }] }], "policies": policies });
    let request = Request::new("u", "c", "t").expect("a valid request");
    (document.to_string(), request)
}

/// The limits the hostile requests are built under: the default, with room for a 1 MiB prompt.
fn prompt_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_request_string_bytes = 8 << 20;
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_gets_its_expected_answer() {
        for case in cases() {
            let set = case.load();
            assert_eq!(
                set.evaluate(&case.request).action(),
                case.expected,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn the_regexes_are_refused() {
        assert!(PolicySet::from_json(&regexes_document()).is_err());
    }

    #[test]
    fn explain_lists_every_policy() {
        let (document, request) = one_connector(1000);
        let set = PolicySet::from_json(&document).expect("valid");
        let explanation = set.explain(&request);
        assert_eq!(explanation.policies.len(), 1000);
        assert!(explanation.policies.iter().all(|p| p.determining));
    }
}
