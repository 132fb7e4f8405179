"""Bad input everywhere: wrong types, values without a JSON form, deep and huge values,
unreadable files, and the panic boundary. Every rejection is one of the package's own errors (a
``PolicyError``) with a ``code`` and, where there is one, a ``path``: a bad request is a
``RequestError``, a bad document a ``DocumentError``, an unreadable file a ``PolicyFileError``
(also an ``OSError``), any other argument of the wrong kind an ``ArgumentError`` (also a
``TypeError``)."""

from __future__ import annotations

import errno
import json
import math
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agen_policy
from agen_policy import (
    ArgumentError,
    DocumentError,
    Engine,
    PolicyError,
    PolicyFileError,
    PolicySet,
    Problem,
    RequestError,
    acting_for,
    check,
    guard,
)
from agen_policy._native import blocked_outcome
from conftest import Hooks

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


def refused_whole(policies: PolicySet, context: Any) -> RequestError:
    """The error of ``evaluate_request``, which converts the whole context up front (``evaluate``
    reads only what a condition reads: see test_view.py)."""
    with pytest.raises(RequestError) as raised:
        policies.evaluate_request({"user": "u", "connector": "c", "tool": "t", "context": context})
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
    assert rejected(policies, context={"flag": "\ud800"}).path == "/context/flag"
    assert refused_whole(policies, {"k": "\ud800"}).path == "/context/k"
    assert refused_whole(policies, {"\ud800": 1}).path == "/context"
    # A key that is not UTF-8 is never the key an attribute reads.
    assert policies.evaluate("u", "c", "t", context={"\ud800": 1, "flag": True}).allowed


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
    assert refused_whole(policies, context).path == path
    # `evaluate` refuses the same value where a condition reads it (`flag`); what is nested in
    # a dict it reads is not read.
    value = context.get("x")
    if value is not None and not isinstance(value, dict):
        e = rejected(policies, context={"flag": value})
        assert e.path == "/context/flag" + path.removeprefix("/context/x")


def test_messages_name_the_offending_value(policies: PolicySet) -> None:
    assert "`nan` has no JSON form" in rejected(policies, context={"flag": math.nan}).message
    assert "decode bytes to str first" in rejected(policies, context={"flag": b"1"}).message
    assert "key `1` is not a string" in refused_whole(policies, {1: "x"}).message
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

    e = refused_whole(policies, {Distinct("k"): 1, Distinct("k"): 2})
    assert "duplicate key `k`" in e.message
    e = rejected(policies, context={Distinct("flag"): 1, Distinct("flag"): 2})
    assert (e.path, e.message) == ("/context/flag", "duplicate key `flag`")


def test_context_nesting_is_bounded_like_json_text(policies: PolicySet) -> None:
    assert policies.evaluate("u", "c", "t", context=nested(32)) is not None
    e = refused_whole(policies, nested(33))
    assert (e.path, e.message) == ("/context", "context nesting exceeds the limit of 32 levels")
    # `evaluate` reads `flag` only: the depth of what it does not read is not its concern.
    assert policies.evaluate("u", "c", "t", context={**nested(33), "flag": True}).allowed
    request = {"user": "u", "connector": "c", "tool": "t", "context": nested(33)}
    for form in (request, json.dumps(request)):
        with pytest.raises(RequestError) as raised:
            policies.evaluate_request(form)
        assert (raised.value.path, raised.value.message) == (e.path, e.message)
    deep_list: list[Any] = []
    for _ in range(100_000):
        deep_list = [deep_list]
    assert refused_whole(policies, {"x": deep_list}).path == "/context"
    # Read, a list's nested lists are not compared, so not descended into.
    assert not policies.evaluate("u", "c", "t", context={"flag": deep_list}).allowed


