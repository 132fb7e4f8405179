//! Evidence through the public API: explain says what each step-up or approval needed and
//! whether the request held it; approval requests carry a call through to `allow`.

use agen_policy_core::{Action, Auth, PolicySet, Request};

const DOCUMENT: &str = r#"{
  "connectors": [{"id": "c", "tools": [{"name": "t"}, {"name": "d"}]}],
  "users": [{"id": "alice"}, {"id": "bob"}],
  "approval_flows": [{"id": "review", "steps": [{"users": ["bob"]}]}],
  "policies": [
    {"id": "fresh", "name": "Fresh login", "connector": "c", "action": "step_up",
     "all_users": true, "tools": ["t"], "step_up": {"max_age": 60, "acr_values": ["mfa"]}},
    {"id": "review", "name": "Review", "connector": "c", "action": "request_approval",
     "approval_flow": "review", "all_users": true, "tools": ["d"]}
  ]}"#;

#[test]
fn explain_tells_what_evidence_was_needed_and_whether_it_held() {
    let set = PolicySet::from_json(DOCUMENT).expect("loads");
    let stale = Request::builder("alice", "c", "t")
        .now(100_000)
        .auth(Auth::at(0).with_acr("mfa"))
        .build()
        .expect("valid");
    let e = set.explain(&stale);
    assert_eq!(e.decision.action, Action::StepUp);
    let trace = e.policies.iter().find(|p| p.id == "fresh").expect("listed");
    let evidence = trace
        .evidence
        .as_ref()
        .expect("a step-up names its evidence");
    assert!(!evidence.held);
    assert!(
        evidence.needed.contains("at most 60 s old, of class mfa"),
        "{evidence:?}"
    );
    assert!(evidence.because.contains("100000 ms old"), "{evidence:?}");
    assert!(e.to_string().contains("evidence needed: "), "{e}");

    let fresh = Request::builder("alice", "c", "t")
        .now(100_000)
        .auth(Auth::at(50_000).with_acr("mfa"))
        .build()
        .expect("valid");
    let e = set.explain(&fresh);
    assert_eq!(e.decision.action, Action::Allow);
    assert_eq!(e.decision.satisfied, ["fresh"]);
    let trace = e.policies.iter().find(|p| p.id == "fresh").expect("listed");
    assert!(trace.evidence.as_ref().is_some_and(|e| e.held));
}

#[test]
fn an_approval_carries_the_call_through_and_only_that_call() {
    let set = PolicySet::from_json(DOCUMENT).expect("loads");
    let request = Request::builder("alice", "c", "d")
        .arguments("digest-1")
        .build()
        .expect("valid");
    let opened = set
        .open_approval(&request, "review", "apr-1", 1_000)
        .expect("opens");
    assert!(set.eligible_approvers(&opened).expect("valid") == ["bob"]);
    assert!(set.check_approver(&opened, "alice", 1_500, &[]).is_err());
    let approved = set
        .approve(&opened, "bob", 2_000, &[])
        .expect("bob approves");
    let grant = set.grant(&approved).expect("approved");
    assert_eq!(grant.expires, 2_000 + 3_600_000);
    let with = |digest: &str, now| {
        let r = Request::builder("alice", "c", "d")
            .now(now)
            .arguments(digest)
            .grant(grant.clone())
            .build()
            .expect("valid");
        set.evaluate(&r).action()
    };
    assert_eq!(with("digest-1", 3_000), Action::Allow);
    assert_eq!(
        with("digest-2", 3_000),
        Action::RequestApproval,
        "other arguments"
    );
    assert_eq!(
        with("digest-1", grant.expires),
        Action::RequestApproval,
        "expired"
    );
    let explained = set.explain(
        &Request::builder("alice", "c", "d")
            .now(3_000)
            .arguments("digest-2")
            .grant(grant.clone())
            .build()
            .expect("valid"),
    );
    let trace = explained
        .policies
        .iter()
        .find(|p| p.id == "review")
        .expect("listed");
    let evidence = trace
        .evidence
        .as_ref()
        .expect("an approval names its evidence");
    assert!(!evidence.held && evidence.because.contains("none of the request's 1 grants"));
}
