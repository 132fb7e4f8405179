//! Evidence (SPEC §7) beside the plain paths, on the example organization: a request without
//! evidence, the same request with `now` only, and requests carrying `auth` and two grants that
//! satisfy a step-up and an approval. Each request is checked to decide as named before it is
//! timed.

use std::hint::black_box;
use std::time::Duration;

use agen_policy_core::{Action, Auth, Grant, PolicySet, Request};
use criterion::{criterion_group, criterion_main, Criterion};

const NOW: i64 = 1_795_600_800_000;

fn grant(id: &str, user: &str, connector: &str, tool: &str) -> Grant {
    Grant {
        id: id.into(),
        flow: "security-review".into(),
        user: user.into(),
        connector: connector.into(),
        tool: tool.into(),
        arguments: None,
        expires: NOW + 3_600_000,
        approvers: vec!["bob".into()],
    }
}

fn evidence(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/acme.json");
    let text = std::fs::read_to_string(path).expect("the example document");
    let set = PolicySet::from_json(&text).expect("it loads");
    let with_evidence = |user: &str, connector: &str, tool: &str| {
        Request::builder(user, connector, tool)
            .now(NOW)
            .auth(Auth::at(NOW - 30_000).with_acr("urn:acme:mfa"))
            .grant(grant("apr-1", user, connector, tool))
            .grant(grant("apr-2", user, "github", "create_repository"))
            .build()
            .expect("valid")
    };
    let cases = [
        (
            "step_up_plain",
            Request::new("carol", "google_drive", "share_file").expect("valid"),
            Action::StepUp,
        ),
        (
            "step_up_now_only",
            Request::builder("carol", "google_drive", "share_file")
                .now(NOW)
                .build()
                .expect("valid"),
            Action::StepUp,
        ),
        (
            "step_up_satisfied",
            with_evidence("carol", "google_drive", "share_file"),
            Action::Allow,
        ),
        (
            "approval_plain",
            Request::new("alice", "github", "delete_repository").expect("valid"),
            Action::RequestApproval,
        ),
        (
            "approval_satisfied",
            with_evidence("alice", "github", "delete_repository"),
            Action::Allow,
        ),
    ];
    let mut group = c.benchmark_group("evidence");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, request, action) in &cases {
        assert_eq!(set.evaluate(request).action(), *action, "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| set.evaluate(black_box(request)).action())
        });
    }
    group.finish();
}

criterion_group!(benches, evidence);
criterion_main!(benches);
