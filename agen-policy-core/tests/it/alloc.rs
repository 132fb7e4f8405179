//! `evaluate` does not allocate on the common path: a counting global allocator (per thread, so
//! tests running in parallel do not disturb each other) sees zero allocations while a prepared
//! request with 8 groups and 8 context attributes is evaluated, over every operator.

use agen_policy_core::{Action, Auth, Grant, PolicySet, Request};
use serde_json::json;

/// Allocations made by this thread while `f` runs (`allocation-counter` swaps in a counting
/// global allocator for the test binary; the workspace forbids writing one here).
fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

fn document() -> String {
    let conditions = json!([
        { "attribute": "agent.type", "operator": "matches", "values": ["Claude*", "ChatGPT"], "ignore_case": true },
        { "attribute": "agent.type", "operator": "regex", "values": ["^(claude|chatgpt)"], "ignore_case": true },
        { "attribute": "agent.type", "operator": "equals", "values": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "Claude Desktop"] },
        { "attribute": "agent.type", "operator": "starts_with", "values": ["CLAUDE"], "ignore_case": true },
        { "attribute": "agent.type", "operator": "ends_with", "values": ["top"] },
        { "attribute": "agent.type", "operator": "contains", "values": ["É", "desk"], "ignore_case": true },
        { "attribute": "risk", "operator": "lt", "values": [10, 20.5] },
        { "attribute": "issued", "operator": "before", "values": ["2030-01-01T00:00:00Z"] },
        { "attribute": "client.version", "operator": "semver_gt", "values": ["1.2.0-rc.1"] },
        { "attribute": "request.ip", "operator": "in_cidr", "values": ["10.0.0.0/8", "2001:db8::/32"] },
        { "attribute": "user.groups", "operator": "equals", "values": ["g7"] },
        { "attribute": "user.email", "operator": "ends_with", "values": ["@acme.example"] },
        { "attribute": "tags", "operator": "contains", "values": ["prod"] },
        { "attribute": "mfa", "operator": "exists" },
        { "attribute": "blocked", "operator": "equals", "values": [true], "negate": true }
    ]);
    json!({
        "connectors": [{ "id": "github", "tools": [{ "name": "create_issue" }, { "name": "delete_repository" }] }],
        "groups": [{ "id": "g0" }, { "id": "g7" }],
        "users": [{ "id": "alice", "email": "alice@acme.example", "groups": ["g0", "g1"] }],
        "approval_flows": [{ "id": "review", "steps": [{ "groups": ["g0"] }] }],
        "policies": [
            { "id": "everyone", "name": "Everyone", "connector": "github", "action": "allow",
              "all_users": true, "tools": "all",
              "targeting": { "rules": [{ "conditions": conditions }], "otherwise": "deny" } },
            { "id": "by-user", "name": "By user", "connector": "github", "action": "allow",
              "users": ["alice"], "tools": ["create_issue"] },
            { "id": "by-group", "name": "By group", "connector": "github", "action": "step_up",
              "groups": ["g3"], "tools": { "include": ["create_issue"] } },
            { "id": "approval", "name": "Approval", "connector": "github", "action": "request_approval",
              "groups": ["g5"], "tools": ["delete_repository"], "approval_flow": "review" },
            { "id": "not-me", "name": "Other groups", "connector": "github", "action": "deny",
              "groups": ["g99"], "tools": "all" }
        ]
    })
    .to_string()
}

fn request(tool: &str) -> Request {
    Request::builder("alice", "github", tool)
        .groups((2..10).map(|g| format!("g{g}")))
        .context("agent", json!({ "type": "Claude Desktop" }))
        .context("risk", 3)
        .context("issued", "2026-11-25T10:00:00+01:00")
        .context("client", json!({ "version": "1.4.0" }))
        .context("request.ip", "10.1.2.3")
        .context("tags", json!(["dev", "production"]))
        .context("mfa", true)
        .context("blocked", false)
        .build()
        .expect("a valid request")
}

