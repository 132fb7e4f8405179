//! Property tests of the analysis against evaluation: every diff witness decides as claimed and
//! every difference a random request shows is reported; lint's "never applies" and "shadowed"
//! policies never determine a decision; each access review piece is the decision of the
//! requests its conditions describe.

use agen_policy_core::analysis::{Principal, Term};
use agen_policy_core::{diff, Action, LintCode, PolicySet, Request};
use proptest::prelude::*;
use proptest::test_runner::RngAlgorithm;
use serde_json::Value;

use crate::generators;

fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config.rng_algorithm = RngAlgorithm::XorShift;
    config
}

/// The request without evidence (the analysis decides without it).
fn plain(r: &Value) -> Option<Request> {
    let mut r = r.clone();
    let o = r.as_object_mut()?;
    for k in ["now", "auth", "grants", "arguments"] {
        o.remove(k);
    }
    Request::from_json(&r.to_string()).ok()
}

fn in_directory(set: &PolicySet, user: &str) -> bool {
    set.document().users.iter().any(|u| &*u.id == user)
}

/// Whether a piece's conditions hold for a request, read from the explanation.
fn holds(set: &PolicySet, request: &Request, when: &[Vec<Term>]) -> bool {
    let e = set.explain(request);
    when.iter().any(|cube| {
        cube.iter().all(|t| {
            let matched = e
                .policies
                .iter()
                .find(|p| p.id == t.policy)
                .is_some_and(|p| p.rules.iter().any(|r| r.matched));
            matched == t.matches
        })
    })
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn diff_witnesses_decide_as_claimed_and_differences_are_reported(
        old in generators::case(), new in generators::spec()
    ) {
        let old_set = PolicySet::from_json(&old.document.to_string()).expect("generated documents load");
        let new_set = PolicySet::from_json(&new.document().to_string()).expect("generated documents load");
        let d = diff(&old_set, &new_set);
        for c in &d.changes {
            for w in &c.witnesses {
                let r = Request::from_json(&w.request.to_string()).expect("witness is a request");
                let (a, b) = (old_set.evaluate(&r), new_set.evaluate(&r));
                prop_assert_eq!(a.action(), w.old.action);
                prop_assert_eq!(b.action(), w.new.action);
                prop_assert!(a.action() != b.action() || !a.approval_flows().eq(b.approval_flows()));
            }
            prop_assert!(!c.certain || !c.witnesses.is_empty());
        }
        if !d.exact {
            return Ok(());
        }
        for r in &old.requests {
            let Some(r) = plain(r) else { continue };
            if !r.groups().is_empty() || !in_directory(&old_set, r.user()) {
                continue;
            }
            let (a, b) = (old_set.evaluate(&r), new_set.evaluate(&r));
            if a.action() != b.action() || !a.approval_flows().eq(b.approval_flows()) {
                let reported = d.changes.iter().any(|c| {
                    c.principal == Principal::User { id: r.user().to_owned() }
                        && c.connector == r.connector()
                        && c.tool == r.tool()
                });
                prop_assert!(reported, "unreported difference on {:?}", r);
            }
        }
    }

    #[test]
    fn never_applies_and_shadowed_policies_never_determine(case in generators::case()) {
        let set = PolicySet::from_json(&case.document.to_string()).expect("generated documents load");
        let lint = set.lint();
        let mut idle: Vec<(&str, LintCode)> = Vec::new();
        for f in &lint.findings {
            if matches!(f.code, LintCode::NeverApplies | LintCode::Shadowed) {
                if let Some(p) = f.policies.first() {
                    idle.push((p, f.code));
                }
            }
        }
        for r in &case.requests {
            let Some(r) = plain(r) else { continue };
            let e = set.explain(&r);
            for (p, code) in &idle {
                prop_assert!(!e.decision.policies.iter().any(|d| d == p),
                    "{} policy `{}` determined {:?}", code, p, r);
                if *code == LintCode::NeverApplies {
                    prop_assert!(e.policies.iter().all(|t| t.id != *p || t.served.is_none()
                        || t.served.as_deref() == Some("none")));
                }
            }
        }
    }

    #[test]
    fn access_review_pieces_are_the_decisions(case in generators::case()) {
        let set = PolicySet::from_json(&case.document.to_string()).expect("generated documents load");
        for r in &case.requests {
            let Some(r) = plain(r) else { continue };
            if !r.groups().is_empty() || !in_directory(&set, r.user()) {
                continue;
            }
            let review = set.access(r.connector(), r.tool(), Some(r.user()));
            let Some(p) = review.principals.first() else { continue };
            let d = set.evaluate(&r);
            let matching: Vec<_> = p.pieces.iter().filter(|piece| holds(&set, &r, &piece.when)).collect();
            if p.exact {
                prop_assert_eq!(matching.len(), 1, "pieces {:?} for {:?}", p.pieces, r);
            }
            for piece in matching {
                if p.exact || piece.certain {
                    prop_assert_eq!(piece.verdict.action, d.action());
                    prop_assert_eq!(&piece.verdict.policies, &d.policies().map(str::to_owned).collect::<Vec<_>>());
                }
            }
            let _ = Action::Allow;
        }
    }
}
