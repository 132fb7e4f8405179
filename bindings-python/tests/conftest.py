"""Shared fixtures: the bundled example organization."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agen_policy import PolicySet
from harness import REPO_ROOT

ACME = REPO_ROOT / "examples" / "acme.json"


@pytest.fixture(scope="session")
def acme_path() -> Path:
    return ACME


@pytest.fixture(scope="session")
def acme() -> PolicySet:
    return PolicySet.from_file(ACME)


class Hooks:
    """The native module's test hooks, present in a build with the `test-hooks` feature (the one
    test.sh makes)."""

    def __init__(self) -> None:
        from agen_policy import _native

        missing = [
            name
            for name in ("_panic_for_tests", "_panic_in_next_boundary")
            if not hasattr(_native, name)
        ]
        if missing:
            pytest.fail(
                f"the extension has no {', '.join(missing)}: build it with the `test-hooks` "
                "feature (bindings-python/test.sh does)"
            )
        self.panic_for_tests: Callable[[str], None] = getattr(_native, "_panic_for_tests")
        self.panic_in_next_boundary: Callable[[bool], bool] = getattr(
            _native, "_panic_in_next_boundary"
        )


@pytest.fixture(scope="session")
def hooks() -> Hooks:
    return Hooks()
