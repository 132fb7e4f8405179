//! The engine beside Cedar, size by size, in one run: load + compile against Cedar's parse,
//! evaluation per path against `Authorizer::is_authorized`, and the engine's explanations.
//!
//! Before anything of a size is timed, every named request is checked to take its path and
//! both engines are checked to decide alike on the named requests and a sample of others; the
//! run stops on the first disagreement.
//!
//! `AGEN_BENCH_SIZES=10,1000` restricts the run to some sizes.

use std::hint::black_box;
use std::time::Duration;

use agen_policy_benches::bench_sizes;
use agen_policy_benches::cedar::{self, Pair};
use agen_policy_benches::workload::{Path, Workload};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{measurement::WallTime, SamplingMode, Throughput};

/// Requests of the sample checked for agreement, per size: Cedar takes about half a second a
/// request at the largest size on the reference machine.
fn sample_len(n: usize) -> usize {
    match n {
        0..=1_000 => 512,
        1_001..=10_000 => 128,
        _ => 16,
    }
}

/// Requests of the mixed-request bench.
const MIX: usize = 64;

/// Cedar runs the mix only up to this size: beyond, one pass takes seconds.
const CEDAR_MIX_MAX: usize = 1_000;

/// Settings for timings that take from nanoseconds to a few milliseconds.
fn quick(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// Settings for timings of a few milliseconds.
fn medium(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

/// Settings for timings that take tens of milliseconds to seconds: ten samples of one run each.
fn slow(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
}

fn compare(c: &mut Criterion) {
    // `cargo bench -- hostile` names only the `hostile` bench's group: skip this bench's
    // set-up (building and cross-checking the workloads takes minutes at the largest sizes).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filters.is_empty() && filters.iter().all(|f| f.starts_with("hostile")) {
        return;
    }
    // The directory alone (connectors, tools, 10,000 users, 500 groups), which every size's
    // document carries, against Cedar's entities loaded from its JSON entity format.
    let mut directory = Workload::new(0);
    directory.policies.clear();
    let entities = cedar::entities_json(&directory);
    let directory = directory.document_json();
    let mut group = c.benchmark_group("load_directory");
    quick(&mut group);
    group.bench_function("agen", |b| {
        b.iter(|| agen_policy_core::PolicySet::from_json(&directory))
    });
    group.bench_function("cedar", |b| b.iter(|| cedar::entities_from_json(&entities)));
    group.finish();

    for n in bench_sizes() {
        let workload = Workload::new(n);
        let json = workload.document_json();
        let policies_json = workload.policies_json();
        let cedar_text = cedar::policies_text(&workload);
        let pair = Pair::load(&workload);
        let counts = pair
            .check(&workload, sample_len(n))
            .unwrap_or_else(|e| panic!("size {n}: {e}"));
        eprintln!(
            "size {n}: {} policies ({} with targeting), {} Cedar policies, {} bytes of JSON; \
             the engines agree on {} requests (allow, step_up, request_approval, deny: {counts:?})",
            workload.policies.len(),
            workload.targeted(),
            pair.cedar.policies().count(),
            json.len(),
            counts.iter().sum::<usize>(),
        );
        let heavy = n >= 10_000;
        // Cedar's evaluation grows with the number of policies.
        let cedar_settings = match n {
            0..=100 => quick,
            101..=1_000 => medium,
            _ => slow,
        };

        let mut group = c.benchmark_group("load");
        if heavy {
            slow(&mut group);
        } else {
            quick(&mut group);
        }
        // The same policies: our document without its user directory against Cedar's policy
        // text (Cedar's users are entities, timed in `load_directory`).
        group.bench_with_input(BenchmarkId::new("agen", n), &policies_json, |b, json| {
            b.iter(|| agen_policy_core::PolicySet::from_json(json))
        });
        group.bench_with_input(BenchmarkId::new("cedar", n), &cedar_text, |b, text| {
            b.iter(|| cedar::policy_set(text))
        });
        group.finish();

        // The whole document, directory included, as a host loads it.
        let mut group = c.benchmark_group("load_document");
        if heavy {
            slow(&mut group);
        } else {
            quick(&mut group);
        }
        group.bench_with_input(BenchmarkId::new("agen", n), &json, |b, json| {
            b.iter(|| agen_policy_core::PolicySet::from_json(json))
        });
        group.finish();

        let authorizer = cedar_policy::Authorizer::new();
        for path in Path::ALL {
            let spec = workload.named(path);
            let ours = spec.to_request();
            let theirs = cedar::request(spec);
            let mut group = c.benchmark_group(format!("evaluate_{}", path.name()));
            quick(&mut group);
            group.bench_function(BenchmarkId::new("agen", n), |b| {
                b.iter(|| pair.engine.evaluate(black_box(&ours)))
            });
            cedar_settings(&mut group);
            group.bench_function(BenchmarkId::new("cedar", n), |b| {
                b.iter(|| authorizer.is_authorized(black_box(&theirs), &pair.cedar, &pair.entities))
            });
            group.finish();
        }

        // A mix of requests of every kind, most of them aimed at some policy's scope and tools:
        // reported per request.
        let mix = &workload.sample[..MIX.min(workload.sample.len())];
        let ours: Vec<_> = mix.iter().map(|r| r.to_request()).collect();
        let theirs: Vec<_> = mix.iter().map(cedar::request).collect();
        let mut group = c.benchmark_group("evaluate_mix");
        group.throughput(Throughput::Elements(mix.len() as u64));
        quick(&mut group);
        group.bench_function(BenchmarkId::new("agen", n), |b| {
            b.iter(|| {
                for r in &ours {
                    black_box(pair.engine.evaluate(black_box(r)));
                }
            })
        });
        if n <= CEDAR_MIX_MAX {
            cedar_settings(&mut group);
            group.bench_function(BenchmarkId::new("cedar", n), |b| {
                b.iter(|| {
                    for r in &theirs {
                        black_box(authorizer.is_authorized(
                            black_box(r),
                            &pair.cedar,
                            &pair.entities,
                        ));
                    }
                })
            });
        }
        group.finish();

        for path in [Path::Allow, Path::Targeting] {
            let request = workload.named(path).to_request();
            let mut group = c.benchmark_group(format!("explain_{}", path.name()));
            quick(&mut group);
            group.bench_function(BenchmarkId::new("agen", n), |b| {
                b.iter(|| pair.engine.explain(black_box(&request)))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, compare);
criterion_main!(benches);