def test_a_cyclic_context_is_refused(policies: PolicySet) -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert refused_whole(policies, cyclic).path == "/context"
    loop: list[Any] = []
    loop.append(loop)
    assert refused_whole(policies, {"l": loop}).path == "/context"
    # Read where no cycle is followed: a dict is an object, a list's nested lists are skipped.
    cyclic["flag"] = True
    assert policies.evaluate("u", "c", "t", context=cyclic).allowed
    assert not policies.evaluate("u", "c", "t", context={"flag": cyclic}).allowed
    assert not policies.evaluate("u", "c", "t", context={"flag": loop}).allowed


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
    with pytest.raises(RequestError) as raised:
        policies.evaluate_many(requests)
    assert (raised.value.path, raised.value.index) == ("", None)
    assert "evaluate_many takes an iterable of requests, not " in raised.value.message


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
    with pytest.raises(DocumentError, match="expected JSON text as str or bytes") as raised:
        PolicySet.from_json(text)
    assert (raised.value.code, raised.value.path) == ("invalid_document", "")
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
    engine = Engine(PolicySet.from_dict(DOC))
    before = engine.version
    missing = tmp_path / "missing.json"
    for path, number in ((missing, errno.ENOENT), (tmp_path, errno.EISDIR)):
        for load in (PolicySet.from_file, engine.reload_file):
            with pytest.raises(PolicyFileError) as raised:
                load(path)
            e = raised.value
            assert isinstance(e, PolicyError) and isinstance(e, OSError)
            assert (e.code, e.path, e.filename, e.errno) == ("io_error", str(path), str(path), number)
            assert e.strerror == os.strerror(number)
            assert str(e).startswith(f"cannot read `{path}`: ")
            assert e.message == str(e)
    # Paths as bytes name the same file.
    with pytest.raises(PolicyFileError) as raised:
        PolicySet.from_file(os.fsencode(missing))
    assert raised.value.path == str(missing)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert (type(copy), copy.path, copy.errno, str(copy)) == (
        PolicyFileError,
        str(missing),
        errno.ENOENT,
        str(raised.value),
    )
    assert engine.version == before
    bad = tmp_path / "bad.json"
    bad.write_text('{"connectors": 1}', encoding="utf-8")
    with pytest.raises(DocumentError) as document_error:
        PolicySet.from_file(bad)
    assert document_error.value.problems[0].path == "/connectors"
    assert document_error.value.path == "/connectors"


# --- every bad argument -------------------------------------------------------------------------


def deep_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


