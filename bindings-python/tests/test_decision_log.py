"""The refusal text, the decision log record and the JSON-lines sink, as the core makes them."""

from __future__ import annotations

import datetime
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import agen_policy
from agen_policy import (
    ArgumentError,
    JsonlDecisionLog,
    PolicySet,
    ToolBlocked,
    acting_for,
    decision_record,
    guard,
    refusal_message,
)


def test_refusal_message_is_the_cores_text() -> None:
    assert refusal_message("allow", "github", "x") is None
    denied = refusal_message("deny", "github", "delete_repository")
    assert denied is not None
    assert denied.startswith("The call to github/delete_repository was denied")
    for action in ("step_up", "request_approval"):
        text = refusal_message(action, "github", "t")
        assert text is not None and "did not run" in text and "retried" in text
    with pytest.raises(ArgumentError):
        refusal_message("maybe", "github", "t")


def test_a_record_keeps_the_cores_member_order(acme: PolicySet) -> None:
    decision = acme.evaluate("alice", "github", "delete_repository", groups=["eng"])
    record = decision_record(
        decision,
        id="d1",
        time=datetime.datetime(2026, 11, 29, 15, 24, 50, 123000, tzinfo=datetime.UTC),
        user="alice",
        connector="github",
        tool="delete_repository",
        groups=("eng",),
        tool_call_id="call_1",
        arguments_digest="ab",
        arguments={"name": "x"},
    )
    assert list(record) == [
        "id",
        "time",
        "version",
        "user",
        "groups",
        "connector",
        "tool",
        "tool_call_id",
        "action",
        "reason",
        "policies",
        "approval_flows",
        "satisfied",
        "arguments_digest",
        "arguments",
    ]
    assert record["time"] == "2026-11-29T15:24:50.123Z"
    assert record["version"] == acme.version
    assert record["action"] == decision.action
    bare = decision_record(
        decision, id="d2", time=0, user="alice", connector="github", tool="delete_repository"
    )
    assert "groups" not in bare and "tool_call_id" not in bare and "arguments" not in bare
    assert bare["time"] == "1970-01-01T00:00:00.000Z"
    with pytest.raises(ArgumentError):
        decision_record(decision, id="d", time="now", user="a", connector="c", tool="t")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError):
        decision_record(
            decision, id="d", time=datetime.datetime(2026, 1, 1), user="a", connector="c", tool="t"
        )


def test_the_jsonl_log_drops_arguments_unless_asked(acme: PolicySet, tmp_path: Path) -> None:
    decision = acme.evaluate("alice", "github", "x")
    record = decision_record(
        decision, id="d", time=1, user="alice", connector="github", tool="x", arguments={"a": 1}
    )
    path = tmp_path / "log.jsonl"
    with JsonlDecisionLog(path) as log:
        log(record)
        log(record)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert "arguments" not in json.loads(lines[0])
    assert list(json.loads(lines[0])) == [k for k in record if k != "arguments"]
    buffer = io.StringIO()
    JsonlDecisionLog(buffer, include_arguments=True)(record)
    assert json.loads(buffer.getvalue())["arguments"] == {"a": 1}


def test_the_jsonl_log_is_shared_by_threads(acme: PolicySet) -> None:
    decision = acme.evaluate("alice", "github", "x")
    buffer = io.StringIO()
    log = JsonlDecisionLog(buffer)

    def write(n: int) -> None:
        for i in range(200):
            log(decision_record(decision, id=f"{n}-{i}", time=i, user="u", connector="c", tool="t"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 800
    assert len({json.loads(line)["id"] for line in lines}) == 800


def test_the_guard_reports_each_decision(acme: PolicySet) -> None:
    records: list[dict[str, Any]] = []

    @guard(acme, connector="github", on_decision=records.append)
    def delete_repository(name: str) -> str:
        return name

    with acting_for("alice", groups=["eng"]), pytest.raises(ToolBlocked):
        delete_repository("x")
    assert [r["action"] for r in records] == ["request_approval"]
    assert records[0]["user"] == "alice" and records[0]["tool"] == "delete_repository"
    assert records[0]["groups"] == ["eng"]


def test_a_failing_callback_blocks_the_call(acme: PolicySet) -> None:
    ran: list[str] = []

    def broken(record: dict[str, Any]) -> None:
        raise OSError("disk full")

    @guard(acme, connector="github", on_decision=broken)
    def list_repositories() -> None:
        ran.append("x")

    with acting_for("alice"), pytest.raises(OSError):
        list_repositories()
    assert ran == []
    assert agen_policy.JsonlDecisionLog.__module__ == "agen_policy"
