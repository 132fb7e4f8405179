//! `agen-policy test`: SPEC §6 test files.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::{acme, agen, conformance_dir, peer_conformance_dir, Run, TempDir};

/// The last line, `N passed, M failed`, as numbers.
fn tally(stdout: &str) -> (usize, usize) {
    let last = stdout.lines().last().unwrap_or_default();
    let numbers: Vec<usize> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(
        last,
        format!("{} passed, {} failed", numbers[0], numbers[1]),
        "last line of:\n{stdout}"
    );
    (numbers[0], numbers[1])
}

/// Runs `agen-policy test` on `paths`, then any extra arguments.
fn test_paths(paths: &[&Path], extra: &[&str]) -> Run {
    let mut args: Vec<OsString> = vec!["test".into()];
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    args.extend(extra.iter().map(OsString::from));
    agen(&args)
}

#[test]
fn the_shared_conformance_vectors_pass() {
    let run = test_paths(&[&conformance_dir()], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let (passed, failed) = tally(&run.stdout);
    assert_eq!(failed, 0);
    assert!(passed >= 100, "only {passed} checks ran");
}

#[test]
fn the_peer_conformance_vectors_pass() {
    let run = test_paths(&[&peer_conformance_dir()], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let (passed, failed) = tally(&run.stdout);
    assert_eq!(failed, 0);
    assert!(passed >= 500, "only {passed} checks ran");
}

#[test]
fn json_output_counts_like_the_text() {
    let dirs = [conformance_dir(), peer_conformance_dir()];
    let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let text = test_paths(&dirs, &[]);
    let json = test_paths(&dirs, &["--format", "json"]).json();
    let (passed, failed) = tally(&text.stdout);
    assert_eq!(json["passed"], passed);
    assert_eq!(json["failed"], failed);
    let files = json["files"].as_array().expect("a report per file");
    assert!(!files.is_empty());
    for file in files {
        assert_eq!(file["failures"], serde_json::json!([]), "{file}");
    }
}

/// A test file with one right case and one deliberately wrong one.
fn wrong_file(dir: &TempDir) -> String {
    dir.write(
        "wrong.json",
        &format!(
            r#"{{"description": "one right case, one wrong",
                "document_file": {acme:?},
                "cases": [
                  {{"name": "alice reads", "request": {{"user": "alice", "connector": "github", "tool": "list_user_repositories"}},
                    "expect": {{"action": "allow", "reason": "policy", "policies": ["github-read"]}}}},
                  {{"name": "erin creates", "request": {{"user": "erin", "connector": "github", "tool": "create_repository"}},
                    "expect": {{"action": "allow", "policies": ["github-write-engineering"]}}}}
                ]}}"#,
            acme = acme()
        ),
    )
}

