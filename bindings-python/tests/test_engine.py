"""Hot reload: an Engine swaps its policy set atomically, refuses invalid documents, and every
decision names the version that made it, also while threads evaluate during a thousand reloads."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

import agen_policy
from agen_policy import Action, DocumentError, Engine, PolicySet, ToolDenied, acting_for, guard

ACTIONS = ["allow", "step_up", "request_approval", "deny"]


def document(i: int) -> dict[str, Any]:
    return {
        "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
        "policies": [
            {
                "id": f"p{i}",
                "name": f"Version {i}",
                "connector": "c",
                "action": ACTIONS[i % 4],
                "all_users": True,
                "tools": "all",
            }
        ],
    }


def test_reload_swaps_and_reports_the_version() -> None:
    engine = Engine(PolicySet.from_dict(document(0)))
    first = engine.version
    assert engine.evaluate("u", "c", "t").action == Action.ALLOW
    version = engine.reload(json.dumps(document(3)))
    assert version == engine.version != first
    decision = engine.evaluate("u", "c", "t")
    assert decision.action == Action.DENY
    assert decision.version == version
    assert engine.reload(document(1)) == PolicySet.from_dict(document(1)).version
    assert engine.current.version == engine.version


def test_an_invalid_document_is_refused_and_the_old_set_kept() -> None:
    engine = Engine(PolicySet.from_dict(document(0)))
    before = engine.version
    with pytest.raises(DocumentError) as refused:
        engine.reload('{"connectors": [], "policies": [{"id": "p"}]}')
    assert refused.value.problems[0].path == "/policies/0"
    with pytest.raises(DocumentError):
        engine.reload("{")
    assert engine.version == before
    assert engine.evaluate("u", "c", "t").action == Action.ALLOW


def test_reload_file_and_replace(tmp_path: Any) -> None:
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(document(2)), encoding="utf-8")
    engine = Engine(PolicySet.from_dict(document(0)))
    assert engine.reload_file(path) == engine.version
    assert engine.evaluate("u", "c", "t").action == Action.REQUEST_APPROVAL
    replacement = PolicySet.from_dict(document(1))
    old = engine.replace(replacement)
    assert old.version == PolicySet.from_dict(document(2)).version
    assert engine.current is replacement
    assert "Engine serving version" in repr(engine)


def test_the_guard_follows_reloads() -> None:
    engine = Engine(PolicySet.from_dict(document(0)))

    @guard(engine, connector="c")
    def t() -> str:
        return "ran"

    with acting_for("u"):
        assert t() == "ran"
        engine.reload(document(3))
        with pytest.raises(ToolDenied):
            t()


def test_readers_see_one_consistent_version_per_decision() -> None:
    """Three threads evaluate while a thousand reloads swap eight versions: every decision is
    wholly of the version it names (never one version's action with another's policy), and
    the readers see several versions, not only the first or the last."""
    versions = {PolicySet.from_dict(document(i)).version: ACTIONS[i % 4] for i in range(8)}
    expected_policy = {PolicySet.from_dict(document(i)).version: f"p{i}" for i in range(8)}
    engine = Engine(PolicySet.from_dict(document(0)))
    stop = threading.Event()
    failures: list[str] = []
    counts: list[int] = []
    seen: set[str] = set()
    lock = threading.Lock()

    def read() -> None:
        n = 0
        while not stop.is_set():
            d = engine.evaluate("u", "c", "t")
            n += 1
            if versions.get(d.version) != d.action.value or d.policies != (
                expected_policy[d.version],
            ):
                failures.append(f"{d!r} does not match version {d.version}")
            explained = engine.explain("u", "c", "t").decision
            if versions.get(explained.version) != explained.action.value:
                failures.append(f"{explained!r} does not match version {explained.version}")
            with lock:
                seen.add(d.version)
        counts.append(n)

    def wait_until_seen(version: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if version in seen:
                    return
            time.sleep(0.001)
        failures.append(f"no reader saw version {version} in 10 s")

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    texts = [json.dumps(document(i)) for i in range(8)]
    for swap in range(1, 1001):
        version = engine.reload(texts[swap % 8])
        if swap % 100 == 0:
            with pytest.raises(DocumentError):
                engine.reload("[]")
            # Readers keep up: at some points, wait until one of them has decided on the
            # version just loaded (the invalid document changed nothing).
            wait_until_seen(version)
    stop.set()
    for r in readers:
        r.join()
    assert failures == []
    assert len(counts) == 3 and all(n > 0 for n in counts)
    assert len(seen) >= 2, seen
    assert seen <= set(versions)
    assert engine.version == PolicySet.from_dict(document(1000 % 8)).version


def test_engine_is_exported() -> None:
    assert agen_policy.Engine is Engine