ENGINE = Engine(PolicySet.from_dict(DOC))
SET = ENGINE.current
GOOD = {"user": "u", "connector": "c", "tool": "t"}
WRONG: list[tuple[str, Callable[[], object], type[PolicyError]]] = [
    # requests: RequestError
    ("evaluate(int user)", lambda: SET.evaluate(1, "c", "t"), RequestError),  # type: ignore[arg-type]
    ("evaluate(None tool)", lambda: SET.evaluate("u", "c", None), RequestError),  # type: ignore[arg-type]
    ("evaluate(list context)", lambda: SET.evaluate("u", "c", "t", context=[]), RequestError),  # type: ignore[arg-type]
    ("evaluate(int groups)", lambda: SET.evaluate("u", "c", "t", groups=5), RequestError),  # type: ignore[arg-type]
    (
        "evaluate_request(deep context)",
        lambda: SET.evaluate_request({**GOOD, "context": deep_dict(100_000)}),
        RequestError,
    ),
    (
        "evaluate(huge set of groups)",
        lambda: SET.evaluate("u", "c", "t", groups={str(i) for i in range(300_000)}),
        RequestError,
    ),
    (
        "evaluate(set in context)",
        lambda: SET.evaluate("u", "c", "t", context={"flag": set(range(1_000_000))}),
        RequestError,
    ),
    ("explain(int user)", lambda: SET.explain(1, "c", "t"), RequestError),  # type: ignore[arg-type]
    ("evaluate_request(None)", lambda: SET.evaluate_request(None), RequestError),  # type: ignore[arg-type]
    ("evaluate_request(list)", lambda: SET.evaluate_request([]), RequestError),  # type: ignore[arg-type]
    (
        "evaluate_request(deep)",
        lambda: SET.evaluate_request({**GOOD, "groups": deep_list(100_000)}),
        RequestError,
    ),
    ("explain_request(int)", lambda: SET.explain_request(1), RequestError),  # type: ignore[arg-type]
    ("evaluate_many(int)", lambda: SET.evaluate_many(3), RequestError),
    ("evaluate_many(None)", lambda: SET.evaluate_many(None), RequestError),
    ("evaluate_many([None])", lambda: SET.evaluate_many([GOOD, None]), RequestError),
    ("Engine.evaluate(int)", lambda: ENGINE.evaluate("u", 1, "t"), RequestError),  # type: ignore[arg-type]
    ("Engine.evaluate_many(int)", lambda: ENGINE.evaluate_many(1), RequestError),
    ("acting_for(str groups)", lambda: acting_for("u", groups="eng").__enter__(), RequestError),  # type: ignore[arg-type]
    ("acting_for(list context)", lambda: acting_for("u", context=[1]).__enter__(), RequestError),  # type: ignore[arg-type]
    ("check(int user)", lambda: check(SET, user=1, connector="c", tool="t"), RequestError),  # type: ignore[arg-type]
    (
        "check(str groups)",
        lambda: check(SET, user="u", connector="c", tool="t", groups="eng"),  # type: ignore[arg-type]
        RequestError,
    ),
    # documents: DocumentError
    ("from_json(int)", lambda: PolicySet.from_json(1), DocumentError),  # type: ignore[arg-type]
    ("from_json(None)", lambda: PolicySet.from_json(None), DocumentError),  # type: ignore[arg-type]
    ("from_dict(None)", lambda: PolicySet.from_dict(None), DocumentError),  # type: ignore[arg-type]
    ("from_dict(list)", lambda: PolicySet.from_dict([]), DocumentError),  # type: ignore[arg-type]
    ("from_dict(deep)", lambda: PolicySet.from_dict(deep_dict(100_000)), DocumentError),
    (
        "from_dict(set)",
        lambda: PolicySet.from_dict({"connectors": set(range(1_000_000))}),
        DocumentError,
    ),
    ("reload(int)", lambda: ENGINE.reload(3), DocumentError),  # type: ignore[arg-type]
    ("reload(deep)", lambda: ENGINE.reload(deep_dict(100_000)), DocumentError),
    # files: PolicyFileError
    ("from_file(missing)", lambda: PolicySet.from_file("/nonexistent/p.json"), PolicyFileError),
    ("reload_file(directory)", lambda: ENGINE.reload_file("/"), PolicyFileError),
    # anything else: ArgumentError
    ("from_file(int)", lambda: PolicySet.from_file(3), ArgumentError),  # type: ignore[arg-type]
    ("from_file(None)", lambda: PolicySet.from_file(None), ArgumentError),  # type: ignore[arg-type]
    ("reload_file(list)", lambda: ENGINE.reload_file([]), ArgumentError),  # type: ignore[arg-type]
    ("Engine(int)", lambda: Engine(3), ArgumentError),  # type: ignore[arg-type]
    ("Engine(None)", lambda: Engine(None), ArgumentError),  # type: ignore[arg-type]
    ("Engine.replace(dict)", lambda: ENGINE.replace(DOC), ArgumentError),  # type: ignore[arg-type]
    ("Problem(int code)", lambda: Problem(1, "", ""), ArgumentError),  # type: ignore[arg-type]
    ("Problem(negative line)", lambda: Problem("c", "", "m", -1, 1), ArgumentError),
    ("blocked_outcome(int)", lambda: blocked_outcome(3), ArgumentError),  # type: ignore[arg-type]
    ("blocked_outcome(unknown)", lambda: blocked_outcome("maybe"), ArgumentError),
    (
        "refusal_message(unknown)",
        lambda: agen_policy.refusal_message("maybe", "c", "t"),
        ArgumentError,
    ),
    ("decision_record(not a decision)", lambda: agen_policy.decision_record(
        "allow", id="d", time=0, user="u", connector="c", tool="t"  # type: ignore[arg-type]
    ), ArgumentError),
    ("check(int policies)", lambda: check(3, user="u", connector="c", tool="t"), ArgumentError),  # type: ignore[arg-type]
    ("check(callable of None)", lambda: check(lambda: None, user="u", connector="c", tool="t"), ArgumentError),  # type: ignore[arg-type, return-value]
    ("guard(int policies)", lambda: guard(3, connector="c"), ArgumentError),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "expected"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG])
