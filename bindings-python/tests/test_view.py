"""``evaluate`` (and ``evaluate_many``) read the request in place: the ids and groups as the
caller's ``str`` objects, the context dict only where a condition of a candidate policy reads
it. The decisions are those of ``evaluate_request`` on the same request; only the values read
are converted, so only they are checked."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from agen_policy import Decision, Engine, PolicySet, RequestError


def condition(attribute: str, operator: str, values: list[Any] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"attribute": attribute, "operator": operator}
    if values is not None:
        c["values"] = values
    return c


def policy(pid: str, tool: str, *conditions: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": pid,
        "connector": "c",
        "action": "allow",
        "all_users": True,
        "tools": [tool],
        "targeting": {"rules": [{"conditions": list(conditions)}]},
        **more,
    }


# One tool per condition, so each request decides on exactly one condition.
CONDITIONS = {
    "str": condition("s", "equals", ["x"]),
    "bool": condition("b", "equals", [True]),
    "int": condition("i", "equals", [-3]),
    "u64": condition("u", "equals", [2**64 - 1]),
    "big": condition("big", "gt", [2**64]),
    "float": condition("f", "lt", [1.75]),
    "null": condition("n", "exists"),
    "list": condition("l", "equals", ["b"]),
    "tuple": condition("t", "gt", [2]),
    "dict": condition("d", "exists"),
    "nested": condition("agent.type", "equals", ["CLI"]),
    "deep": condition("a.b.c.d", "starts_with", ["dee"]),
    "version": condition("v", "semver_gt", ["1.2.0"]),
    "address": condition("ip", "in_cidr", ["10.0.0.0/8"]),
    "instant": condition("when", "after", ["2024-01-01T00:00:00Z"]),
    "groups": condition("user.groups", "equals", ["g9"]),
    "any": condition("s", "exists"),
}

DOC: dict[str, Any] = {
    "connectors": [{"id": "c", "tools": [{"name": t} for t in CONDITIONS]}],
    "users": [{"id": "dir", "groups": ["g1"]}],
    "groups": [{"id": "g1"}],
    "policies": [policy(f"p-{t}", t, c) for t, c in CONDITIONS.items()]
    + [
        # A second policy on one tool, scoped to a group claim, with `otherwise: none`.
        {
            **policy("p-claim", "any", condition("flag", "equals", [True])),
            "all_users": False,
            "groups": ["g9"],
        }
    ],
}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def both(policies: PolicySet, tool: str, **kwargs: Any) -> Decision:
    """The decision of ``evaluate``, after checking ``evaluate_request`` and ``evaluate_many``
    agree with it."""
    d = policies.evaluate("u", "c", tool, **kwargs)
    request = {"user": "u", "connector": "c", "tool": tool, **kwargs}
    assert policies.evaluate_request(request) == d
    assert policies.evaluate_many([request]) == [d]
    return d


@pytest.mark.parametrize(
    ("tool", "yes", "no"),
    [
        ("str", "x", "y"),
        ("bool", True, 1),  # a bool is not an int, an int not a bool
        ("int", -3, -3.5),
        ("u64", 2**64 - 1, 2**64 - 2),
        ("big", 2**65, 2**63),  # beyond 64 bits: a float, as JSON text reads it
        ("float", 1.5, 2.0),
        ("null", 0, None),
        ("list", ["a", "b"], ["a", ["b"]]),  # nested lists are not compared
        ("tuple", (1, 3.5), (1, 2)),
        ("dict", {}, None),
        ("version", "1.10.0", "1.2.0"),
        ("address", "10.1.2.3", "192.168.0.1"),
        ("instant", "2024-06-01T00:00:00Z", 1_600_000_000_000),
    ],
)
def test_a_value_of_each_type(policies: PolicySet, tool: str, yes: Any, no: Any) -> None:
    key = CONDITIONS[tool]["attribute"]
    assert both(policies, tool, context={key: yes}).allowed
    assert not both(policies, tool, context={key: no}).allowed
    assert not both(policies, tool, context={}).allowed


def test_a_bool_subclass_of_int_reads_as_a_bool(policies: PolicySet) -> None:
    assert both(policies, "bool", context={"b": True}).allowed
    assert not both(policies, "int", context={"i": True}).allowed


def test_a_nested_path(policies: PolicySet) -> None:
    assert both(policies, "nested", context={"agent": {"type": "CLI"}}).allowed
    assert not both(policies, "nested", context={"agent": {"type": "GUI"}}).allowed
    assert not both(policies, "nested", context={"agent": "CLI"}).allowed
    assert not both(policies, "nested", context={"agent": ["CLI"]}).allowed
    deep = {"a": {"b": {"c": {"d": "deeper"}}}, "z": 1}
    assert both(policies, "deep", context=deep).allowed


def test_a_dotted_top_level_key(policies: PolicySet) -> None:
    assert both(policies, "nested", context={"agent.type": "CLI"}).allowed
    # The key spelled with the dots wins over the path along them.
    assert both(policies, "nested", context={"agent.type": "CLI", "agent": {"type": "x"}}).allowed
    assert not both(
        policies, "nested", context={"agent.type": "x", "agent": {"type": "CLI"}}
    ).allowed


def test_a_large_context_is_hashed_not_scanned(policies: PolicySet) -> None:
    context: dict[str, Any] = {f"k{i}": i for i in range(100)}
    context["agent"] = {f"k{i}": i for i in range(50)} | {"type": "CLI"}
    assert both(policies, "nested", context=context).allowed
    context["agent.type"] = "x"
    assert not both(policies, "nested", context=context).allowed


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        (math.nan, "/context/s", "`nan` has no JSON form"),
        (math.inf, "/context/s", "`inf` has no JSON form"),
        (10**400, "/context/s", "out of range"),
        (b"x", "/context/s", "decode bytes to str first"),
        ({"x"}, "/context/s", "a value of type `set` has no JSON form"),
        (object(), "/context/s", "a value of type `object` has no JSON form"),
        ("\ud800", "/context/s", "lone surrogate"),
        (["a", -math.inf], "/context/s/1", "`-inf` has no JSON form"),
        (("a", b"b"), "/context/s/1", "decode bytes to str first"),
        (["a", "\udfff"], "/context/s/1", "lone surrogate"),
    ],
)
def test_an_invalid_value_that_is_read_is_refused(
    policies: PolicySet, value: Any, path: str, message: str
) -> None:
    for how in ("evaluate", "Engine.evaluate", "evaluate_many"):
        with pytest.raises(RequestError) as raised:
            if how == "evaluate":
                policies.evaluate("u", "c", "str", context={"s": value})
            elif how == "Engine.evaluate":
                Engine(policies).evaluate("u", "c", "str", context={"s": value})
            else:
                request = {"user": "u", "connector": "c", "tool": "str", "context": {"s": value}}
                policies.evaluate_many([{"user": "u", "connector": "c", "tool": "str"}, request])
        e = raised.value
        assert (e.code, e.path) == ("invalid_request", path), how
        assert message in e.message, how
        assert e.index == (1 if how == "evaluate_many" else None)
    # The whole request, converted up front, is refused at the same place.
    with pytest.raises(RequestError) as whole:
        policies.evaluate_request({"user": "u", "connector": "c", "tool": "str", "context": {"s": value}})
    assert whole.value.path == path


def test_an_invalid_value_that_is_not_read_is_not_checked(policies: PolicySet) -> None:
    invalid: dict[Any, Any] = {"x": math.nan, "y": {1, 2}, "z": b"", "\ud800": 1, 3: "three"}
    context: dict[str, Any] = {**invalid, "w": ["\udc00"], "s": "x"}
    assert policies.evaluate("u", "c", "str", context=context).allowed
    # Not read by this tool's condition either (its connector does not exist).
    assert not policies.evaluate("u", "nope", "str", context={"s": math.nan}).allowed
    request = {"user": "u", "connector": "c", "tool": "str", "context": context}
    assert policies.evaluate_many([request])[0].allowed
    # The whole request is converted up front: refused.
    with pytest.raises(RequestError):
        policies.evaluate_request(request)
    # Nested below a value that is read as an object or a list: not read either.
    assert both(policies, "dict", context={"d": {"x": [1, 2]}}).allowed
    assert policies.evaluate("u", "c", "dict", context={"d": {"x": math.nan}}).allowed
    assert not policies.evaluate("u", "c", "list", context={"l": [[math.nan], "a"]}).allowed


def test_keys_equal_as_text_are_refused_where_read(policies: PolicySet) -> None:
    class Distinct(str):
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            return self is other

    context: dict[str, Any] = {Distinct("s"): "x", Distinct("s"): "x"}
    with pytest.raises(RequestError) as raised:
        policies.evaluate("u", "c", "str", context=context)
    assert raised.value.path == "/context/s"
    assert "duplicate key `s`" in raised.value.message
    assert policies.evaluate("u", "c", "bool", context={**context, "b": True}).allowed


def test_a_path_deeper_than_the_limit_is_refused_where_read() -> None:
    # 32 segments, the most an attribute has; the object found there is level 33.
    attribute = ".".join(["a"] * 32)
    doc = {
        "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
        "policies": [policy("p", "t", condition(attribute, "exists"))],
    }
    deep = PolicySet.from_dict(doc)
    context: dict[str, Any] = {}
    for _ in range(32):
        context = {"a": context}
    with pytest.raises(RequestError) as raised:
        deep.evaluate("u", "c", "t", context=context)
    assert raised.value.path == "/context" + "/a" * 32
    assert raised.value.message == "context nesting exceeds the limit of 32 levels"
    # A string there is level 32: read.
    leaf: dict[str, Any] = {"a": "x"}
    for _ in range(31):
        leaf = {"a": leaf}
    assert deep.evaluate("u", "c", "t", context=leaf).allowed


def test_a_read_string_counts_against_the_request_limit(policies: PolicySet) -> None:
    long = "x" * (1 << 20)
    with pytest.raises(RequestError) as raised:
        policies.evaluate("u", "c", "str", context={"s": long})
    assert raised.value.path == ""
    assert "exceed the limit of 1048576 bytes" in raised.value.message
    # Not read: not counted.
    assert not policies.evaluate("u", "c", "bool", context={"s": long}).allowed


def test_a_dict_mutated_between_calls(policies: PolicySet) -> None:
    context: dict[str, Any] = {"agent": {"type": "CLI"}}
    assert policies.evaluate("u", "c", "nested", context=context).allowed
    context["agent"]["type"] = "GUI"
    assert not policies.evaluate("u", "c", "nested", context=context).allowed
    context["agent.type"] = "CLI"
    assert policies.evaluate("u", "c", "nested", context=context).allowed
    del context["agent.type"]
    context["agent"] = {"type": "CLI"}
    assert policies.evaluate("u", "c", "nested", context=context).allowed
    context["agent"] = {"type": math.nan}
    with pytest.raises(RequestError):
        policies.evaluate("u", "c", "nested", context=context)
    context.clear()
    assert not policies.evaluate("u", "c", "nested", context=context).allowed
    items = ["a"]
    assert not policies.evaluate("u", "c", "list", context={"l": items}).allowed
    items.append("b")
    assert policies.evaluate("u", "c", "list", context={"l": items}).allowed


@pytest.mark.parametrize("kind", [list, tuple, set, frozenset])
def test_groups_are_read_in_place(policies: PolicySet, kind: type) -> None:
    for n in (1, 8, 9, 100):  # on the stack, and spilled to the heap
        claims = [f"x{i}" for i in range(n - 1)] + ["g9"]
        d = both(policies, "groups", groups=kind(claims)) if kind in (list, tuple) else None
        assert policies.evaluate("u", "c", "groups", groups=kind(claims)).allowed
        assert d is None or d.allowed
        assert not policies.evaluate("u", "c", "groups", groups=kind(claims[:-1])).allowed
    # A claim scopes a policy in: `p-claim` applies to group g9 only.
    assert both(policies, "any", groups=["g9"], context={"s": 1, "flag": True}).policies == (
        "p-any",
        "p-claim",
    )
    assert both(policies, "any", context={"s": 1, "flag": True}).policies == ("p-any",)
    with pytest.raises(RequestError) as raised:
        policies.evaluate("u", "c", "groups", groups=["g9", ""])
    assert (raised.value.path, raised.value.message) == ("/groups/1", "must be a non-empty string")


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return rng.choice(["x", "CLI", "GUI", "b", "deeper", "1.10.0", "10.0.0.1", "", "é"])
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([-3, 0, 1, 3, 2**64 - 1, 2**65, -(2**63), 1_700_000_000_000])
    if kind == 3:
        return rng.choice([1.5, -3.0, 2.0, 1e300, 1.75])
    if kind == 4:
        return None
    if kind == 5:
        return "2024-06-01T00:00:00Z"
    if kind == 6:
        return rng.choice(["a", "b", "192.168.1.1"])
    if kind == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 8:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(4)))
    return random_context(rng, depth + 1)


KEYS = ["s", "b", "i", "u", "big", "f", "n", "l", "t", "d", "agent", "agent.type", "a", "v",
        "ip", "when", "flag", "type", "b.c"]


def random_context(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    keys = rng.sample(KEYS, rng.randrange(min(len(KEYS), 12 if depth == 0 else 3)))
    return {k: random_value(rng, depth) for k in keys}


def test_decisions_equal_those_of_evaluate_request(policies: PolicySet) -> None:
    rng = random.Random(20261125)
    tools = list(CONDITIONS) + ["missing"]
    batch = []
    for _ in range(3000):
        tool = rng.choice(tools)
        groups = rng.choice([None, [], ["g9"], ["g1", "x"], [f"x{i}" for i in range(12)]])
        context = random_context(rng) if rng.random() < 0.9 else None
        if rng.random() < 0.2:
            context = (context or {}) | {"agent": {"type": rng.choice(["CLI", "x"])}}
        user = rng.choice(["u", "dir"])
        request: dict[str, Any] = {"user": user, "connector": "c", "tool": tool}
        if groups is not None:
            request["groups"] = groups
        if context is not None:
            request["context"] = context
        expected = policies.evaluate_request(request)
        got = policies.evaluate(user, "c", tool, groups=groups, context=context)
        assert got == expected, request
        batch.append((request, expected))
    assert policies.evaluate_many([r for r, _ in batch]) == [d for _, d in batch]
