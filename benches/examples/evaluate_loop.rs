//! Evaluates one named request (or the 64-request mix) of the workload in a loop, for counting
//! instructions with callgrind, which counts the same on a busy machine as on an idle one:
//!
//! ```text
//! cargo build --release --example evaluate_loop
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/evaluate_loop allow 1000 0      # setup only
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/evaluate_loop allow 1000 2000   # setup + 2,000 evaluations
//! ```
//!
//! The difference of the two totals over the iterations is the instructions per evaluation
//! (per request for `mix`, divided by 64 as well). Arguments: a path name (`allow`, `step_up`,
//! `request_approval`, `deny`, `no_policy`, `targeting`) or `mix`; the workload size; the
//! iterations. With `AGEN_LOOP_TIME=1` it also prints the wall time per request of the loop
//! (the set-up left out), a rough figure beside criterion's.
use std::hint::black_box;

use agen_policy_benches::workload::{Path, Workload};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, size, iterations] = args.as_slice() else {
        eprintln!("usage: evaluate_loop PATH|mix SIZE ITERATIONS");
        std::process::exit(2);
    };
    let (Ok(size), Ok(iterations)) = (size.parse::<usize>(), iterations.parse::<usize>()) else {
        eprintln!("SIZE and ITERATIONS are numbers");
        std::process::exit(2);
    };
    let workload = Workload::new(size);
    let set = agen_policy_core::PolicySet::from_json(&workload.document_json())
        .expect("the workload's document loads");
    let requests: Vec<_> = if what == "mix" {
        let mix = &workload.sample[..64.min(workload.sample.len())];
        mix.iter().map(|r| r.to_request()).collect()
    } else {
        let Some(path) = Path::ALL.into_iter().find(|p| p.name() == what) else {
            eprintln!("unknown path {what}");
            std::process::exit(2);
        };
        vec![workload.named(path).to_request()]
    };
    let start = std::time::Instant::now();
    for _ in 0..iterations {
        for request in &requests {
            black_box(set.evaluate(black_box(request)));
        }
    }
    if std::env::var_os("AGEN_LOOP_TIME").is_some() {
        let evaluations = (iterations * requests.len()).max(1);
        let per = start.elapsed().as_nanos() as f64 / evaluations as f64;
        println!("{what} {size}: {per:.1} ns per request");
    }
}
