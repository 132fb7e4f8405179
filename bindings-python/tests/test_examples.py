"""The Python examples, and the README snippets, run and do what their docs say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def python_blocks(readme: Path) -> list[str]:
    """Every ```python block of a README, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in readme.read_text(encoding="utf-8").splitlines():
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO_ROOT)
    )


def loop_blocks(readme: Path) -> list[str]:
    return [b for b in python_blocks(readme) if "open_approval(" in b]


@pytest.mark.parametrize(
    "readme", [REPO_ROOT / "bindings-python" / "README.md", REPO_ROOT / "README.md"], ids=str
)
def test_the_readme_loop_runs(readme: Path) -> None:
    (loop,) = loop_blocks(readme)
    # The top-level README's loop goes on from its first snippet (which loads `policies`).
    setup = "import agen_policy\npolicies = agen_policy.PolicySet.from_file('examples/acme.json')\n"
    result = run(setup + loop)
    assert result.returncode == 0, result.stderr
    # The snippet's asserts can fail: with the grant or the auth left out, it does.
    for broken in (
        loop.replace('"grants": [grant]', '"grants": []'),
        loop.replace("auth=auth", "auth={**auth, 'time': now - 3_600_000}"),
    ):
        assert broken != loop
        assert run(setup + broken).returncode != 0
