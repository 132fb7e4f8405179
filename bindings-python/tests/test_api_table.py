"""The package's exports against ``docs/api.md``, the table every language must match: a name
in its Python column that the package lacks fails here, so the table cannot drift."""

from __future__ import annotations

import re

import pytest

import agen_policy
from harness import REPO_ROOT

API_TABLE = REPO_ROOT / "docs" / "api.md"


def python_names() -> list[tuple[str, str]]:
    """``(concept, name)`` for every backticked name in a table's Python column."""
    names: list[tuple[str, str]] = []
    column: int | None = None
    for line in API_TABLE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "Python" in cells:
            column = cells.index("Python")
            continue
        if column is None or set(line) <= set("|-: "):
            continue
        cell = cells[column]
        match = re.fullmatch(r"`([A-Za-z_][A-Za-z0-9_.]*)`", cell)
        if match is None:
            assert cell == "—", f"unreadable Python cell {cell!r} in {line!r}"
            continue
        if match.group(1) in ("dict",):
            continue  # a plain value, not a name of the package
        names.append((cells[0], match.group(1)))
    return names


def exists(name: str) -> bool:
    owner, _, member = name.rpartition(".")
    if not owner:
        return hasattr(agen_policy, name)
    cls = getattr(agen_policy, owner, None)
    return cls is not None and hasattr(cls, member)


def test_the_table_is_read() -> None:
    names = dict(python_names())
    assert len(names) >= 40
    assert names["evaluate JSON text"] == "PolicySet.evaluate_json"
    assert names["approval store"] == "SqliteApprovalStore"


@pytest.mark.parametrize(("concept", "name"), python_names(), ids=lambda v: str(v))
def test_every_python_name_exists(concept: str, name: str) -> None:
    assert exists(name), f"docs/api.md names `{name}` for {concept}; agen_policy has no such name"


def test_a_missing_name_is_caught() -> None:
    assert not exists("PolicySet.evaluate_yaml")
    assert not exists("NoSuchClass.evaluate")
    assert not exists("no_such_function")
