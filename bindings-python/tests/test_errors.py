"""Bad input everywhere: wrong types, values without a JSON form, deep and huge values, and
the panic boundary. Every rejection is a ``PolicyError`` naming where the problem is, or a
``TypeError`` for an argument that is not even the right kind of thing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import agen_policy
from agen_policy import (
    DocumentError,
    PolicyError,
    PolicySet,
    RequestError,
    _native,
)

DOC = {
    "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
    "policies": [
        {
            "id": "p",
            "name": "n",
            "connector": "c",
            "action": "allow",
            "all_users": True,
            "tools": "all",
            "targeting": {
                "rules": [
                    {"conditions": [{"attribute": "flag", "operator": "equals", "values": [True]}]}
                ]
            },
        },
    ],
}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def rejected(policies: PolicySet, **kwargs: Any) -> RequestError:
    args = {"user": "u", "connector": "c", "tool": "t", **kwargs}
    with pytest.raises(RequestError) as raised:
        policies.evaluate(**args)
    assert raised.value.code == "invalid_request"
    return raised.value


def nested(depth: int) -> dict[str, Any]:
    """A context whose deepest container is at ``depth`` (the context itself is level 1)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# --- evaluate's arguments ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["user", "connector", "tool"])
@pytest.mark.parametrize("value", [None, 1, 1.5, b"u", ["u"], {"u": 1}, True])
def test_ids_must_be_strings(policies: PolicySet, field: str, value: object) -> None:
    e = rejected(policies, **{field: value})
    assert e.path == f"/{field}"
    assert f"`{field}` must be a string, not {type(value).__name__}" in e.message


@pytest.mark.parametrize("field", ["user", "connector", "tool"])
def test_ids_must_not_be_empty(policies: PolicySet, field: str) -> None:
    assert rejected(policies, **{field: ""}).path == f"/{field}"


def test_a_lone_surrogate_is_not_text(policies: PolicySet) -> None:
    assert rejected(policies, user="\ud800").path == "/user"
    assert rejected(policies, groups=["\udfff"]).path == "/groups/0"
    assert rejected(policies, context={"k": "\ud800"}).path == "/context/k"
    assert rejected(policies, context={"\ud800": 1}).path == "/context"


@pytest.mark.parametrize("groups", ["eng", b"eng", {"eng": 1}, 1, iter(["eng"])])
def test_groups_must_be_a_collection(policies: PolicySet, groups: object) -> None:
    assert rejected(policies, groups=groups).path == "/groups"


@pytest.mark.parametrize(
    ("groups", "path"),
    [
        ([1], "/groups/0"),
        (["a", None], "/groups/1"),
        (["a", ""], "/groups/1"),
        ((b"x",), "/groups/0"),
    ],
)
def test_group_ids_must_be_strings(policies: PolicySet, groups: object, path: str) -> None:
    assert rejected(policies, groups=groups).path == path


def test_none_means_absent(policies: PolicySet) -> None:
    d = policies.evaluate("u", "c", "t", groups=None, context=None)
    assert d == policies.evaluate("u", "c", "t")


@pytest.mark.parametrize("context", [[], "flag", 1, b"{}", ("flag", True)])
def test_context_must_be_a_dict(policies: PolicySet, context: object) -> None:
    e = rejected(policies, context=context)
    assert e.path == "/context" and "`context` must be a dict" in e.message


@pytest.mark.parametrize(
    ("context", "path"),
    [
        ({"x": math.nan}, "/context/x"),
        ({"x": math.inf}, "/context/x"),
        ({"x": [1, -math.inf]}, "/context/x/1"),
        ({"x": b"bytes"}, "/context/x"),
        ({"x": {"y": {1, 2}}}, "/context/x/y"),
        ({"x": object()}, "/context/x"),
        ({"x": 10**400}, "/context/x"),
        ({"a/b": {"~": bytearray(b"")}}, "/context/a~1b/~0"),
        ({1: "x"}, "/context"),
        ({"x": {None: 1}}, "/context/x"),
        ({"x": {(1, 2): 1}}, "/context/x"),
    ],
)
def test_context_values_need_a_json_form(
    policies: PolicySet, context: dict[Any, Any], path: str
) -> None:
    assert rejected(policies, context=context).path == path


def test_messages_name_the_offending_value(policies: PolicySet) -> None:
    assert "`nan` has no JSON form" in rejected(policies, context={"x": math.nan}).message
    assert "decode bytes to str first" in rejected(policies, context={"x": b"1"}).message
    assert "key `1` is not a string" in rejected(policies, context={1: "x"}).message
    assert str(rejected(policies, user=1)) == (
        "invalid request at /user: `user` must be a string, not int"
    )


def test_json_like_values_are_accepted(policies: PolicySet) -> None:
    context = {
        "s": "x",
        "i": -3,
        "f": 1.5,
        "b": False,
        "n": None,
        "l": [1, "a", None],
        "t": (1, 2),
        "d": {"e": {"f": []}},
        "big": 2**64,
        "flag": True,
    }
    assert policies.evaluate("u", "c", "t", context=context).allowed


