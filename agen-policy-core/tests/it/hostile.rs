//! Hostile conditions (SECURITY.md): patterns and value lists that cost pattern × input or
//! values × input with naive matchers. At full size (a 1 MB input, 10,000 values, a 4 KB glob)
//! they give the answers known by construction; at sizes where the reference evaluator is quick,
//! the same answers as the reference, for every string operator with and without
//! `ignore_case`.

use agen_policy_core::{Action, Limits, PolicySet, Request};
use serde_json::{json, Value};

use crate::reference;

/// A set whose one policy denies when `condition` holds and allows otherwise.
fn set_of(condition: &Value) -> PolicySet {
    let document = json!({
        "connectors": [{ "id": "c", "tools": [{ "name": "t" }] }],
        "policies": [{ "id": "p", "name": "P", "connector": "c", "action": "deny",
                       "all_users": true, "tools": "all",
                       "targeting": { "rules": [{ "conditions": [condition] }], "otherwise": "allow" } }]
    });
    PolicySet::from_json(&document.to_string()).expect("the document loads")
}

fn condition(op: &str, values: &[String], ignore_case: bool) -> Value {
    json!({ "attribute": "prompt", "operator": op, "values": values, "ignore_case": ignore_case })
}

/// Whether the condition holds on `prompt`. The request's string allowance is raised past its
/// 1 MiB default, as a host may: the bound on evaluation must hold whatever the limits.
fn holds(set: &PolicySet, prompt: &str) -> bool {
    let mut limits = Limits::default();
    limits.max_request_string_bytes = 8 << 20;
    let request = Request::builder("u", "c", "t")
        .context("prompt", prompt)
        .build_with_limits(&limits)
        .expect("a valid request");
    set.evaluate(&request).action() == Action::Deny
}

/// A deterministic stream of words over `alphabet` (xorshift).
struct Words {
    state: u64,
    alphabet: Vec<char>,
}

impl Words {
    fn new(seed: u64, alphabet: &str) -> Words {
        Words {
            state: seed | 1,
            alphabet: alphabet.chars().collect(),
        }
    }

    fn next_index(&mut self, n: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % n as u64) as usize
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let i = self.next_index(self.alphabet.len());
                self.alphabet[i]
            })
            .collect()
    }

    fn words(&mut self, n: usize, len: usize) -> Vec<String> {
        (0..n).map(|_| self.word(len)).collect()
    }
}

/// About 1 MB of eight-letter lower-case words.
fn prompt() -> String {
    let mut words = Words::new(7, "abcdefghijklmnopqrstuvwxyz");
    let mut prompt = String::with_capacity(1 << 20);
    while prompt.len() < 1 << 20 {
        prompt.push_str(&words.word(8));
        prompt.push(' ');
    }
    prompt
}

#[test]
fn a_long_glob_against_a_long_string() {
    let input = "a".repeat(1 << 20);
    for (pattern, ignore_case, end) in [
        (format!("*{}b*", "a".repeat(4000)), false, "b"),
        (format!("*{}B*", "A".repeat(4000)), true, "b"),
        (format!("*{}?b*", "a".repeat(200)), false, "xb"),
    ] {
        let set = set_of(&condition(
            "matches",
            std::slice::from_ref(&pattern),
            ignore_case,
        ));
        assert!(!holds(&set, &input), "{} …", &pattern[..8]);
        assert!(holds(&set, &format!("{input}{end}")), "{} …", &pattern[..8]);
    }
}

#[test]
fn a_blocklist_against_a_long_prompt() {
    let prompt = prompt();
    // Nine letters: never one of the prompt's eight-letter words.
    let blocklist = Words::new(11, "abcdefghijklmnopqrstuvwxyz").words(10_000, 9);
    let set = set_of(&condition("contains", &blocklist, true));
    assert!(!holds(&set, &prompt));
    // One word, in other cases (a Kelvin sign for a `k`, a long s for an `s`), at the end.
    let word = blocklist[9_999]
        .to_uppercase()
        .replace('K', "\u{212A}")
        .replace('S', "ſ");
    assert!(holds(&set, &format!("{prompt}{word}")));
    let exact = set_of(&condition("contains", &blocklist, false));
    assert!(!holds(&exact, &prompt) && !holds(&exact, &format!("{prompt}{word}")));
    assert!(holds(&exact, &format!("{prompt}{}", blocklist[5_000])));
}

