//! Exit codes and messages of every error class: 1 invalid document, 2 usage, 3 unreadable.

use crate::{acme, agen, agen_with, TempDir};

const REQUEST: [&str; 6] = [
    "--user",
    "alice",
    "--connector",
    "github",
    "--tool",
    "create_issue",
];

fn eval_with(extra: &[&str]) -> crate::Run {
    let doc = acme();
    let mut args = vec!["eval", doc.as_str()];
    args.extend_from_slice(&REQUEST);
    args.extend_from_slice(extra);
    agen(&args)
}

/// Messages are lowercase and name what is wrong.
fn assert_message(run: &crate::Run, code: i32, contains: &str) {
    assert_eq!(run.code, code, "{run:?}");
    assert_eq!(run.stdout, "", "nothing on stdout: {run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
    let first = run.error().chars().next().unwrap_or_default();
    assert!(!first.is_uppercase(), "lowercase: {run:?}");
    assert!(run.stderr.contains(contains), "`{contains}` in {run:?}");
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [&["--help"][..], &["eval", "--help"], &["test", "--help"]] {
        let run = agen(args);
        assert_eq!(run.code, 0, "{run:?}");
        for line in [
            "0  success",
            "1  the policy document is invalid, or a test failed",
            "2  usage error",
            "3  an input file cannot be read",
        ] {
            assert!(run.stdout.contains(line), "{line} in {run:?}");
        }
    }
}

#[test]
fn bad_flags_exit_2() {
    let run = agen(&["eval", &acme(), "--user", "alice", "--connector", "github"]);
    assert_message(&run, 2, "--tool");
    let run = agen(&["eval", &acme(), "--wat"]);
    assert_message(&run, 2, "--wat");
    let run = agen(&["frobnicate"]);
    assert_message(&run, 2, "frobnicate");
    let run = agen(&["validate", &acme(), "--format", "yaml"]);
    assert_message(&run, 2, "yaml");
    let run = agen(&["test"]);
    assert_message(&run, 2, "FILE_OR_DIR");
    // A request file excludes the request flags.
    let run = agen(&["eval", &acme(), "--request", "r.json", "--user", "alice"]);
    assert_message(&run, 2, "--request");
}

#[test]
fn an_invalid_request_exits_2_with_the_core_message() {
    let run = agen(&[
        "eval",
        &acme(),
        "--user",
        "",
        "--connector",
        "github",
        "--tool",
        "t",
    ]);
    assert_message(
        &run,
        2,
        "invalid request from the command line: at /user: must be a non-empty string",
    );
    let run = agen(&[
        "eval",
        &acme(),
        "--user",
        "a",
        "--connector",
        "github",
        "--tool",
        "t",
        "--group",
        "",
    ]);
    assert_message(&run, 2, "at /groups/0: must be a non-empty string");

    let dir = TempDir::new();
    let file = dir.write(
        "request.json",
        r#"{"user": "a", "connector": "c", "tool": "t", "x": 1}"#,
    );
    let run = agen(&["eval", &acme(), "--request", &file]);
    assert_message(&run, 2, "request.json`: at /x: unknown field `x`");
    let run = agen_with(&["explain", &acme(), "--request", "-"], Some("[1]"), &[]);
    assert_message(
        &run,
        2,
        "invalid request in standard input: a request must be a JSON object",
    );
}

#[test]
fn context_flags_are_checked_by_the_core() {
    let run = eval_with(&["--context-json", r#"a={"b": 1, "b": 2}"#]);
    assert_message(&run, 2, "at /context/a/b: duplicate key `b`");
    let run = eval_with(&["--context-json", "a={"]);
    assert_message(&run, 2, "the value is not JSON");
    let run = eval_with(&["--context-json", "agent.type=ChatGPT"]);
    assert_message(&run, 2, "quote a string, or give it with `--context`");
    let deep = format!("x={}{}", "[".repeat(40), "]".repeat(40));
    let run = eval_with(&["--context-json", &deep]);
    assert_message(&run, 2, "nesting exceeds the limit");
}

#[test]
fn malformed_context_flags_exit_2() {
    let run = eval_with(&["--context", "novalue"]);
    assert_message(&run, 2, "`--context novalue` must be key=value");
    let run = eval_with(&["--context", "=1"]);
    assert_message(&run, 2, "with a non-empty key");
    let run = eval_with(&["--context-json", "{\"a\": 1}"]);
    assert_message(&run, 2, "must be key=JSON with a non-empty key");
    let run = eval_with(&["--context", "a=1", "--context-json", "a=2"]);
    assert_message(&run, 2, "context key `a` is given more than once");
    let run = eval_with(&["--context", "a=1", "--context", "a=1"]);
    assert_message(&run, 2, "context key `a` is given more than once");
}

#[test]
fn both_inputs_from_standard_input_is_a_usage_error() {
    let run = agen_with(&["eval", "-", "--request", "-"], Some("{}"), &[]);
    assert_message(&run, 2, "cannot both be read from standard input");
}

#[test]
fn unreadable_inputs_exit_3() {
    let dir = TempDir::new();
    let missing = format!("{}/missing.json", dir.path());
    let run = agen(&["validate", &missing]);
    assert_message(&run, 3, "cannot read `");
    assert!(
        run.stderr
            .contains("missing.json`: no such file or directory"),
        "{run:?}"
    );

    let mut args = vec!["eval", missing.as_str()];
    args.extend_from_slice(&REQUEST);
    assert_message(&agen(&args), 3, "missing.json");
    assert_message(
        &agen(&["eval", &acme(), "--request", &missing]),
        3,
        "missing.json",
    );
    assert_message(&agen(&["test", &missing]), 3, "missing.json");
    assert_message(&agen(&["validate", &dir.path()]), 3, "it is a directory");
}

#[test]
fn an_invalid_document_exits_1_for_eval_and_explain() {
    let dir = TempDir::new();
    let doc = dir.write(
        "bad.json",
        r#"{"connectors": [], "policies": [{"id": "p"}]}"#,
    );
    for command in ["eval", "explain"] {
        let mut args = vec![command, doc.as_str()];
        args.extend_from_slice(&REQUEST);
        let run = agen(&args);
        assert_message(
            &run,
            1,
            "bad.json` is not a valid policy document (4 errors):",
        );
        assert!(
            run.stderr
                .contains("\n  invalid_document at /policies/0: missing required field `name`"),
            "{run:?}"
        );
    }
}
