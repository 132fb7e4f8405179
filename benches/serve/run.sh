#!/usr/bin/env bash
# Load test of `agen-policy serve`'s decision API (POST /access/v1/evaluation) at 1,000
# policies, with wrk over keep-alive connections. Needs `wrk` (Debian: apt-get install wrk).
#
#   benches/serve/run.sh [THREADS] [CONNECTIONS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads="${1:-2}" connections="${2:-32}" seconds="${3:-20}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -p agen-policy-cli --locked
node benches/serve/gen.mjs "$work"
"$target/release/agen-policy" serve "$work/document.json" --listen 127.0.0.1:18189 \
    --token bench-token-0123456789 > "$work/serve.out" &
server=$!
until grep -q "on http://" "$work/serve.out" 2>/dev/null; do sleep 0.1; done
# Warm up, then measure.
wrk -t"$threads" -c"$connections" -d3s -s "$work/evaluations.lua" http://127.0.0.1:18189 > /dev/null
wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/evaluations.lua" \
    http://127.0.0.1:18189
