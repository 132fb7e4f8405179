"""Policy analysis from Python: lint, access review, diff and replay, the core's answers as
dicts (``docs/analysis.md``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import agen_policy
from harness import REPO_ROOT

ACME = REPO_ROOT / "examples" / "acme.json"


def acme_document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ACME.read_text(encoding="utf-8"))
    return doc


def test_lint_lists_the_example_findings() -> None:
    lint = agen_policy.PolicySet.from_file(ACME).lint()
    codes = [f["code"] for f in lint["findings"]]
    assert codes[0] == "broad_allow"
    assert lint["findings"][0]["severity"] == "security_warning"
    assert "ungoverned_tool" in codes
    overrides = [f for f in lint["findings"] if f["code"] == "otherwise_overrides"]
    assert overrides[-1]["policies"] == ["github-write-trusted-agents", "github-write-engineering"]


def test_access_review_of_one_user() -> None:
    review = agen_policy.PolicySet.from_file(ACME).access("google_drive", "get_file", user="alice")
    alice = review["principals"][0]
    assert alice["principal"] == {"kind": "user", "id": "alice"}
    assert alice["exact"] is True
    actions = [p["action"] for p in alice["pieces"]]
    assert actions == ["allow", "request_approval"]
    assert alice["pieces"][1]["example"] == {"agent.trusted": False}


def test_diff_witnesses_decide_as_claimed() -> None:
    old = agen_policy.PolicySet.from_file(ACME)
    doc = acme_document()
    for p in doc["policies"]:
        if p["id"] == "github-write-trusted-agents":
            p["targeting"]["otherwise"] = "none"
    new = agen_policy.PolicySet.from_dict(doc)
    d = agen_policy.diff(old, new)
    assert d["changes"]
    for change in d["changes"]:
        assert change["impact"] == "more_permissive"
        for w in change["witnesses"]:
            assert old.evaluate_request(w["request"]).action == w["old"]["action"]
            assert new.evaluate_request(w["request"]).action == w["new"]["action"]
    assert agen_policy.diff(old, old)["changes"] == []


def test_replay_takes_dicts_and_lines() -> None:
    doc = acme_document()
    for p in doc["policies"]:
        if p["id"] == "github-read":
            p["action"] = "deny"
    new = agen_policy.PolicySet.from_dict(doc)
    record = {"user": "carol", "connector": "github", "tool": "list_user_repositories",
              "action": "allow"}
    r = agen_policy.replay(new, [record, json.dumps(record)])
    assert r["records"] == 2
    assert [t["index"] for t in r["transitions"]] == [0, 1]
    assert r["summary"] == [{"from": "allow", "to": "deny", "count": 2}]
    with pytest.raises(agen_policy.RequestError) as e:
        agen_policy.replay(new, [record, {"user": 1}])
    assert e.value.code == "invalid_request"
    assert e.value.index == 1
