//! Hot reload: readers evaluating on many threads while a writer swaps the policy set a thousand
//! times (with invalid documents in between) always get a decision, and each decision is exactly
//! the one the version it names makes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use agen_policy_core::{Action, Engine, OwnedDecision, PolicySet, Request};

const VERSIONS: usize = 8;
const SWAPS: usize = 1000;
const READERS: usize = 3;

/// Version `i` of the document: policy `p{i}` serves an action that depends on `i`.
fn document(i: usize) -> String {
    let action = Action::ALL[i % Action::ALL.len()];
    format!(
        r#"{{"connectors": [{{"id": "c", "tools": [{{"name": "t"}}]}}],
             "approval_flows": [{{"id": "f{i}", "steps": []}}],
             "policies": [{{"id": "p{i}", "name": "Version {i}", "connector": "c",
                            "action": "{action}", "all_users": true, "tools": "all",
                            "approval_flow": "f{i}"}}]}}"#
    )
}

#[test]
fn readers_see_exactly_one_version_per_decision() {
    let request = Request::new("u", "c", "t").expect("valid");
    // What each version decides, computed on its own set.
    let mut expected: HashMap<String, OwnedDecision> = HashMap::new();
    for i in 0..VERSIONS {
        let set = PolicySet::from_json(&document(i)).expect("valid document");
        expected.insert(
            set.version().to_owned(),
            set.evaluate(&request).to_owned_decision(),
        );
    }
    assert_eq!(
        expected.len(),
        VERSIONS,
        "distinct documents have distinct versions"
    );

    let engine = Arc::new(Engine::from_json(&document(0)).expect("valid"));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (engine, done, request) = (Arc::clone(&engine), Arc::clone(&done), request.clone());
            thread::spawn(move || {
                let mut seen: Vec<OwnedDecision> = Vec::new();
                let mut evaluations = 0usize;
                while !done.load(Ordering::Acquire) {
                    // Borrowing evaluation on the current set, as a host's hot path does.
                    let d = engine.with_current(|set| set.evaluate(&request).to_owned_decision());
                    evaluations += 1;
                    if seen.last() != Some(&d) {
                        seen.push(d);
                    }
                }
                (evaluations, seen)
            })
        })
        .collect();

    let mut versions_written = Vec::new();
    for swap in 1..=SWAPS {
        let version = engine
            .reload(document(swap % VERSIONS).as_bytes())
            .expect("a valid document reloads");
        versions_written.push(version.clone());
        if swap % 10 == 0 {
            // An invalid document is refused and changes nothing.
            let refused = engine.reload(br#"{"connectors": [], "policies": [{"id": "broken"}]}"#);
            assert!(refused.is_err());
            assert_eq!(engine.version(), version);
        }
    }
    done.store(true, Ordering::Release);

    let mut total = 0;
    for reader in readers {
        let (evaluations, seen) = reader.join().expect("a reader never panics");
        assert!(evaluations > 0, "every reader got decisions");
        total += evaluations;
        for d in &seen {
            let want = expected
                .get(&d.version)
                .unwrap_or_else(|| panic!("decision from unknown version {}", d.version));
            assert_eq!(d, want, "a decision is the one its version makes");
        }
    }
    assert!(total >= READERS);
    assert_eq!(versions_written.len(), SWAPS);
    assert_eq!(engine.evaluate(&request), expected[&engine.version()]);
}
