//! Instruction counts of evaluate per path: run under callgrind with ITER=0 and ITER=N.
use agen_policy_benches::workload::{Path, Workload};
use std::hint::black_box;
fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap();
    let n: usize = args.next().unwrap().parse().unwrap();
    let iters: usize = args.next().unwrap().parse().unwrap();
    let w = Workload::new(n);
    let set = agen_policy_core::PolicySet::from_json(&w.document_json()).unwrap();
    if what == "mix" {
        let reqs: Vec<_> = w.sample[..64.min(w.sample.len())].iter().map(|r| r.to_request()).collect();
        for _ in 0..iters { for r in &reqs { black_box(set.evaluate(black_box(r))); } }
    } else {
        let p = Path::ALL.into_iter().find(|p| p.name() == what).unwrap();
        let r = w.named(p).to_request();
        for _ in 0..iters { black_box(set.evaluate(black_box(&r))); }
    }
}
