"""Shared fixtures: the bundled example organization."""

from __future__ import annotations

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
