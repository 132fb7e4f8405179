//! Heap bytes a loaded policy set keeps, per policy, for the engine and for Cedar.
//!
//! A counting global allocator (`allocation-counter`) sees every allocation of this thread
//! while a set is loaded; what is still allocated once loading returns is what the set retains.
//! These are the bytes asked of the allocator: its own bookkeeping (about 8 to 16 bytes an
//! allocation with glibc) comes on top, so the live allocations are reported too.
//!
//! It is its own bench binary because the counting allocator would slow the timed benches.
//! It prints a table and writes `memory/results.json` under criterion's output directory, where
//! `benches/plot.py` reads it. `AGEN_BENCH_SIZES=10,1000` restricts it to some sizes.

use std::path::PathBuf;

use agen_policy_benches::bench_sizes;
use agen_policy_benches::cedar;
use agen_policy_benches::workload::{Test, Workload};

/// What one set retains.
struct Retained {
    bytes: i64,
    allocations: i64,
}

fn retained<T>(load: impl FnOnce() -> T) -> (T, Retained) {
    let mut kept = None;
    let info = allocation_counter::measure(|| kept = Some(load()));
    let Some(value) = kept else {
        unreachable!("measure runs its closure")
    };
    (
        value,
        Retained {
            bytes: info.bytes_current,
            allocations: info.count_current,
        },
    )
}

/// Criterion's output directory, found as criterion finds it.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // A bench binary lives in `<target>/<profile>/deps/`.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter, as criterion takes, skips this bench when
    // it is not `memory`.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "memory".contains(f.as_str())) {
        return;
    }

    // The directory alone: connectors, tools, users and groups, without a policy.
    let mut empty = Workload::new(0);
    empty.policies.clear();
    let (set, base) = retained(|| agen_policy_core::PolicySet::from_json(&empty.document_json()));
    let set = set.unwrap_or_else(|e| panic!("the empty workload: {e}"));
    let (document, base_model) = retained(|| set.document().clone());
    drop((document, set));

    println!(
        "{:>8} | {:>12} {:>9} {:>10} {:>9} {:>10} | {:>12} {:>9}",
        "policies",
        "agen bytes",
        "B/policy",
        "B/policy*",
        "model*",
        "allocs*",
        "cedar bytes",
        "B/policy"
    );
    let mut rows = Vec::new();
    for n in bench_sizes() {
        let workload = Workload::new(n);
        let json = workload.document_json();
        let text = cedar::policies_text(&workload);
        let (ours, agen) = retained(|| agen_policy_core::PolicySet::from_json(&json));
        let ours = ours.unwrap_or_else(|e| panic!("size {n}: {e}"));
        assert_eq!(ours.document().policies.len(), n);
        // The set keeps its whole document model; a clone of it (without spare capacity) shows
        // how much of the set that is.
        let (document, model) = retained(|| ours.document().clone());
        drop(document);
        let (theirs, peer) = retained(|| cedar::policy_set(&text));
        let regexes = workload
            .policies
            .iter()
            .filter_map(|p| p.targeting.as_ref())
            .flat_map(|t| t.rules.iter().flatten())
            .filter(|c| matches!(c.test, Test::AgentRegex(_)))
            .count();
        let per = |b: i64| b as f64 / n as f64;
        // Beyond what the directory alone takes: the cost of the policies themselves.
        let marginal = per(agen.bytes - base.bytes);
        println!(
            "{n:>8} | {:>12} {:>9.0} {:>10.0} {:>9.0} {:>10.1} | {:>12} {:>9.0}",
            agen.bytes,
            per(agen.bytes),
            marginal,
            per(model.bytes - base_model.bytes),
            per(agen.allocations - base.allocations),
            peer.bytes,
            per(peer.bytes),
        );
        rows.push(format!(
            "{{\"policies\": {n}, \"regex_conditions\": {regexes}, \"cedar_policies\": {}, \"agen_bytes\": {}, \
             \"agen_allocations\": {}, \"agen_model_bytes\": {}, \"directory_bytes\": {}, \
             \"directory_allocations\": {}, \"directory_model_bytes\": {}, \
             \"cedar_bytes\": {}, \"cedar_allocations\": {}}}",
            theirs.policies().count(),
            agen.bytes,
            agen.allocations,
            model.bytes,
            base.bytes,
            base.allocations,
            base_model.bytes,
            peer.bytes,
            peer.allocations
        ));
        drop((ours, theirs));
    }
    println!(
        "* per policy, beyond the {} bytes ({} of them its document model) that a set of the \
         directory alone retains; model: the bytes of a clone of the document model",
        base.bytes, base_model.bytes
    );

    // A test-mode run (`cargo test`, `cargo bench -- --test`) checks that the bench works; it
    // must not replace the results of a full run.
    if !std::env::args().any(|a| a == "--bench") || std::env::args().any(|a| a == "--test") {
        return;
    }
    let dir = criterion_home().join("memory");
    let file = dir.join("results.json");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, format!("[\n  {}\n]\n", rows.join(",\n  "))));
    match written {
        Ok(()) => println!("written to {}", file.display()),
        Err(e) => panic!("cannot write {}: {e}", file.display()),
    }

    by_operator();
}

/// What one condition of each kind adds to a policy: 1,000 policies with one condition each,
/// against the same policies with an `exists` condition.
fn by_operator() {
    const N: usize = 1_000;
    let document = |condition: &str| {
        let policies: Vec<String> = (0..N)
            .map(|i| {
                format!(
                    r#"{{"id": "p{i}", "name": "p", "connector": "c", "action": "allow",
                        "all_users": true, "tools": ["t"],
                        "targeting": {{"rules": [{{"conditions": [{condition}]}}]}}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"connectors": [{{"id": "c", "tools": [{{"name": "t"}}]}}], "policies": [{}]}}"#,
            policies.join(",")
        )
    };
    let bytes = |condition: &str| {
        let json = document(condition);
        let (set, kept) = retained(|| agen_policy_core::PolicySet::from_json(&json));
        assert!(set.is_ok(), "{condition}");
        kept.bytes as f64 / N as f64
    };
    let base = bytes(r#"{"attribute": "mfa", "operator": "exists"}"#);
    println!("bytes one condition adds to a policy, beyond an `exists` condition ({base:.0} B a policy):");
    for (name, condition) in [
        (
            "starts_with",
            r#"{"attribute": "agent.type", "operator": "starts_with", "values": ["Claude"]}"#,
        ),
        (
            "matches",
            r#"{"attribute": "agent.type", "operator": "matches", "values": ["Claude*"]}"#,
        ),
        (
            "in_cidr",
            r#"{"attribute": "request.ip", "operator": "in_cidr", "values": ["10.0.0.0/8"]}"#,
        ),
        (
            "semver_gt",
            r#"{"attribute": "client.version", "operator": "semver_gt", "values": ["1.2.0"]}"#,
        ),
        (
            "regex ^Claude",
            r#"{"attribute": "agent.type", "operator": "regex", "values": ["^Claude"]}"#,
        ),
        (
            "regex ^(Cursor|Windsurf)$",
            r#"{"attribute": "agent.type", "operator": "regex", "values": ["^(Cursor|Windsurf)$"]}"#,
        ),
    ] {
        println!("  {name:<28} {:>8.0} B", bytes(condition) - base);
    }
}
