#!/usr/bin/env bash
# A short run of every fuzz target (30 seconds each by default), seeded from the repository's
# conformance vectors. Needs the nightly toolchain; installs cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-30}
conformance=${AGEN_CONFORMANCE_DIR:-../conformance/spec}
peer=${AGEN_PEER_CONFORMANCE_DIR:-../conformance/peer}

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
python3 seed.py "$conformance" "$peer"
cargo +nightly fuzz build
for target in load roundtrip evaluate evaluate_large; do
  echo "fuzz: $target for ${seconds}s"
  # -timeout: one input taking over 10 s is a finding, as is a crash or a leak.
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 2>&1 | tail -n 3
done