#[test]
fn a_wrong_expectation_fails_showing_expected_and_actual() {
    let dir = TempDir::new();
    let file = wrong_file(&dir);
    let run = agen(&["test", &file]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(tally(&run.stdout), (1, 1));
    assert!(run.stdout.contains("FAIL  "), "{run:?}");
    assert!(
        run.stdout
            .contains("case `erin creates`: action, policies differ"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("expected: action allow, policies [github-write-engineering]\n"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(
            "actual:   action deny, reason policy, policies [github-contractors-no-create, \
             github-write-trusted-agents], approval_flows []\n"
        ),
        "{run:?}"
    );

    let json = agen(&["test", "--format", "json", &file]).json();
    assert_eq!(json["passed"], 1);
    assert_eq!(json["failed"], 1);
    let failure = &json["files"][0]["failures"][0];
    assert_eq!(failure["case"], "erin creates");
    assert_eq!(failure["expected"]["action"], "allow");
    assert_eq!(failure["actual"]["action"], "deny");
    assert_eq!(failure["actual"]["reason"], "policy");
}

#[test]
fn only_the_given_fields_are_compared_and_lists_are_sets() {
    let dir = TempDir::new();
    let file = dir.write(
        "sets.json",
        &format!(
            r#"{{"document_file": {acme:?},
                "cases": [
                  {{"name": "action only", "request": {{"user": "alice", "connector": "github", "tool": "create_issue", "context": {{"agent.type": "Claude"}}}},
                    "expect": {{"action": "allow"}}}},
                  {{"name": "any order", "request": {{"user": "alice", "connector": "github", "tool": "create_issue", "context": {{"agent.type": "Claude"}}}},
                    "expect": {{"action": "allow", "policies": ["github-write-trusted-agents", "github-write-engineering"], "approval_flows": []}}}},
                  {{"name": "wrong reason", "request": {{"user": "alice", "connector": "github", "tool": "nope"}},
                    "expect": {{"action": "deny", "reason": "no_policy"}}}}
                ]}}"#,
            acme = acme()
        ),
    );
    let run = agen(&["test", &file]);
    assert_eq!(tally(&run.stdout), (2, 1), "{run:?}");
    assert!(
        run.stdout.contains("case `wrong reason`: reason differs"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("actual:   action deny, reason unknown_tool, policies [], approval_flows []"),
        "{run:?}"
    );
}

#[test]
fn expected_request_errors() {
    let dir = TempDir::new();
    let file = dir.write(
        "requests.json",
        r#"{"document": {"connectors": [{"id": "c", "tools": [{"name": "t"}]}]},
            "cases": [
              {"name": "empty user", "request": {"user": "", "connector": "c", "tool": "t"},
               "expect_error": "invalid_request"},
              {"name": "repeated key", "request": {"user": "u", "connector": "c", "tool": "t",
                                                  "context": {"a": 1, "a": 2}},
               "expect_error": "invalid_request"},
              {"name": "valid after all", "request": {"user": "u", "connector": "c", "tool": "t"},
               "expect_error": "invalid_request"},
              {"name": "invalid after all", "request": {"user": "u", "connector": "c"},
               "expect": {"action": "deny"}}
            ]}"#,
    );
    let run = agen(&["test", &file]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(tally(&run.stdout), (2, 2), "{run:?}");
    assert!(
        run.stdout.contains(
            "case `valid after all`: the request is accepted, but error `invalid_request` is expected"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("actual:   action deny, reason no_policy, policies [], approval_flows []"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("case `invalid after all`: the request is rejected"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("actual:   error invalid_request: missing required field `tool`"),
        "{run:?}"
    );
}

#[test]
fn expected_document_errors() {
    let dir = TempDir::new();
    let file = dir.write(
        "errors.json",
        r#"{"document": {"connectors": [], "policies": [{"id": "p"}, {"id": "p"}]},
            "expect_errors": [
              {"code": "invalid_document", "path": "/policies/0"},
              {"code": "duplicate_id", "path": "/policies/1/id"},
              {"code": "duplicate_id", "path": "/policies/0/id"}
            ]}"#,
    );
    let run = agen(&["test", &file]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(tally(&run.stdout), (2, 1), "{run:?}");
    assert!(
        run.stdout
            .contains("missing error duplicate_id at /policies/0/id\n"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("duplicate_id at /policies/1/id: "),
        "what was found is listed: {run:?}"
    );

    let loads = dir.write(
        "loads.json",
        r#"{"document": {"connectors": []},
            "expect_errors": [{"code": "invalid_document", "path": ""}]}"#,
    );
    let run = agen(&["test", &loads]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(tally(&run.stdout), (0, 1), "{run:?}");
    assert!(
        run.stdout
            .contains("the document loads, but it must fail with: invalid_document at the root"),
        "{run:?}"
    );
}

#[test]
fn malformed_test_files_are_failures() {
    let dir = TempDir::new();
    let cases = [
        ("not_json.json", "{", "not a valid test file: "),
        (
            "typo.json",
            r#"{"document": {"connectors": []}, "case": []}"#,
            "unknown field `case`",
        ),
        (
            "no_document.json",
            r#"{"cases": [{"request": {}, "expect": {"action": "deny"}}]}"#,
            "it needs `document` or `document_file`",
        ),
        (
            "bad_action.json",
            r#"{"document": {"connectors": []}, "cases": [{"request": {}, "expect": {"action": "permit"}}]}"#,
            "unknown variant `permit`",
        ),
        (
            "empty.json",
            r#"{"document": {"connectors": []}, "cases": []}"#,
            "`cases` is empty, so it checks nothing",
        ),
        (
            "missing_document_file.json",
            r#"{"document_file": "data/nowhere.json", "expect_errors": [{"code": "invalid_document", "path": ""}]}"#,
            "cannot read its document_file",
        ),
        (
            "does_not_load.json",
            r#"{"document": {"connectors": 1}, "cases": [{"request": {"user": "u", "connector": "c", "tool": "t"}, "expect": {"action": "deny"}}]}"#,
            "the document does not load (1 error), so no case can run\n",
        ),
    ];
    for (name, text, expected) in cases {
        let file = dir.write(name, text);
        let run = agen(&["test", &file]);
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert_eq!(tally(&run.stdout), (0, 1), "{name}: {run:?}");
        assert!(run.stdout.contains(expected), "{name}: {run:?}");
    }
    // Together: one failure each, and the run goes on past them.
    let run = agen(&["test", &dir.path()]);
    assert_eq!(tally(&run.stdout), (0, cases.len()), "{run:?}");
}

#[test]
fn a_directory_runs_only_the_json_files_directly_inside() {
    let dir = TempDir::new();
    dir.write(
        "ok.json",
        r#"{"document_file": "data/doc.json",
            "cases": [{"name": "n", "request": {"user": "u", "connector": "c", "tool": "t"},
                       "expect": {"action": "allow", "policies": ["p"]}}]}"#,
    );
    dir.write("data/doc.json", crate::SMALL);
    // Neither of these is a test file of the directory.
    dir.write("sub/failing.json", r#"{"document": {}, "cases": []}"#);
    dir.write("notes.txt", "not a test");
    let run = agen(&["test", &dir.path()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(tally(&run.stdout), (1, 0), "{run:?}");
    assert!(run.stdout.contains("ok.json  (1 case)"), "{run:?}");
}

#[test]
fn a_directory_without_test_files_fails() {
    let dir = TempDir::new();
    dir.write("sub/x.json", "{}");
    let run = agen(&["test", &dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(tally(&run.stdout), (0, 1), "{run:?}");
    assert!(
        run.stdout
            .contains("no `*.json` test files in this directory"),
        "{run:?}"
    );
}

#[test]
fn several_paths_add_up() {
    let dir = TempDir::new();
    let file = wrong_file(&dir);
    let run = test_paths(
        &[Path::new(&file), &conformance_dir().join("03_scope.json")],
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let (passed, failed) = tally(&run.stdout);
    assert_eq!(failed, 1);
    assert!(passed > 1, "{run:?}");
}
