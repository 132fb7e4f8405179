//! Hostile inputs (`src/hostile.rs`): conditions against a 1 MiB prompt that naive matchers
//! pay for pattern × input or values × input, loading 10,000 oversized regexes, and explaining a
//! connector of 10,000 and 200,000 policies. Every case's answer is checked before it is timed;
//! the timed loop is the engine's call alone.

use std::hint::black_box;
use std::time::Duration;

use agen_policy_benches::hostile;
use agen_policy_core::PolicySet;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

fn hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));

    for case in hostile::cases() {
        let set = case.load();
        assert_eq!(
            set.evaluate(&case.request).action(),
            case.expected,
            "{}",
            case.name
        );
        group.bench_function(BenchmarkId::new("evaluate", case.name), |b| {
            b.iter(|| set.evaluate(black_box(&case.request)).action())
        });
    }

    let regexes = hostile::regexes_document();
    assert!(PolicySet::from_json(&regexes).is_err());
    group.bench_function("load_10000_large_regexes", |b| {
        b.iter(|| PolicySet::from_json(black_box(&regexes)).is_err())
    });

    for n in [10_000, 200_000] {
        let (document, request) = hostile::one_connector(n);
        let set = PolicySet::from_json(&document).expect("a valid document");
        assert_eq!(set.explain(&request).policies.len(), n);
        group.bench_function(BenchmarkId::new("explain_one_connector", n), |b| {
            b.iter(|| set.explain(black_box(&request)))
        });
    }
    group.finish();
}

criterion_group!(benches, hostile);
criterion_main!(benches);
