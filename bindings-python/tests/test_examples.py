"""The Python examples run and print what their docs say."""

from __future__ import annotations

import subprocess
import sys

from harness import REPO_ROOT


def test_guard_tools_example(tmp_path: object) -> None:
    script = REPO_ROOT / "examples" / "python" / "guard_tools.py"
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 7, result.stdout
    assert "ran: created demo" in lines[1]
    assert "denied: deny (policy: github-write-trusted-agents)" in lines[2]
    assert "paused for approval by security-review" in lines[4]
    assert "denied: deny (no_policy)" in lines[5]
    assert "step up" in lines[6]
    assert result.stderr == ""