def test_every_bad_argument_raises_a_package_error(
    call: Callable[[], object], expected: type[PolicyError]
) -> None:
    with pytest.raises(Exception) as raised:  # noqa: B017, PT011
        call()
    e = raised.value
    assert type(e) is expected, repr(e)
    assert isinstance(e, PolicyError) and type(e).__module__ == "agen_policy"
    assert isinstance(e.code, str) and e.code and e.message
    assert not isinstance(e, (RecursionError, ValueError))
    assert isinstance(e, TypeError) == (expected is ArgumentError)


def test_argument_errors_are_type_errors() -> None:
    with pytest.raises(TypeError, match="`policies` must be a PolicySet, not int"):
        Engine(3)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError) as raised:
        Engine(3)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.path) == ("invalid_argument", None)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert (type(copy), copy.message) == (ArgumentError, raised.value.message)


def test_validate_never_raises_for_a_bad_document() -> None:
    documents: list[Any] = [3, None, [], deep_dict(100_000), {"connectors": {1, 2}}, "\ud800"]
    for document in documents:
        result = agen_policy.validate(document)
        assert not result.valid and result.problems


# --- the panic boundary -------------------------------------------------------------------------


def test_a_panic_surfaces_as_policy_error(hooks: Hooks) -> None:
    with pytest.raises(PolicyError) as raised:
        hooks.panic_for_tests("something broke")
    assert type(raised.value) is PolicyError
    assert str(raised.value) == "internal error in agen_policy: something broke"
    assert raised.value.code == "internal_error" and raised.value.path is None


def entry_points(acme: PolicySet) -> dict[type, dict[str, Callable[[], object]]]:
    """Every entry point of every native class, each called once, by class and name."""
    engine = Engine(acme)
    decision = acme.evaluate("alice", "github", "delete_repository")
    problem = Problem("c", "/p", "m", 1, 2)
    validation = agen_policy.validate({"connectors": 1})
    explanation = acme.explain("erin", "github", "create_repository", context={"agent": {}})
    policy = next(p for p in explanation.policies if p.rules)
    rule = policy.rules[0]
    condition = rule.conditions[0]
    text = json.dumps(DOC)
    request = {"user": "u", "connector": "c", "tool": "t"}

    def common(obj: object) -> dict[str, Callable[[], object]]:
        calls: dict[str, Callable[[], object]] = {"__repr__": lambda: repr(obj)}
        if "__str__" in type(obj).__dict__:
            calls["__str__"] = lambda: str(obj)
        if "to_dict" in type(obj).__dict__:
            calls["to_dict"] = lambda: obj.to_dict()  # type: ignore[attr-defined]
        for name, member in type(obj).__dict__.items():
            if type(member).__name__ == "getset_descriptor":
                calls[name] = lambda name=name: getattr(obj, name)  # type: ignore[misc]
        return calls

    def compared(obj: object) -> dict[str, Callable[[], object]]:
        calls: dict[str, Callable[[], object]] = {
            op: (lambda op=op: getattr(obj, op)(obj))  # type: ignore[misc]
            for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__")
        }
        calls["__hash__"] = lambda: hash(obj)
        return calls

    return {
        PolicySet: {
            **common(acme),
            "from_json": lambda: PolicySet.from_json(text),
            "from_dict": lambda: PolicySet.from_dict(DOC),
            "from_file": lambda: PolicySet.from_file("/nonexistent"),
            "document": lambda: acme.document(),
            "evaluate": lambda: acme.evaluate("u", "c", "t"),
            "evaluate_request": lambda: acme.evaluate_request(request),
            "evaluate_json": lambda: acme.evaluate_json(json.dumps(request)),
            "evaluate_many": lambda: acme.evaluate_many([request]),
            "explain": lambda: acme.explain("u", "c", "t"),
            "explain_request": lambda: acme.explain_request(request),
            "open_approval": lambda: acme.open_approval(request, "f", "a", 1),
            "approve": lambda: acme.approve({}, "bob", 1),
            "reject": lambda: acme.reject({}, "bob", 1),
            "cancel": lambda: acme.cancel({}, 1),
            "tick": lambda: acme.tick({}, 1),
            "grant": lambda: acme.grant({}),
            "check_approver": lambda: acme.check_approver({}, "bob", 1),
            "eligible_approvers": lambda: acme.eligible_approvers({}),
            "lint": lambda: acme.lint(),
            "access": lambda: acme.access("github", "delete_repository"),
            "__reduce__": lambda: acme.__reduce__(),
            **{
                name: (lambda name=name: getattr(acme, name)("u", "c", "t"))  # type: ignore[misc]
                for name in (
                    "_probe_floor",
                    "_probe_call",
                    "_probe_convert",
                    "_probe_decide",
                    "_probe_uncached",
                )
            },
        },
        Engine: {
            **common(engine),
            "__new__": lambda: Engine(acme),
            "reload": lambda: engine.reload(text),
            "reload_file": lambda: engine.reload_file("/nonexistent"),
            "replace": lambda: engine.replace(acme),
            "evaluate": lambda: engine.evaluate("u", "c", "t"),
            "evaluate_request": lambda: engine.evaluate_request(request),
            "evaluate_json": lambda: engine.evaluate_json(json.dumps(request)),
            "evaluate_many": lambda: engine.evaluate_many([request]),
            "explain": lambda: engine.explain("u", "c", "t"),
            "explain_request": lambda: engine.explain_request(request),
        },
        agen_policy.Decision: {**common(decision), **compared(decision)},
        Problem: {
            **common(problem),
            **compared(problem),
            "__new__": lambda: Problem("c", "", "m"),
            "__reduce__": lambda: problem.__reduce__(),
        },
        agen_policy.Validation: common(validation),
        agen_policy.Explanation: common(explanation),
        agen_policy.PolicyTrace: common(policy),
        agen_policy.RuleTrace: common(rule),
        agen_policy.ConditionTrace: common(condition),
        type(agen_policy._native): {
            "validate": lambda: agen_policy.validate(DOC),
            "blocked_outcome": lambda: blocked_outcome("deny"),
            "arguments_digest": lambda: agen_policy.arguments_digest({}),
            "diff": lambda: agen_policy.diff(acme, acme),
            "replay": lambda: agen_policy.replay(acme, []),
            "refusal_message": lambda: agen_policy.refusal_message("deny", "github", "x"),
            "_decision_record_line": lambda: agen_policy.decision_record(
                acme.evaluate("alice", "github", "x"),
                id="d1",
                time=0,
                user="alice",
                connector="github",
                tool="x",
            ),
            "_run_tests": lambda: agen_policy._native._run_tests("/nonexistent"),
        },
    }


