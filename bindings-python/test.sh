#!/usr/bin/env bash
# Tests the Python package from source: creates a virtual environment (bindings-python/.venv,
# or $AGEN_PY_VENV), installs the package with pip (built by maturin from the Rust sources)
# and pytest and mypy from PyPI, then runs the tests (the shared conformance vectors
# included), `mypy --strict` on the tests and the Python examples, and `stubtest` on the
# package's stubs, then the framework adapters (test-adapters.sh). Exits non-zero on any
# failure. Needs the Rust toolchain and Python >= 3.11 ($PYTHON, default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-python3}"
venv="${AGEN_PY_VENV:-$here/.venv}"
start=$SECONDS

"$python" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python >= 3.11 is needed, this is {sys.version.split()[0]}")
PY

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install "pytest>=8" "mypy>=1.10"
# From outside the source tree, as a user would install it; --force-reinstall so the fresh
# build replaces any earlier one of the same version. The tests build with the dev profile
# (debug assertions on, and a rebuild takes seconds rather than a minute);
# AGEN_PY_PROFILE=release tests the optimized build users get. The `test-hooks` feature adds
# the entry points the tests need (a panic injector, the benchmark's probes); a release build
# of the package has none of them.
(cd "$repo" && MATURIN_PEP517_ARGS="--profile ${AGEN_PY_PROFILE:-dev} --features test-hooks" \
    "${pip[@]}" install --force-reinstall --no-deps ./bindings-python)
echo "installed agen-policy in $((SECONDS - start)) s"

cd "$here"
"$venv/bin/python" -m pytest tests --ignore=tests/adapters
"$venv/bin/python" -m mypy --strict --exclude tests/adapters tests "$repo/examples/python/guard_tools.py"
# The hand-written stubs must match what the extension module really exports (but for the test
# hooks of this build).
"$venv/bin/python" -m mypy.stubtest agen_policy --allowlist tests/stubtest-allowlist.txt
echo "python package: tests and mypy --strict passed in $((SECONDS - start)) s"
# The framework adapters, against the frameworks installed from the registries.
"$here/test-adapters.sh"
