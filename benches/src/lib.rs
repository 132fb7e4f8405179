//! Benchmarks of the agen policy engine beside Cedar, over one deterministic workload.
//!
//! [`workload::Workload::new`] builds a document of a given number of policies over 50
//! connectors × 20 tools, 10,000 users and 500 groups, a third of the policies with targeting,
//! and the requests that take each evaluation path. [`cedar`] encodes the same workload for
//! `cedar-policy` and checks that both engines decide alike. The benches in `benches/` time them;
//! `benches/README.md` says how to run them and what they found.

pub mod cedar;
pub mod hostile;
pub mod rng;
pub mod workload;

/// The sizes a bench run covers: those listed in `AGEN_BENCH_SIZES` (`10,1000`), else every one
/// of [`workload::SIZES`], or only the two smallest in criterion's `--test` mode, which checks
/// that every bench runs rather than timing it.
///
/// # Panics
///
/// When `AGEN_BENCH_SIZES` lists something other than sizes.
pub fn bench_sizes() -> Vec<usize> {
    match std::env::var("AGEN_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|e| panic!("AGEN_BENCH_SIZES: `{s}` is not a size: {e}"))
            })
            .collect(),
        // Test mode, as criterion tells it: `cargo bench -- --test`, or `cargo test`, which runs
        // a bench target without `--bench`.
        Err(_)
            if std::env::args().any(|a| a == "--test")
                || !std::env::args().any(|a| a == "--bench") =>
        {
            workload::SIZES[..2].to_vec()
        }
        Err(_) => workload::SIZES.to_vec(),
    }
}
