"""The gate every adapter shares: fail closed, memo per tool-call id, importing no framework."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from conftest import Host

from agen_policy import Identity, PolicySet
from agen_policy.integrations import PolicyGate, ToolCall
from agen_policy.integrations.common import OUTCOMES, Kind


def test_importing_the_package_imports_no_framework() -> None:
    code = (
        "import sys, agen_policy, agen_policy.integrations\n"
        "found = [m for m in ('mcp', 'fastmcp', 'agents', 'langchain', 'langgraph',"
        " 'pydantic_ai') if m in sys.modules]\n"
        "assert not found, found\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_table_covers_every_outcome_the_core_names() -> None:
    from agen_policy._native import blocked_outcome

    for action in ("allow", "step_up", "request_approval", "deny"):
        outcome = blocked_outcome(action)
        assert (outcome[0] if outcome else None) in OUTCOMES


def test_errors_block_the_call(host: Host, policies: PolicySet) -> None:
    call = ToolCall("read_notes", "c1", {"topic": "q3"})

    def broken_log(record: dict[str, Any]) -> None:
        raise OSError("disk full")

    logged = PolicyGate(policies, connector="demo", on_decision=broken_log)
    assert logged.pause(call, host.identity()).kind is Kind.REFUSE
    assert logged.final(call, host.identity()).error == "OSError: disk full"

    def broken_route(name: str) -> tuple[str, str]:
        raise KeyError(name)

    routed = PolicyGate(policies, route=broken_route)
    assert routed.final(call, host.identity()).kind is Kind.REFUSE
    gate = PolicyGate(policies, connector="demo")
    # No identity at all: blocked, not run.
    assert gate.final(call, None).kind is Kind.REFUSE
    # An identity the engine refuses: blocked.
    assert gate.final(call, Identity("")).kind is Kind.REFUSE
    # Arguments without a JSON form: blocked.
    odd = ToolCall("read_notes", "c2", {"topic": float("nan")})
    assert gate.final(odd, host.identity()).kind is Kind.REFUSE
    assert gate.final(call, host.identity()).kind is Kind.RUN


def test_a_pause_decision_is_memoized_per_call_until_the_evidence_changes(
    host: Host, policies: PolicySet
) -> None:
    gate = PolicyGate(
        policies, connector="demo", approvals=host.store, on_decision=host.records.append
    )
    call = ToolCall("purge_notes", "c1", {"topic": "q3"})
    first = gate.pause(call, host.identity())
    again = gate.pause(call, host.identity())
    assert again is first and len(host.records) == 1
    [approval] = first.approvals
    other = gate.pause(ToolCall("purge_notes", "c2", {"topic": "q3"}), host.identity())
    assert other.approvals[0]["id"] != approval["id"]
    host.approve(approval["id"])
    resumed = gate.pause(call, host.identity())
    assert resumed.kind is Kind.RUN and resumed.decision is not None
    assert resumed.decision.satisfied == ("purge-reviewed",)
    # The grant is bound to the call's arguments: other arguments do not run.
    changed = gate.final(ToolCall("purge_notes", "c1", {"topic": "q4"}), host.identity())
    assert changed.kind is Kind.APPROVAL
