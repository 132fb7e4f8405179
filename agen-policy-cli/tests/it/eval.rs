//! `agen-policy eval` and `agen-policy explain`.

use serde_json::json;

use crate::{acme, agen, agen_with, TempDir};

fn eval(extra: &[&str]) -> crate::Run {
    let doc = acme();
    let mut args = vec!["eval", doc.as_str()];
    args.extend_from_slice(extra);
    agen(&args)
}

#[test]
fn a_decision_is_one_line() {
    let run = eval(&[
        "--user",
        "erin",
        "--connector",
        "github",
        "--tool",
        "create_repository",
        "--context",
        "agent.type=ChatGPT",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "deny (policy: github-contractors-no-create)\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn approval_flows_are_shown() {
    let run = eval(&[
        "--user",
        "alice",
        "--connector",
        "github",
        "--tool",
        "delete_repository",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "request_approval (policy: github-delete-approval) via approval flow security-review\n"
    );
}

#[test]
fn json_output_is_the_decision_object() {
    let run = eval(&[
        "--format",
        "json",
        "--user",
        "alice",
        "--connector",
        "github",
        "--tool",
        "delete_repository",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["action"], "request_approval");
    assert_eq!(json["reason"], "policy");
    assert_eq!(json["policies"], json!(["github-delete-approval"]));
    assert_eq!(json["approval_flows"], json!(["security-review"]));
}

#[test]
fn reasons_other_than_policy() {
    let run = eval(&["--user", "alice", "--connector", "slack", "--tool", "post"]);
    assert_eq!(run.stdout, "deny (unknown_connector)\n", "{run:?}");
    let run = eval(&[
        "--user",
        "alice",
        "--connector",
        "github",
        "--tool",
        "transfer_repository",
    ]);
    assert_eq!(run.stdout, "deny (tool_disabled)\n", "{run:?}");
}

#[test]
fn context_values_are_strings_and_context_json_values_are_typed() {
    let get_file = [
        "--user",
        "alice",
        "--connector",
        "google_drive",
        "--tool",
        "get_file",
    ];
    // `false` as JSON is the boolean the targeting compares with.
    let mut args = get_file.to_vec();
    args.extend(["--context-json", "agent.trusted=false"]);
    assert_eq!(
        eval(&args).stdout,
        "request_approval (policy: drive-untrusted-agents) via approval flow security-review\n"
    );
    // `--context` keeps the text: the string "false" does not match and the policy drops out.
    for value in [
        "agent.trusted=false",
        r#"agent.trusted="false""#,
        "agent.trusted=nope",
    ] {
        let mut args = get_file.to_vec();
        args.extend(["--context", value]);
        assert_eq!(
            eval(&args).stdout,
            "allow (policy: drive-everyone)\n",
            "{value}"
        );
    }
}

/// A document whose one policy allows agents newer than 2.0.0, and otherwise drops out.
const SEMVER: &str = r#"{
  "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
  "policies": [{"id": "new-agents", "name": "New agents", "connector": "c", "action": "allow",
                "all_users": true, "tools": "all",
                "targeting": {"rules": [{"conditions": [
                  {"attribute": "agent.version", "operator": "semver_gt", "values": ["2.0.0"]}]}],
                  "otherwise": "none"}}]
}"#;

#[test]
fn a_context_version_stays_a_string_for_semver_conditions() {
    let dir = TempDir::new();
    let doc = dir.write("semver.json", SEMVER);
    let request = |flag: &str, value: &str| {
        let args = [
            "eval",
            &doc,
            "--user",
            "u",
            "--connector",
            "c",
            "--tool",
            "t",
            flag,
            value,
        ];
        let run = agen(&args);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
    };
    // `2.1` is the version "2.1", newer than 2.0.0: not the number 2.1, which no semver
    // condition can read.
    assert_eq!(
        request("--context", "agent.version=2.1"),
        "allow (policy: new-agents)\n"
    );
    assert_eq!(
        request("--context-json", r#"agent.version="2.1""#),
        "allow (policy: new-agents)\n"
    );
    assert_eq!(
        request("--context-json", "agent.version=2.1"),
        "deny (no_policy)\n"
    );
    let json = agen(&[
        "explain",
        "--format",
        "json",
        &doc,
        "--user",
        "u",
        "--connector",
        "c",
        "--tool",
        "t",
        "--context",
        "agent.version=2.1",
    ])
    .json();
    assert_eq!(
        json["policies"][0]["rules"][0]["conditions"][0]["actual"],
        "2.1"
    );
}

#[test]
fn help_says_which_flag_gives_strings_and_which_json() {
    let run = agen(&["eval", "--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    let help = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "--context <KEY=VALUE> One top-level context key with a string value",
        "(`agent.version=2.1` is the string \"2.1\")",
        "--context-json <KEY=JSON> One top-level context key with a JSON value",
    ] {
        assert!(help.contains(expected), "{expected} in {help}");
    }
}

#[test]
fn explain_marks_a_policy_that_served_none_as_not_applying() {
    let dir = TempDir::new();
    let doc = dir.write("semver.json", SEMVER);
    let run = agen(&[
        "explain",
        &doc,
        "--user",
        "u",
        "--connector",
        "c",
        "--tool",
        "t",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("serves none: it does not apply"),
        "{run:?}"
    );
    assert!(run.stdout.contains("\n  - new-agents [allow] "), "{run:?}");
}

#[test]
fn context_json_values_nest_and_merge_with_context_values() {
    let run = eval(&[
        "--user",
        "bob",
        "--connector",
        "hubspot",
        "--tool",
        "delete_contact",
        "--context-json",
        r#"agent={"type": "Claude"}"#,
        "--context",
        "request.ip=10.2.3.4",
    ]);
    assert_eq!(
        run.stdout, "step_up (policy: hubspot-delete-step-up)\n",
        "{run:?}"
    );
    let run = eval(&[
        "--user",
        "alice",
        "--connector",
        "github",
        "--tool",
        "create_issue",
        "--context-json",
        r#"agent={"type": "Claude 3"}"#,
    ]);
    assert_eq!(
        run.stdout, "allow (policy: github-write-engineering, github-write-trusted-agents)\n",
        "{run:?}"
    );
}

#[test]
fn group_claims_join_the_directory() {
    // `zoe` is not in the directory; her claimed group puts her in the contractors' policy.
    let run = eval(&[
        "--user",
        "zoe",
        "--connector",
        "github",
        "--tool",
        "create_repository",
        "--group",
        "engineering",
        "--group",
        "contractors",
        "--context",
        "agent.type=ChatGPT",
    ]);
    assert_eq!(
        run.stdout, "deny (policy: github-contractors-no-create)\n",
        "{run:?}"
    );
}

#[test]
fn a_request_file_or_standard_input() {
    let dir = TempDir::new();
    let request = r#"{"user": "bob", "connector": "hubspot", "tool": "update_contact",
                      "context": {"request.ip": "10.1.2.3"}}"#;
    let file = dir.write("request.json", request);
    let run = agen(&["eval", &acme(), "--request", &file]);
    assert_eq!(
        run.stdout, "allow (policy: hubspot-office-hours)\n",
        "{run:?}"
    );
    let run = agen_with(&["eval", &acme(), "--request", "-"], Some(request), &[]);
    assert_eq!(
        run.stdout, "allow (policy: hubspot-office-hours)\n",
        "{run:?}"
    );
    // The document may come from standard input instead.
    let acme_text = std::fs::read_to_string(acme()).expect("example is readable");
    let run = agen_with(&["eval", "-", "--request", &file], Some(&acme_text), &[]);
    assert_eq!(
        run.stdout, "allow (policy: hubspot-office-hours)\n",
        "{run:?}"
    );
}

#[test]
fn explain_prints_the_determining_policy() {
    let run = agen(&[
        "explain",
        &acme(),
        "--user",
        "erin",
        "--connector",
        "github",
        "--tool",
        "create_repository",
        "--context",
        "agent.type=ChatGPT",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("decision: deny (policy: github-contractors-no-create)\n"),
        "{run:?}"
    );
    let determining: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("* "))
        .collect();
    assert_eq!(determining.len(), 1, "{run:?}");
    assert!(
        determining[0].contains("github-contractors-no-create [deny]"),
        "{run:?}"
    );
    assert!(run.stdout.contains("(determining)"), "{run:?}");
    assert!(
        run.stdout.contains("agent.type matches"),
        "conditions are shown: {run:?}"
    );
}

#[test]
fn explain_as_json() {
    let run = agen(&[
        "explain",
        "--format",
        "json",
        &acme(),
        "--user",
        "erin",
        "--connector",
        "github",
        "--tool",
        "create_repository",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["decision"]["action"], "deny");
    assert_eq!(json["user"], "erin");
    let policies = json["policies"].as_array().expect("policies is a list");
    let determining: Vec<&str> = policies
        .iter()
        .filter(|p| p["determining"] == true)
        .filter_map(|p| p["id"].as_str())
        .collect();
    // Without `agent.type` the trusted-agents policy falls back on its `otherwise`, deny.
    assert_eq!(
        determining,
        [
            "github-contractors-no-create",
            "github-write-trusted-agents"
        ]
    );
}
