#!/usr/bin/env bash
# Builds the Node package from source and runs all of its tests: `npm install` (which compiles
# the addon with `napi build`, here with the test-only `test-hooks` feature), every node:test
# file, and `tsc --noEmit` on a TypeScript example.
# Fails on any failure. AGEN_CONFORMANCE_DIR may point at the SPEC §6 vectors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# The tests use exports that only the `test-hooks` feature builds (see Cargo.toml).
AGEN_POLICY_NODE_FEATURES=test-hooks npm install --no-audit --no-fund
node --test test/*.test.mjs test/*.test.cjs test/adapters/*.test.mjs
npx --no-install tsc -p test/types
echo "typescript: test/types type-checks"
