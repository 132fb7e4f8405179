#!/usr/bin/env bash
# Tests the framework adapters against the real packages: installs the framework versions
# pinned in tests/adapters/requirements.txt into the package's virtual environment
# (bindings-python/.venv, or $AGEN_PY_VENV, where test.sh installed agen-policy), then runs
# their tests (each framework's own test model or in-process transport: no network, no LLM),
# the Python examples that use them, and `mypy --strict` on the adapters and their tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
venv="${AGEN_PY_VENV:-$here/.venv}"
start=$SECONDS

pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install -r "$here/tests/adapters/requirements.txt"
echo "installed the frameworks in $((SECONDS - start)) s"

cd "$here"
"$venv/bin/python" -m pytest -p no:cacheprovider tests/adapters
"$venv/bin/python" -m mypy --strict -p agen_policy.integrations
"$venv/bin/python" -m mypy --strict tests/adapters \
    "$repo/examples/python/mcp_server.py" "$repo/examples/python/mcp_client.py"
echo "python adapters: tests and mypy --strict passed in $((SECONDS - start)) s"