def test_every_entry_point_goes_through_the_panic_boundary(acme: PolicySet, hooks: Hooks) -> None:
    calls = entry_points(acme)
    # Every method, getter and slot each class defines is called (new ones must be added).
    for cls, named in calls.items():
        if cls is type(agen_policy._native):
            defined = {
                n
                for n in dir(agen_policy._native)
                if not n.startswith("__") and callable(getattr(agen_policy._native, n))
            }
            defined -= {"_panic_for_tests", "_panic_in_next_boundary"}
            defined -= {n for n in defined if isinstance(getattr(agen_policy._native, n), type)}
        else:
            defined = set(cls.__dict__) - {"__doc__", "__module__"}
        assert defined == set(named), (cls.__name__, defined ^ set(named))

    missed = []
    for cls, named in calls.items():
        for name, call in named.items():
            hooks.panic_in_next_boundary(True)
            try:
                call()
            except PolicyError as e:
                if str(e) != "internal error in agen_policy: a panic injected by the tests":
                    missed.append(f"{cls.__name__}.{name}: {e!r}")
            except BaseException as e:  # noqa: BLE001
                missed.append(f"{cls.__name__}.{name}: {e!r}")
            else:
                missed.append(f"{cls.__name__}.{name} returned")
            if hooks.panic_in_next_boundary(False):
                missed.append(f"{cls.__name__}.{name} entered no boundary")
    assert missed == []


def test_every_error_is_a_policy_error() -> None:
    for cls in (
        DocumentError,
        RequestError,
        PolicyFileError,
        ArgumentError,
        agen_policy.ApprovalError,
        agen_policy.ConflictError,
        agen_policy.NotFoundError,
        agen_policy.ToolBlocked,
        agen_policy.ToolDenied,
        agen_policy.StepUpRequired,
        agen_policy.ApprovalRequired,
    ):
        assert issubclass(cls, PolicyError)
    assert issubclass(PolicyError, Exception)
    assert issubclass(PolicyFileError, OSError) and issubclass(ArgumentError, TypeError)
