"""The package's API on the bundled example organization and small documents."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import agen_policy
from agen_policy import (
    Action,
    Decision,
    DocumentError,
    Explanation,
    PolicySet,
    Problem,
    Reason,
    RequestError,
)

TRUSTED = {"agent": {"type": "ChatGPT"}}


def small(policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "connectors": [{"id": "c", "tools": [{"name": "t"}, {"name": "u"}]}],
        "approval_flows": [{"id": "review", "steps": [{"users": ["bob"]}]}],
        "policies": policies or [],
    }


def allow_all(pid: str = "p") -> dict[str, Any]:
    return {
        "id": pid,
        "name": "all",
        "connector": "c",
        "action": "allow",
        "all_users": True,
        "tools": "all",
    }


# --- loading -----------------------------------------------------------------------------------


def test_every_loader_gives_the_same_set(acme_path: Path) -> None:
    text = acme_path.read_text(encoding="utf-8")
    sets = [
        PolicySet.from_json(text),
        PolicySet.from_json(text.encode()),
        PolicySet.from_dict(json.loads(text)),
        PolicySet.from_file(acme_path),
        PolicySet.from_file(str(acme_path)),
    ]
    versions = {s.version for s in sets}
    assert len(versions) == 1
    (version,) = versions
    assert len(version) == 64 and int(version, 16) >= 0


def test_the_document_round_trips_with_defaults(acme: PolicySet) -> None:
    document = acme.document()
    assert document["version"] == 1
    assert all("enabled" in c for c in document["connectors"])
    assert PolicySet.from_dict(document).version == acme.version
    document["policies"] = []
    assert acme.document()["policies"], "document() returns a copy"


def test_formatting_does_not_change_the_version() -> None:
    compact = PolicySet.from_json(json.dumps(small([allow_all()])))
    spaced = PolicySet.from_json(json.dumps(small([allow_all()]), indent=4))
    other = PolicySet.from_dict(small([allow_all("q")]))
    assert compact.version == spaced.version != other.version


def test_warnings_are_kept() -> None:
    doc = small([{**allow_all(), "all_users": False, "users": ["ghost"]}])
    doc["users"] = [{"id": "alice"}, {"id": "bob"}]
    policies = PolicySet.from_dict(doc)
    assert [(w.code, w.path) for w in policies.warnings] == [
        ("unknown_user", "/policies/0/users/0")
    ]


def test_a_set_pickles_as_its_document(acme: PolicySet) -> None:
    again = pickle.loads(pickle.dumps(acme))
    assert again is not acme and again.version == acme.version
    request = ("alice", "github", "delete_repository")
    assert again.evaluate(*request) == acme.evaluate(*request)


def test_repr_of_a_set(acme: PolicySet) -> None:
    assert repr(acme) == "<PolicySet: 3 connectors, 11 policies>"


# --- validate -----------------------------------------------------------------------------------


def test_validate_reports_every_problem_without_raising() -> None:
    doc = small(
        [
            {"id": "p", "name": " ", "connector": "c", "action": "allow", "tools": ["nope"]},
            {
                "id": "p",
                "name": "x",
                "connector": "c",
                "action": "allow",
                "tools": ["t"],
                "approval_flow": "missing",
            },
        ]
    )
    result = agen_policy.validate(doc)
    assert not result.valid
    assert {(p.code, p.path) for p in result.problems} == {
        ("empty_name", "/policies/0/name"),
        ("unknown_tool", "/policies/0/tools/0"),
        ("duplicate_id", "/policies/1/id"),
        ("unknown_approval_flow", "/policies/1/approval_flow"),
    }
    assert result.to_dict()["valid"] is False
    assert len(result.to_dict()["problems"]) == 4
    assert "Validation(valid=False" in repr(result)


def test_validate_accepts_text_bytes_and_dicts(acme_path: Path) -> None:
    text = acme_path.read_text(encoding="utf-8")
    for document in (text, text.encode(), json.loads(text)):
        result = agen_policy.validate(document)
        assert result.valid and result.problems == ()


def test_validate_gives_warnings_of_a_valid_document() -> None:
    doc = small([{**allow_all(), "tools": {"all": False}}])
    result = agen_policy.validate(doc)
    assert result.valid
    assert [w.code for w in result.warnings] == ["governs_nothing"]


def test_a_syntax_error_has_a_line_and_column() -> None:
    result = agen_policy.validate('{\n  "connectors": ,\n}')
    (problem,) = result.problems
    assert (problem.code, problem.path, problem.line, problem.column) == (
        "invalid_document",
        "",
        2,
        17,
    )
    assert problem.to_dict()["line"] == 2


# --- evaluate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "connector", "tool", "context", "action", "reason", "policies"),
    [
        ("alice", "github", "list_user_repositories", None, "allow", "policy", ("github-read",)),
        (
            "alice",
            "github",
            "create_repository",
            TRUSTED,
            "allow",
            "policy",
            ("github-write-engineering", "github-write-trusted-agents"),
        ),
        (
            "alice",
            "github",
            "create_repository",
            None,
            "deny",
            "policy",
            ("github-write-trusted-agents",),
        ),
        (
            "erin",
            "github",
            "create_repository",
            TRUSTED,
            "deny",
            "policy",
            ("github-contractors-no-create",),
        ),
        (
            "alice",
            "google_drive",
            "share_file",
            None,
            "step_up",
            "policy",
            ("drive-share-step-up",),
        ),
        ("carol", "github", "delete_repository", None, "deny", "no_policy", ()),
        ("alice", "github", "transfer_repository", None, "deny", "tool_disabled", ()),
        ("alice", "github", "fork", None, "deny", "unknown_tool", ()),
        ("alice", "gitlab", "fork", None, "deny", "unknown_connector", ()),
    ],
)
def test_acme_decisions(
    acme: PolicySet,
    user: str,
    connector: str,
    tool: str,
    context: dict[str, Any] | None,
    action: str,
    reason: str,
    policies: tuple[str, ...],
) -> None:
    d = acme.evaluate(user, connector, tool, context=context)
    assert (d.action, d.reason, d.policies) == (action, reason, policies)
    assert d.allowed is (action == "allow")
    assert d.version == acme.version


def test_approval_names_its_flows(acme: PolicySet) -> None:
    d = acme.evaluate("alice", "github", "delete_repository")
    assert d.action is Action.REQUEST_APPROVAL
    assert d.reason is Reason.POLICY
    assert d.approval_flows == ("security-review",)


def test_request_groups_join_directory_groups(acme: PolicySet) -> None:
    # carol (sales) gets the engineering policy through a claimed group.
    claimed = acme.evaluate("carol", "github", "delete_repository", groups=["engineering"])
    assert claimed.action == "request_approval"
    for groups in (("engineering",), {"engineering"}, frozenset({"engineering"})):
        assert acme.evaluate("carol", "github", "delete_repository", groups=groups) == claimed


def test_keyword_arguments_and_request_forms_agree(acme: PolicySet) -> None:
    request = {
        "user": "alice",
        "connector": "github",
        "tool": "create_repository",
        "groups": ["x"],
        "context": TRUSTED,
    }
    by_position = acme.evaluate(
        "alice", "github", "create_repository", groups=["x"], context=TRUSTED
    )
    by_keyword = acme.evaluate(
        user="alice", connector="github", tool="create_repository", groups=["x"], context=TRUSTED
    )
    assert by_position == by_keyword == acme.evaluate_request(request)
    assert by_position == acme.evaluate_request(json.dumps(request))
    assert by_position == acme.evaluate_request(json.dumps(request).encode())


def test_evaluate_many_keeps_order_and_takes_any_iterable(acme: PolicySet) -> None:
    requests = [
        {"user": "alice", "connector": "github", "tool": t}
        for t in ("list_user_repositories", "delete_repository", "fork", "create_issue")
    ]
    one_by_one = [acme.evaluate_request(r) for r in requests]
    assert acme.evaluate_many(requests) == one_by_one
    assert acme.evaluate_many(iter(requests)) == one_by_one
    assert acme.evaluate_many(tuple(json.dumps(r) for r in requests)) == one_by_one
    assert acme.evaluate_many([]) == []


# --- decisions ----------------------------------------------------------------------------------


def test_action_and_reason_are_string_enums(acme: PolicySet) -> None:
    d = acme.evaluate("alice", "google_drive", "share_file")
    assert isinstance(d.action, Action) and isinstance(d.action, str)
    assert d.action == "step_up" and str(d.action) == "step_up"
    assert [a.value for a in Action] == ["allow", "step_up", "request_approval", "deny"]
    assert {r.value for r in Reason} == {
        "unknown_connector",
        "connector_disabled",
        "unknown_tool",
        "tool_disabled",
        "no_policy",
        "policy",
        "internal",
    }
    assert json.dumps({"a": d.action}) == '{"a": "step_up"}'


def test_decision_to_dict_repr_and_str(acme: PolicySet) -> None:
    d = acme.evaluate("alice", "github", "delete_repository")
    assert d.to_dict() == {
        "action": "request_approval",
        "reason": "policy",
        "policies": ["github-delete-approval"],
        "approval_flows": ["security-review"],
        "satisfied": [],
        "step_up": [],
        "version": acme.version,
    }
    assert type(d.to_dict()["action"]) is str
    assert json.loads(json.dumps(d.to_dict())) == d.to_dict()
    assert (
        str(d)
        == "request_approval (policy: github-delete-approval) via approval flow security-review"
    )
    assert repr(d).startswith(
        "Decision(action='request_approval', reason='policy', "
        "policies=('github-delete-approval',), approval_flows=('security-review',), satisfied=(), "
        "version='"
    )
    assert str(acme.evaluate("carol", "github", "delete_repository")) == "deny (no_policy)"


def test_decisions_compare_and_hash_by_value() -> None:
    one = PolicySet.from_dict(small([allow_all()]))
    same = PolicySet.from_json(json.dumps(small([allow_all()])))
    a = one.evaluate("u", "c", "t")
    b = same.evaluate("u", "c", "u")
    c = one.evaluate("u", "c", "nope")
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert a != c and len({a, b, c}) == 2
    assert a != "allow" and a != a.to_dict()
    other_version = PolicySet.from_dict(small([allow_all(), allow_all("q")])).evaluate(
        "u", "c", "t"
    )
    assert other_version.action == a.action and other_version != a


def test_decisions_and_sets_are_immutable(acme: PolicySet) -> None:
    d = acme.evaluate("alice", "github", "delete_repository")
    with pytest.raises(AttributeError):
        d.action = Action.ALLOW  # type: ignore[misc]
    with pytest.raises(AttributeError):
        acme.version = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        acme.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        PolicySet()


def test_a_repeated_decision_is_the_same_value(acme: PolicySet) -> None:
    first = acme.evaluate("alice", "github", "delete_repository")
    for _ in range(3):
        again = acme.evaluate("alice", "github", "delete_repository")
        assert again == first and again.policies == first.policies


def test_decisions_of_many_distinct_outcomes_stay_correct() -> None:
    # More distinct decisions than a set keeps ready-made: every one must still be right.
    tools = [{"name": f"t{i}"} for i in range(5000)]
    policies = [
        {
            "id": f"p{i}",
            "name": "n",
            "connector": "c",
            "action": "allow",
            "all_users": True,
            "tools": [f"t{i}"],
        }
        for i in range(5000)
    ]
    big = PolicySet.from_dict({"connectors": [{"id": "c", "tools": tools}], "policies": policies})
    for round_ in range(2):
        for i in range(0, 5000, 7):
            assert big.evaluate("u", "c", f"t{i}").policies == (f"p{i}",), round_


# --- explain ------------------------------------------------------------------------------------


def test_explain_is_readable_and_structured(acme: PolicySet) -> None:
    e = acme.explain("erin", "github", "create_repository", context=TRUSTED)
    assert isinstance(e, Explanation)
    text = str(e)
    assert text.startswith("decision: deny (policy: github-contractors-no-create)\n")
    assert "user erin (in the directory; groups engineering, contractors)" in text
    assert 'true: agent.type matches ["ChatGPT", "Claude*"]' in text
    assert e.decision == acme.evaluate("erin", "github", "create_repository", context=TRUSTED)
    assert (e.user, e.connector, e.tool, e.user_in_directory) == (
        "erin",
        "github",
        "create_repository",
        True,
    )
    assert e.effective_groups == ("engineering", "contractors")
    by_id = {p.id: p for p in e.policies}
    assert [p.id for p in e.policies] == sorted(by_id)
    deny = by_id["github-contractors-no-create"]
    assert (deny.action, deny.governs_tool, deny.scope, deny.served, deny.determining) == (
        Action.DENY,
        True,
        "group contractors",
        "deny",
        True,
    )
    trusted = by_id["github-write-trusted-agents"]
    (rule,) = trusted.rules
    (condition,) = rule.conditions
    assert rule.matched and trusted.otherwise == "deny"
    assert (
        condition.attribute,
        condition.operator,
        condition.values,
        condition.actual,
        condition.outcome,
        condition.negate,
        condition.ignore_case,
    ) == ("agent.type", "matches", ("ChatGPT", "Claude*"), "ChatGPT", "true", False, False)
    assert not by_id["github-read"].governs_tool and by_id["github-read"].served is None
    assert "determining" in str(deny)
    assert repr(e).startswith("<Explanation of github/create_repository for user erin: deny")


def test_explain_to_dict_is_json(acme: PolicySet) -> None:
    e = acme.explain_request(
        {
            "user": "bob",
            "connector": "hubspot",
            "tool": "create_contact",
            "context": {"request.ip": "10.1.2.3"},
        }
    )
    data = e.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["decision"]["action"] == e.decision.action
    assert [p["id"] for p in data["policies"]] == [p.id for p in e.policies]
    office = next(p for p in e.policies if p.id == "hubspot-office-hours")
    assert office.to_dict()["rules"][0]["conditions"][0]["outcome"] == "true"
    assert office.rules[0].to_dict()["matched"] is True
    assert office.rules[0].conditions[0].to_dict()["actual"] == "10.1.2.3"


def test_missing_attribute_is_reported(acme: PolicySet) -> None:
    e = acme.explain("alice", "github", "create_issue")
    trusted = next(p for p in e.policies if p.id == "github-write-trusted-agents")
    condition = trusted.rules[0].conditions[0]
    assert condition.outcome == "missing" and condition.actual is None
    assert "(attribute missing)" in str(e)


# --- problems and errors ------------------------------------------------------------------------


def test_document_error_lists_problems() -> None:
    with pytest.raises(DocumentError) as raised:
        PolicySet.from_dict(
            small(
                [{"id": "p", "name": "x", "connector": "gitlab", "action": "allow", "tools": "all"}]
            )
        )
    e = raised.value
    assert e.code == "unknown_connector"
    assert [(p.code, p.path) for p in e.problems] == [
        ("unknown_connector", "/policies/0/connector")
    ]
    assert str(e).startswith("invalid policy document (1 problem)\n  unknown_connector at ")
    assert "`gitlab`" in e.problems[0].message
    assert isinstance(e, agen_policy.PolicyError)


def test_problems_are_values() -> None:
    p = Problem("unknown_tool", "/policies/0/tools/1", "unknown tool `x`")
    q = Problem("unknown_tool", "/policies/0/tools/1", "unknown tool `x`")
    assert p == q and hash(p) == hash(q) and len({p, q}) == 1
    assert p != Problem("unknown_tool", "/policies/0/tools/1", "unknown tool `x`", 1, 2)
    assert str(p) == "unknown_tool at /policies/0/tools/1: unknown tool `x`"
    assert str(Problem("invalid_document", "", "m")) == "invalid_document at the root: m"
    assert p.to_dict() == {
        "code": "unknown_tool",
        "path": "/policies/0/tools/1",
        "message": "unknown tool `x`",
    }
    assert (
        repr(Problem("c", "", "m", 1, 2))
        == "Problem(code='c', path='', message='m', line=1, column=2)"
    )
    assert pickle.loads(pickle.dumps(p)) == p
    with pytest.raises(AttributeError):
        p.code = "x"  # type: ignore[misc]


def test_errors_pickle_with_their_details() -> None:
    with pytest.raises(DocumentError) as raised:
        PolicySet.from_json("[]")
    again = pickle.loads(pickle.dumps(raised.value))
    assert isinstance(again, DocumentError) and again.problems == raised.value.problems
    request_error = RequestError("`user` must be a string", "/user", 3)
    copy = pickle.loads(pickle.dumps(request_error))
    assert (copy.message, copy.path, copy.index, str(copy)) == (
        "`user` must be a string",
        "/user",
        3,
        "request 3: invalid request at /user: `user` must be a string",
    )


def test_the_package_names_its_classes() -> None:
    assert agen_policy.__version__
    for name in agen_policy.__all__:
        assert hasattr(agen_policy, name), name
    assert Decision.__module__ == "agen_policy"
    assert DocumentError.__module__ == "agen_policy"
    assert Action.__module__ == "agen_policy"