#[test]
fn evaluate_does_not_allocate() {
    let set = PolicySet::from_json(&document()).expect("the document loads");
    let issue = request("create_issue");
    let delete = request("delete_repository");
    // Warm up: the regex crate fills a per-thread cache on first use.
    let _ = set.evaluate(&issue);
    let _ = set.evaluate(&delete);

    let mut actions = Vec::with_capacity(2);
    let n = allocations_during(|| {
        for _ in 0..100 {
            let d = set.evaluate(&issue);
            let e = set.evaluate(&delete);
            if actions.is_empty() {
                actions.push((d.action(), d.policies().len()));
                actions.push((e.action(), e.approval_flows().len()));
            }
        }
    });
    assert_eq!(n, 0, "evaluate allocated {n} times");
    // The workload really takes the paths it is meant to: every condition holds for `create_issue`
    // (so the targeted policy allows, beside the user's and the group's), and `delete_repository`
    // needs approval through the group policy while `everyone` allows.
    assert_eq!(actions, [(Action::StepUp, 1), (Action::RequestApproval, 1)]);
}

/// A request carrying `auth` and two grants is decided without allocating either, and the
/// evidence does its work: the step-up and the approval are both satisfied.
#[test]
fn evaluate_with_evidence_does_not_allocate() {
    let set = PolicySet::from_json(&document()).expect("the document loads");
    let grant = |id: &str, tool: &str| Grant {
        id: id.into(),
        flow: "review".into(),
        user: "alice".into(),
        connector: "github".into(),
        tool: tool.into(),
        arguments: None,
        expires: 10_000,
        approvers: vec!["bob".into()],
    };
    let with_evidence = |tool: &str| {
        let plain = request(tool);
        Request::builder(plain.user(), plain.connector(), plain.tool())
            .groups(plain.groups().iter().cloned())
            .context_map(plain.context().clone())
            .now(5_000)
            .auth(Auth::at(4_000).with_acr("mfa"))
            .grant(grant("apr-1", "create_issue"))
            .grant(grant("apr-2", "delete_repository"))
            .build()
            .expect("a valid request")
    };
    let issue = with_evidence("create_issue");
    let delete = with_evidence("delete_repository");
    let _ = set.evaluate(&issue);
    let _ = set.evaluate(&delete);
    let mut seen = Vec::with_capacity(2);
    let n = allocations_during(|| {
        for _ in 0..100 {
            let d = set.evaluate(&issue);
            let e = set.evaluate(&delete);
            if seen.is_empty() {
                seen.push((d.action(), d.satisfied().len()));
                seen.push((e.action(), e.satisfied().len()));
            }
        }
    });
    assert_eq!(n, 0, "evaluate allocated {n} times");
    assert_eq!(seen, [(Action::Allow, 1), (Action::Allow, 1)]);
}

#[test]
fn the_counter_counts() {
    let n = allocations_during(|| {
        let v: Vec<u8> = Vec::with_capacity(16);
        std::hint::black_box(v);
    });
    assert_eq!(n, 1);
}

/// A borrowed view (ids and groups borrowed, the context read in place) allocates nothing
/// either, and decides as the request it was taken from.
#[test]
fn evaluate_view_does_not_allocate() {
    let set = PolicySet::from_json(&document()).expect("the document loads");
    let issue = request("create_issue");
    let groups: Vec<&str> = issue.groups().iter().map(String::as_str).collect();
    let view = agen_policy_core::RequestView::new(issue.user(), issue.connector(), issue.tool())
        .and_then(|v| v.groups(&groups))
        .expect("valid")
        .context(issue.context());
    let _ = set.evaluate_view(&view);
    let mut action = None;
    let n = allocations_during(|| {
        for _ in 0..100 {
            let d = set.evaluate_view(&view).expect("readable");
            action.get_or_insert((d.action(), d.policies().len()));
        }
    });
    assert_eq!(n, 0, "evaluate_view allocated {n} times");
    assert_eq!(action, Some((Action::StepUp, 1)));
}