def test_types_stay_strict(policies: PolicySet) -> None:
    # `equals [true]`: the integer 1 is not the boolean true, in a dict as in JSON text.
    assert not policies.evaluate("u", "c", "t", context={"flag": 1}).allowed
    assert policies.evaluate("u", "c", "t", context={"flag": True}).allowed
    request = {"user": "u", "connector": "c", "tool": "t", "context": {"flag": 1}}
    assert not policies.evaluate_request(json.dumps(request)).allowed


def test_large_integers_read_like_json_text() -> None:
    doc = {
        "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
        "policies": [
            {
                "id": "p",
                "name": "n",
                "connector": "c",
                "action": "allow",
                "all_users": True,
                "tools": "all",
                "targeting": {
                    "rules": [
                        {"conditions": [{"attribute": "n", "operator": "gt", "values": [2**64]}]}
                    ]
                },
            }
        ],
    }
    big = PolicySet.from_dict(doc)
    for n in (2**65, 2**64 + 1, 2**64, 10**30):
        as_dict = big.evaluate("u", "c", "t", context={"n": n})
        as_text = big.evaluate_request(
            f'{{"user": "u", "connector": "c", "tool": "t", "context": {{"n": {n}}}}}'
        )
        assert as_dict == as_text, n


def test_str_and_int_subclasses_are_their_base_type(policies: PolicySet) -> None:
    class Name(str):
        pass

    class Flag(int):
        pass

    assert policies.evaluate(Name("u"), Name("c"), Name("t"), context={Name("flag"): True}).allowed
    assert not policies.evaluate("u", "c", "t", context={"flag": Flag(1)}).allowed


def test_keys_equal_as_text_are_refused(policies: PolicySet) -> None:
    class Distinct(str):
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            return self is other

    e = rejected(policies, context={Distinct("k"): 1, Distinct("k"): 2})
    assert "duplicate key `k`" in e.message


def test_context_nesting_is_bounded_like_json_text(policies: PolicySet) -> None:
    assert policies.evaluate("u", "c", "t", context=nested(32)) is not None
    e = rejected(policies, context=nested(33))
    assert (e.path, e.message) == ("/context", "context nesting exceeds the limit of 32 levels")
    request = {"user": "u", "connector": "c", "tool": "t", "context": nested(33)}
    for form in (request, json.dumps(request)):
        with pytest.raises(RequestError) as raised:
            policies.evaluate_request(form)
        assert (raised.value.path, raised.value.message) == (e.path, e.message)
    deep_list: list[Any] = []
    for _ in range(100_000):
        deep_list = [deep_list]
    assert rejected(policies, context={"x": deep_list}).path == "/context"


def test_a_cyclic_context_is_refused(policies: PolicySet) -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert rejected(policies, context=cyclic).path == "/context"
    loop: list[Any] = []
    loop.append(loop)
    assert rejected(policies, context={"l": loop}).path == "/context"


def test_a_huge_context_is_fine(policies: PolicySet) -> None:
    context: dict[str, Any] = {f"k{i}": i for i in range(100_000)}
    context["flag"] = True
    context["text"] = "x" * 1_000_000
    assert policies.evaluate("u", "c", "t", context=context).allowed


# --- whole requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        ([], ""),
        (None, ""),
        (1, ""),
        ({"user": "u", "connector": "c"}, ""),
        ({"user": "u", "connector": "c", "tool": "t", "extra": 1}, "/extra"),
        ({"user": 1, "connector": "c", "tool": "t"}, "/user"),
        ({"user": "u", "connector": "c", "tool": "t", "groups": "g"}, "/groups"),
        ({"user": "u", "connector": "c", "tool": "t", "context": []}, "/context"),
        ({"user": "u", "connector": "c", "tool": "t", "context": {"x": math.nan}}, "/context/x"),
        ({"user": "u", "connector": "c", "tool": b"t"}, "/tool"),
        ({1: "u"}, ""),
        ("{", ""),
        ('{"user": "u", "connector": "c", "tool": "t", "user": "v"}', "/user"),
        ("\ud800", ""),
        (b"\xff", ""),
    ],
)
def test_invalid_requests(policies: PolicySet, request_: Any, path: str) -> None:
    with pytest.raises(RequestError) as raised:
        policies.evaluate_request(request_)
    assert raised.value.path == path
    with pytest.raises(RequestError):
        policies.explain_request(request_)


def test_oversized_request_text_is_refused(policies: PolicySet) -> None:
    text = json.dumps(
        {"user": "u", "connector": "c", "tool": "t", "context": {"x": "y" * (1 << 20)}}
    )
    with pytest.raises(RequestError, match="more than the limit"):
        policies.evaluate_request(text)


