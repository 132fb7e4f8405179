//! User text cannot act on the terminal: control and bidirectional characters in ids, names,
//! request values, keys and file names are printed escaped (`\u{1b}`), in every command's text,
//! on standard error, and in JSON.

use crate::{agen, agen_with, Run, TempDir};

/// Every character that must never reach the terminal as it is.
fn is_unsafe(c: char) -> bool {
    c != '\n'
        && (c.is_control()
            || matches!(
                c,
                '\u{061c}'
                    | '\u{200e}'
                    | '\u{200f}'
                    | '\u{202a}'..='\u{202e}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{2028}'
                    | '\u{2029}'
            ))
}

fn assert_clean(run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if let Some(c) = text.chars().find(|&c| is_unsafe(c)) {
            panic!("{stream} holds {c:?} as it is: {run:?}");
        }
    }
}

/// A policy id with an OSC title sequence, BEL and a right-to-left override; a connector id
/// with a colour sequence; a tool name with an isolate; a name with a line break.
const EVIL_DOC: &str = r#"{
  "connectors": [{"id": "c\u001b[31m", "tools": [{"name": "t\u2066"}]}],
  "policies": [{"id": "p\u001b]0;owned\u0007\u202egnp.exe", "name": "N\u001b[2J\nfake",
                "connector": "c\u001b[31m", "action": "allow", "all_users": true,
                "tools": ["t\u2066"],
                "targeting": {"rules": [{"conditions": [
                  {"attribute": "agent.note", "operator": "starts_with", "values": ["v"]}]}],
                  "otherwise": "deny"}},
               {"id": "line\nbreak", "name": "L", "connector": "c\u001b[31m", "action": "allow",
                "all_users": true, "tools": ["t\u2066"]}]
}"#;

fn evil_request(command: &str, doc: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        command,
        doc,
        "--user",
        "u\u{1b}[0m",
        "--connector",
        "c\u{1b}[31m",
        "--tool",
        "t\u{2066}",
        "--context",
        "agent.note=v\u{7}\u{202e}",
    ];
    args.extend_from_slice(extra);
    agen(&args)
}

#[test]
fn eval_shows_ids_escaped_on_one_line() {
    let dir = TempDir::new();
    let doc = dir.write("evil.json", EVIL_DOC);
    let run = evil_request("eval", &doc, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_clean(&run);
    assert_eq!(
        run.stdout,
        "allow (policy: line\\u{a}break, p\\u{1b}]0;owned\\u{7}\\u{202e}gnp.exe)\n"
    );
}

#[test]
fn explain_shows_ids_names_and_values_escaped() {
    let dir = TempDir::new();
    let doc = dir.write("evil.json", EVIL_DOC);
    let run = evil_request("explain", &doc, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_clean(&run);
    for expected in [
        "request:  user u\\u{1b}[0m (not in the directory; no groups) calls c\\u{1b}[31m / t\\u{2066}\n",
        "  * p\\u{1b}]0;owned\\u{7}\\u{202e}gnp.exe [allow] ",
        "  * line\\u{a}break [allow] ",
        // The request value: BEL as JSON escapes it, the override as the command does.
        "(value \"v\\u0007\\u{202e}\")",
    ] {
        assert!(run.stdout.contains(expected), "{expected} in {run:?}");
    }
    // The line break of the name does not start a line of its own.
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("fake")),
        "{run:?}"
    );
}

#[test]
fn json_output_escapes_what_serde_leaves_and_keeps_the_values() {
    let dir = TempDir::new();
    let doc = dir.write("evil.json", EVIL_DOC);
    for command in ["eval", "explain"] {
        let run = evil_request(command, &doc, &["--format", "json"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_clean(&run);
        assert!(run.stdout.contains("\\u202e"), "{run:?}");
        let json = run.json();
        let policies = if command == "eval" {
            json["policies"].clone()
        } else {
            json["decision"]["policies"].clone()
        };
        assert_eq!(
            policies,
            serde_json::json!(["line\nbreak", "p\u{1b}]0;owned\u{7}\u{202e}gnp.exe"])
        );
    }
    let run = agen(&["validate", "--format", "json", &doc]);
    assert_clean(&run);
}

#[test]
fn validate_shows_problems_and_file_names_escaped() {
    let dir = TempDir::new();
    let doc = dir.write(
        "bad\u{1b}[31m\u{202e}.json",
        r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
            "policies": [{"id": "p", "name": "P", "connector": "c\u001b[2J\u2067",
                          "action": "allow", "all_users": true, "tools": "all"}]}"#,
    );
    let run = agen(&["validate", &doc]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_clean(&run);
    assert!(
        run.stdout
            .contains("error: unknown_connector at /policies/0/connector: unknown connector `c\\u{1b}[2J\\u{2067}`"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("bad\\u{1b}[31m\\u{202e}.json: invalid, 1 error and 0 warnings"),
        "{run:?}"
    );
    // The same problems on standard error for eval.
    let run = agen(&[
        "eval",
        &doc,
        "--user",
        "u",
        "--connector",
        "c",
        "--tool",
        "t",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_clean(&run);
    assert!(
        run.stderr.contains("bad\\u{1b}[31m\\u{202e}.json` is not"),
        "{run:?}"
    );
}

#[test]
fn test_reports_show_case_names_and_ids_escaped() {
    let dir = TempDir::new();
    dir.write("data/evil.json", EVIL_DOC);
    let file = dir.write(
        "evil-test.json",
        r#"{"document_file": "data/evil.json",
            "cases": [{"name": "case\u001b[8m\nok    forged.json  (1 case)",
                       "request": {"user": "u", "connector": "c\u001b[31m", "tool": "t\u2066",
                                   "context": {"agent.note": "v"}},
                       "expect": {"action": "deny", "policies": ["x\u202e"]}}]}"#,
    );
    let run = agen(&["test", &file]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_clean(&run);
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("ok ")),
        "no forged line: {run:?}"
    );
    assert!(
        run.stdout.contains(
            "case `case\\u{1b}[8m\\u{a}ok    forged.json  (1 case)`: action, policies differ"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("expected: action deny, policies [x\\u{202e}]"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("policies [line\\u{a}break, p\\u{1b}]0;owned\\u{7}\\u{202e}gnp.exe]"),
        "{run:?}"
    );
}

#[test]
fn messages_on_standard_error_are_escaped() {
    let doc = crate::acme();
    let base = [
        "eval",
        doc.as_str(),
        "--user",
        "u",
        "--connector",
        "c",
        "--tool",
        "t",
    ];
    let mut args = base.to_vec();
    args.extend(["--context", "k\u{1b}[1m\n=1", "--context", "k\u{1b}[1m\n=2"]);
    let run = agen(&args);
    assert_eq!(run.code, 2, "{run:?}");
    assert_clean(&run);
    assert_eq!(
        run.stderr,
        "error: context key `k\\u{1b}[1m\\u{a}` is given more than once (again by `--context`)\n"
    );
    // The core's message about a request, which quotes it.
    let run = agen_with(
        &["eval", &doc, "--request", "-"],
        Some(r#"{"user": "u", "connector": "c", "tool": "t", "x\u001b[5m\u202e": 1}"#),
        &[],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_clean(&run);
    assert!(run.stderr.contains("x\\u{1b}[5m\\u{202e}"), "{run:?}");
    // The argument parser's own messages quote arguments too.
    let run = agen(&["validate", &doc, "--format", "t\u{1b}[31m\u{202e}"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_clean(&run);
    assert!(run.stderr.contains("t\\u{1b}[31m\\u{202e}"), "{run:?}");
}
