//! `eval` and `explain` with the evidence of SPEC §7.2 given as flags.

use crate::{agen, TempDir};

const DOCUMENT: &str = r#"{
  "step_up": {"max_age": 600, "acr_values": ["urn:acme:mfa"]},
  "connectors": [{"id": "github", "tools": [{"name": "create_issue"}, {"name": "delete_repository"}]}],
  "users": [{"id": "alice"}, {"id": "bob"}],
  "approval_flows": [{"id": "review", "steps": [{"users": ["bob"]}]}],
  "policies": [
    {"id": "issues-step-up", "name": "Fresh MFA for issues", "connector": "github",
     "action": "step_up", "all_users": true, "tools": ["create_issue"]},
    {"id": "delete-review", "name": "Deletes need a review", "connector": "github",
     "action": "request_approval", "approval_flow": "review", "all_users": true,
     "tools": ["delete_repository"]}
  ]}"#;

const GRANT: &str = r#"{"id": "apr-1", "flow": "review", "user": "alice", "connector": "github",
  "tool": "delete_repository",
  "arguments": "3b55ba5044f396babe141fa12e0250ed8032537fcc16024cc2c8c32404b73b4a",
  "expires": "2026-11-25T11:00:00Z", "approvers": ["bob"]}"#;

fn eval(dir: &TempDir, tool: &str, extra: &[&str]) -> crate::Run {
    let doc = dir.write("doc.json", DOCUMENT);
    let mut args = vec![
        "eval",
        &doc,
        "--user",
        "alice",
        "--connector",
        "github",
        "--tool",
        tool,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    agen(&args)
}

#[test]
fn a_fresh_authentication_of_the_right_class_satisfies_a_step_up() {
    let dir = TempDir::new();
    let without = eval(&dir, "create_issue", &[]).json();
    assert_eq!(without["action"], "step_up");
    assert_eq!(without["step_up"][0]["max_age"], 600);
    let now = ["--now", "2026-11-25T10:00:00Z"];
    let fresh = eval(
        &dir,
        "create_issue",
        &[
            &now[..],
            &[
                "--auth-time",
                "2026-11-25T09:55:00Z",
                "--acr",
                "urn:acme:mfa",
            ],
        ]
        .concat(),
    )
    .json();
    assert_eq!(fresh["action"], "allow", "{fresh}");
    assert_eq!(fresh["satisfied"], serde_json::json!(["issues-step-up"]));
    let weak = eval(
        &dir,
        "create_issue",
        &[
            &now[..],
            &["--auth-time", "1795600500000", "--acr", "urn:acme:pwd"],
        ]
        .concat(),
    )
    .json();
    assert_eq!(weak["action"], "step_up", "{weak}");
}

#[test]
fn a_grant_file_with_the_arguments_satisfies_an_approval() {
    let dir = TempDir::new();
    let grant = dir.write("grant.json", GRANT);
    let base = ["--now", "2026-11-25T10:30:00Z", "--grant", grant.as_str()];
    let same = eval(
        &dir,
        "delete_repository",
        &[
            &base[..],
            &["--arguments", r#"{"repo": "website", "owner": "acme"}"#],
        ]
        .concat(),
    )
    .json();
    assert_eq!(same["action"], "allow", "{same}");
    let other = eval(
        &dir,
        "delete_repository",
        &[
            &base[..],
            &["--arguments", r#"{"owner": "acme", "repo": "payments"}"#],
        ]
        .concat(),
    )
    .json();
    assert_eq!(other["action"], "request_approval", "{other}");
    let late = eval(
        &dir,
        "delete_repository",
        &[
            "--now",
            "2026-11-25T11:00:00Z",
            "--grant",
            grant.as_str(),
            "--arguments",
            r#"{"owner": "acme", "repo": "website"}"#,
        ],
    )
    .json();
    assert_eq!(
        late["action"], "request_approval",
        "an expired grant: {late}"
    );
}

#[test]
fn malformed_evidence_is_a_usage_error() {
    let dir = TempDir::new();
    let run = eval(&dir, "create_issue", &["--now", "yesterday"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("is not a timestamp"), "{run:?}");
    let run = eval(&dir, "create_issue", &["--auth-time", "1795600500000"]);
    assert_eq!(run.code, 2, "--auth-time needs --now: {run:?}");
    let bad = dir.write("bad-grant.json", r#"{"id": "apr-1"}"#);
    let run = eval(
        &dir,
        "delete_repository",
        &["--now", "1795600800000", "--grant", &bad],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("invalid grant"), "{run:?}");
    let run = eval(&dir, "delete_repository", &["--arguments", "{not json"]);
    assert_eq!(run.code, 2, "{run:?}");
}