#[test]
fn many_values_of_every_string_operator_against_a_long_prompt() {
    let prompt = prompt();
    let head: String = prompt.chars().take(1000).collect();
    let tail: String = prompt.chars().skip(prompt.chars().count() - 1000).collect();
    // Every value shares 1,000 characters with the prompt, then differs.
    let mut w = Words::new(13, "0123456789");
    let starts: Vec<String> = (0..2_000).map(|_| format!("{head}{}", w.word(6))).collect();
    let ends: Vec<String> = (0..2_000).map(|_| format!("{}{tail}", w.word(6))).collect();
    let globs: Vec<String> = (0..10_000)
        .map(|i| match i % 4 {
            0 => format!("{}*", w.word(9)),
            1 => format!("*{}", w.word(9)),
            2 => format!("*{}*", w.word(9)),
            _ => w.word(9),
        })
        .collect();
    for ignore_case in [false, true] {
        let set = set_of(&condition("starts_with", &starts, ignore_case));
        assert!(!holds(&set, &prompt));
        assert!(holds(&set, &format!("{}{}", starts[77], "rest")));
        let set = set_of(&condition("ends_with", &ends, ignore_case));
        assert!(!holds(&set, &prompt));
        assert!(holds(&set, &format!("more {}", ends[1_242])));
        let set = set_of(&condition("equals", &starts, ignore_case));
        assert!(!holds(&set, &prompt) && holds(&set, &starts[1_999]));
        let set = set_of(&condition("matches", &globs, ignore_case));
        assert!(!holds(&set, &prompt));
        for i in [0, 1, 2, 3] {
            let literal = globs[i].trim_matches('*');
            assert!(holds(&set, &format!("{literal}{prompt}")) == (i != 1 && i != 3));
            assert!(holds(&set, &format!("{prompt}{literal}")) == (i == 1 || i == 2));
        }
        assert!(holds(&set, &globs[3]));
    }
}

/// The engine and the reference decide alike on hundreds of values over an alphabet of case
/// variants, against prompts of a few kilobytes that hold some of them.
#[test]
fn the_same_answers_as_the_reference() {
    let alphabet = "abkKsSſßẞσςΣ\u{212A}é";
    let mut w = Words::new(17, alphabet);
    let values: Vec<String> = (0..300).map(|i| w.word(2 + i % 4)).collect();
    let globs: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| match i % 6 {
            0 => format!("{v}*"),
            1 => format!("*{v}"),
            2 => format!("*{v}*"),
            3 => format!("*{v}?{v}*"),
            4 => format!("{v}*{v}"),
            _ => v.clone(),
        })
        .collect();
    let prompts: Vec<String> = (0..12)
        .map(|i| {
            let mut p = w.word(400 + 300 * i);
            if i % 2 == 0 {
                let middle = p.char_indices().nth(200).map_or(0, |(at, _)| at);
                p.insert_str(middle, &w.word(3));
            }
            match i % 3 {
                0 => format!("{}{p}", values[i * 7]),
                1 => format!("{p}{}", values[i * 11]),
                _ => p,
            }
        })
        .chain(values.iter().take(12).cloned())
        .collect();
    for ignore_case in [false, true] {
        for (op, values) in [
            ("contains", &values),
            ("starts_with", &values),
            ("ends_with", &values),
            ("equals", &values),
            ("matches", &globs),
        ] {
            for n in [3, 300] {
                let c = condition(op, &values[..n], ignore_case);
                let set = set_of(&c);
                for p in &prompts {
                    let want = reference::condition(&c, Some(&json!(p))) == Some(true);
                    assert_eq!(
                        holds(&set, p),
                        want,
                        "{op} of {n} ignore_case={ignore_case} on {p:?}"
                    );
                }
            }
        }
    }
    // The reference's regex cache holds this test's patterns only while it runs.
    reference::forget_compiled();
}