def test_a_batch_names_the_bad_request(policies: PolicySet) -> None:
    good = {"user": "u", "connector": "c", "tool": "t"}
    with pytest.raises(RequestError) as raised:
        policies.evaluate_many([good, good, {**good, "tool": 3}])
    assert (raised.value.index, raised.value.path) == (2, "/tool")
    assert str(raised.value).startswith("request 2: invalid request at /tool")


@pytest.mark.parametrize("requests", ["abc", b"abc", {"user": "u"}, 3, None])
def test_a_batch_must_be_an_iterable_of_requests(policies: PolicySet, requests: Any) -> None:
    with pytest.raises(TypeError):
        policies.evaluate_many(requests)


def test_an_iterator_that_fails_raises_its_error(policies: PolicySet) -> None:
    def failing() -> Any:
        yield {"user": "u", "connector": "c", "tool": "t"}
        raise KeyError("from the iterator")

    with pytest.raises(KeyError, match="from the iterator"):
        policies.evaluate_many(failing())


def test_explain_checks_like_evaluate(policies: PolicySet) -> None:
    with pytest.raises(RequestError) as raised:
        policies.explain("u", "c", "t", context={"x": math.nan})
    assert raised.value.path == "/context/x"


# --- documents ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [1, None, ["{}"], bytearray(b"{}")])
def test_json_text_must_be_str_or_bytes(text: Any) -> None:
    with pytest.raises(TypeError, match="expected JSON text as str or bytes"):
        PolicySet.from_json(text)
    # validate takes any value and never raises for it: these are not documents.
    assert agen_policy.validate(text).problems[0].code == "invalid_document"


def test_text_that_is_not_json() -> None:
    for text in ("", "{", '{"connectors": []} x', b"\xff\xfe", "\ud800"):
        with pytest.raises(DocumentError) as raised:
            PolicySet.from_json(text)
        assert raised.value.problems[0].code == "invalid_document"
        assert raised.value.problems[0].path == ""
        assert not agen_policy.validate(text).valid


@pytest.mark.parametrize(
    ("document", "code", "path"),
    [
        ([], "invalid_document", ""),
        ("text", "invalid_document", ""),
        ({"connectors": [], "version": math.nan}, "invalid_document", "/version"),
        ({"connectors": [{"id": b"c", "tools": []}]}, "invalid_document", "/connectors/0/id"),
        ({"connectors": [], 1: 2}, "invalid_document", ""),
        (
            {"connectors": [{"id": "c", "tools": [], "x": {"y": object()}}]},
            "invalid_document",
            "/connectors/0/x/y",
        ),
        ({"connectors": [], "policies": {}}, "invalid_document", "/policies"),
    ],
)
def test_documents_from_python_values(document: Any, code: str, path: str) -> None:
    with pytest.raises(DocumentError) as raised:
        PolicySet.from_dict(document)
    assert (raised.value.problems[0].code, raised.value.problems[0].path) == (code, path)
    result = agen_policy.validate(document) if not isinstance(document, str) else None
    if result is not None:
        assert not result.valid
        assert (result.problems[0].code, result.problems[0].path) == (code, path)


def test_document_nesting_is_bounded() -> None:
    deep: Any = {}
    for _ in range(200):
        deep = {"x": deep}
    cyclic: dict[str, Any] = {"connectors": []}
    cyclic["me"] = cyclic
    for document in (deep, cyclic):
        with pytest.raises(DocumentError) as raised:
            PolicySet.from_dict(document)
        assert raised.value.problems[0].code == "limit_exceeded"
    as_text = json.dumps(deep)
    with pytest.raises(DocumentError) as raised:
        PolicySet.from_json(as_text)
    assert raised.value.problems[0].code == "limit_exceeded"


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PolicySet.from_file(tmp_path / "missing.json")
    with pytest.raises(IsADirectoryError):
        PolicySet.from_file(tmp_path)
    with pytest.raises(TypeError):
        PolicySet.from_file(3)  # type: ignore[arg-type]
    bad = tmp_path / "bad.json"
    bad.write_text('{"connectors": 1}', encoding="utf-8")
    with pytest.raises(DocumentError) as raised:
        PolicySet.from_file(bad)
    assert raised.value.problems[0].path == "/connectors"


# --- the panic boundary -------------------------------------------------------------------------


def test_a_panic_surfaces_as_policy_error() -> None:
    with pytest.raises(PolicyError) as raised:
        _native._panic_for_tests("something broke")
    assert type(raised.value) is PolicyError
    assert str(raised.value) == "internal error in agen_policy: something broke"


def test_every_error_is_a_policy_error() -> None:
    for cls in (
        DocumentError,
        RequestError,
        agen_policy.ToolBlocked,
        agen_policy.ToolDenied,
        agen_policy.StepUpRequired,
        agen_policy.ApprovalRequired,
    ):
        assert issubclass(cls, PolicyError)
    assert issubclass(PolicyError, Exception)
