//! `lint`, `access`, `diff` and `replay`: text, JSON and exit codes.

use crate::{acme, agen, TempDir};

fn acme_with(change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let text = std::fs::read_to_string(acme()).expect("acme.json is read");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("acme.json is JSON");
    change(&mut doc);
    doc
}

fn policy<'a>(doc: &'a mut serde_json::Value, id: &str) -> &'a mut serde_json::Value {
    doc["policies"]
        .as_array_mut()
        .expect("policies")
        .iter_mut()
        .find(|p| p["id"] == id)
        .expect("policy exists")
}

#[test]
fn lint_reports_the_example_findings() {
    let run = agen(&["lint", &acme()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(
        "warning: ungoverned_tool at /connectors/1/tools/3: no policy governs `google_drive/delete_file`: it is denied to everyone\n"
    ), "{}", run.stdout);
    assert!(run.stdout.contains("warning: otherwise_overrides at /policies/2/targeting: outside its rules, policy `github-write-trusted-agents` serves `deny`"), "{}", run.stdout);
    assert!(
        run.stdout
            .ends_with("0 errors, 1 security warnings, 5 warnings, 0 suggestions\n"),
        "{}",
        run.stdout
    );
    let json = agen(&["lint", &acme(), "--format", "json"]).json();
    let first = &json["findings"][0];
    assert_eq!(first["severity"], "security_warning");
    assert_eq!(first["code"], "broad_allow");
    assert_eq!(first["path"], "/policies/5/tools");
    assert_eq!(first["policies"][0], "drive-everyone");
}

#[test]
fn lint_exits_1_on_an_error_finding_and_escapes_ids() {
    let dir = TempDir::new();
    let doc = dir.write(
        "d.json",
        r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
            "policies": [{"id": "p\u001b[2J", "name": "P", "connector": "c", "action": "allow", "tools": ["t"]}]}"#,
    );
    let run = agen(&["lint", &doc]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "error: never_applies at /policies/0: policy `p\\u{1b}[2J` applies to no one"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}'));
}

#[test]
fn access_shows_pieces_per_user_and_group() {
    let run = agen(&[
        "access",
        &acme(),
        "--connector",
        "github",
        "--tool",
        "create_repository",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("github/create_repository\n  alice (engineering):\n    allow [github-write-engineering, github-write-trusted-agents] when agent.type matches \"ChatGPT\", \"Claude*\"\n    deny [github-write-trusted-agents] when not (agent.type matches \"ChatGPT\", \"Claude*\")\n"), "{}", run.stdout);
    assert!(run.stdout.contains("  group contractors:\n"));
    assert!(run.stdout.contains("  anyone else:\n"));
    let one = agen(&[
        "access",
        &acme(),
        "--connector",
        "github",
        "--tool",
        "delete_repository",
        "--user",
        "carol",
    ]);
    assert_eq!(
        one.stdout,
        "github/delete_repository\n  carol (sales): deny (no policy) always\n"
    );
    let json = agen(&[
        "access",
        &acme(),
        "--connector",
        "google_drive",
        "--tool",
        "get_file",
        "--user",
        "alice",
        "--format",
        "json",
    ])
    .json();
    let alice = &json["principals"][0];
    assert_eq!(alice["exact"], true);
    assert_eq!(alice["pieces"][1]["action"], "request_approval");
    assert_eq!(alice["pieces"][1]["approval_flows"][0], "security-review");
    assert_eq!(alice["pieces"][1]["example"]["agent.trusted"], false);
}

#[test]
fn access_refuses_an_unknown_tool() {
    let run = agen(&["access", &acme(), "--connector", "github", "--tool", "fork"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.error(), "unknown tool `fork` in connector `github`");
}

#[test]
fn diff_gives_verified_witnesses_and_gates_new_access() {
    let dir = TempDir::new();
    let new = acme_with(|d| {
        policy(d, "github-write-trusted-agents")["targeting"]["otherwise"] = "none".into();
    });
    let new = dir.write("new.json", &new.to_string());
    let run = agen(&["diff", &acme(), &new]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("alice on github/create_repository: more permissive\n  deny -> allow\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("user and tool pairs changed\n"),
        "{}",
        run.stdout
    );
    let gate = agen(&["diff", &acme(), &new, "--fail-on-new-access"]);
    assert_eq!(gate.code, 1);
    let same = agen(&["diff", &acme(), &acme(), "--fail-on-new-access"]);
    assert_eq!(same.code, 0);
    assert!(same.stdout.starts_with("0 of "), "{}", same.stdout);
    let stricter = acme_with(|d| {
        policy(d, "github-read")["action"] = "step_up".into();
    });
    let stricter = dir.write("stricter.json", &stricter.to_string());
    let json = agen(&[
        "diff",
        &acme(),
        &stricter,
        "--fail-on-new-access",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 0);
    let change = &json.json()["changes"][0];
    assert_eq!(change["impact"], "less_permissive");
    assert_eq!(change["witnesses"][0]["old"]["action"], "allow");
    assert_eq!(change["witnesses"][0]["new"]["action"], "step_up");
}

#[test]
fn replay_reports_transitions_loosening_first() {
    let dir = TempDir::new();
    let new = acme_with(|d| {
        policy(d, "github-write-trusted-agents")["targeting"]["otherwise"] = "none".into();
        policy(d, "github-read")["action"] = "deny".into();
    });
    let new = dir.write("new.json", &new.to_string());
    let log = dir.write(
        "log.jsonl",
        concat!(
            r#"{"id":"d1","user":"carol","connector":"github","tool":"list_user_repositories","action":"allow","reason":"policy","policies":["github-read"],"approval_flows":[],"satisfied":[]}"#, "\n",
            r#"{"id":"d2","user":"alice","connector":"github","tool":"create_issue","action":"deny","reason":"policy","policies":["github-write-trusted-agents"],"approval_flows":[],"satisfied":[]}"#, "\n",
            r#"{"id":"d3","user":"alice","connector":"github","tool":"create_issue","action":"deny","context":{"agent.type":"Gemini"}}"#, "\n"
        ),
    );
    let run = agen(&["replay", &new, "--log", &log]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "deny -> allow: 2\nallow -> deny: 1\n\
         #2 (d2) alice on github/create_issue: deny -> allow (context not logged)\n\
         #3 (d3) alice on github/create_issue: deny -> allow\n\
         #1 (d1) carol on github/list_user_repositories: allow -> deny (context not logged)\n\
         3 records, 3 decided differently, 0 not replayed\n"
    );
    let bad = dir.write("bad.jsonl", "{\"user\": 1}\n");
    let run = agen(&["replay", &new, "--log", &bad]);
    assert_eq!(run.code, 2);
    assert!(run.error().starts_with("line 1 of "), "{}", run.stderr);
}

#[test]
fn help_documents_the_analysis_exit_codes() {
    for args in [
        &["lint", "--help"][..],
        &["diff", "--help"],
        &["access", "--help"],
        &["replay", "--help"],
    ] {
        let run = agen(args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("for lint: an error finding"), "{run:?}");
        assert!(
            run.stdout
                .contains("for diff --fail-on-new-access: a more permissive decision"),
            "{run:?}"
        );
    }
}
