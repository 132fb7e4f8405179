//! `agen-policy validate`.

use crate::{acme, agen, agen_with, TempDir, SMALL};

#[test]
fn the_bundled_example_is_valid() {
    let run = agen(&["validate", &acme()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .ends_with("acme.json: valid, 0 errors and 0 warnings\n"),
        "{run:?}"
    );
}

#[test]
fn every_error_is_listed_with_code_and_path_and_exit_is_1() {
    let dir = TempDir::new();
    let doc = dir.write(
        "bad.json",
        r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}, {"name": "t"}]}],
            "policies": [{"id": "p", "name": " ", "connector": "c", "action": "allow",
                          "tools": ["t"], "acton": "deny"}]}"#,
    );
    let run = agen(&["validate", &doc]);
    assert_eq!(run.code, 1, "{run:?}");
    for expected in [
        "error: duplicate_id at /connectors/0/tools/1/name: ",
        "error: empty_name at /policies/0/name: ",
        "error: invalid_document at /policies/0/acton: ",
    ] {
        assert!(run.stdout.contains(expected), "{expected} in {run:?}");
    }
    assert!(run.stdout.contains("invalid, 3 errors"), "{run:?}");
}

#[test]
fn a_syntax_error_gives_line_and_column() {
    let dir = TempDir::new();
    let doc = dir.write("syntax.json", "{\n  \"connectors\": [\n    oops\n  ]\n}\n");
    let run = agen(&["validate", &doc]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("error: invalid_document at the root: "),
        "{run:?}"
    );
    assert!(run.stdout.contains("line 3"), "{run:?}");

    let json = agen(&["validate", "--format", "json", &doc]).json();
    let problem = &json["problems"][0];
    assert_eq!(problem["code"], "invalid_document");
    assert_eq!(problem["path"], "");
    assert_eq!(problem["line"], 3);
    assert_eq!(problem["column"], 5);
}

#[test]
fn warnings_alone_exit_0() {
    let dir = TempDir::new();
    let doc = dir.write(
        "warn.json",
        r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
            "users": [{"id": "alice"}],
            "policies": [{"id": "p", "name": "P", "connector": "c", "action": "allow",
                          "users": ["zed"], "tools": ["t"]}]}"#,
    );
    let run = agen(&["validate", &doc]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("warning: unknown_user at /policies/0/users/0: "),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("valid, 0 errors and 1 warning\n"),
        "{run:?}"
    );
}

#[test]
fn json_output_has_valid_problems_and_warnings() {
    let json = agen(&["validate", "--format", "json", &acme()]).json();
    assert_eq!(json["valid"], true);
    assert_eq!(json["problems"], serde_json::json!([]));
    assert_eq!(json["warnings"], serde_json::json!([]));

    let run = agen_with(
        &["validate", "-", "--format", "json"],
        Some(r#"{"connectors": [], "version": 2}"#),
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["problems"][0]["code"], "unsupported_version");
    assert_eq!(json["problems"][0]["path"], "/version");
}

#[test]
fn standard_input_is_read_for_dash() {
    let run = agen_with(&["validate", "-"], Some(SMALL), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("standard input: valid"), "{run:?}");
}
