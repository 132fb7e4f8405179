"""The core's bounds hold on every entry point: a request's size and nesting whatever form it
comes in (keyword arguments, a dict, JSON text, a batch), and a document's size whatever it is
read from (a file, an endless device, bytes, text, Python values), refused after reading at
most one byte more than the limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agen_policy
from agen_policy import DocumentError, Engine, PolicySet, RequestError

# The core's default limits (agen_policy_core::Limits), which the package applies.
MAX_REQUEST_BYTES = 1 << 20
MAX_DOCUMENT_BYTES = 64 << 20
MAX_CONTEXT_DEPTH = 32

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
        }
    ],
}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.from_dict(DOC)


def request_with(context: dict[str, Any]) -> dict[str, Any]:
    return {"user": "u", "connector": "c", "tool": "t", "context": context}


def every_entry_point(
    policies: PolicySet, context: dict[str, Any]
) -> dict[str, Callable[[], object]]:
    """Each way of handing the package one request with this context."""
    engine = Engine(policies)
    request = request_with(context)
    return {
        "evaluate": lambda: policies.evaluate("u", "c", "t", context=context),
        "explain": lambda: policies.explain("u", "c", "t", context=context),
        "evaluate_request(dict)": lambda: policies.evaluate_request(request),
        "explain_request(dict)": lambda: policies.explain_request(request),
        "evaluate_many": lambda: policies.evaluate_many([request_with({}), request]),
        "Engine.evaluate": lambda: engine.evaluate("u", "c", "t", context=context),
        "Engine.evaluate_many": lambda: engine.evaluate_many([request]),
        "evaluate_request(JSON)": lambda: policies.evaluate_request(json.dumps(request)),
        "evaluate_request(bytes)": lambda: policies.evaluate_request(json.dumps(request).encode()),
    }


# The entry points that read the context in place, only where a condition reads it: a context no
# condition of DOC reads is neither measured nor checked there (test_view.py has what is).
IN_PLACE = {"evaluate", "Engine.evaluate", "evaluate_many", "Engine.evaluate_many"}


def refused(call: Callable[[], object]) -> RequestError:
    with pytest.raises(RequestError) as raised:
        call()
    assert raised.value.code == "invalid_request"
    return raised.value


# --- requests -------------------------------------------------------------------------------------


def huge_context() -> dict[str, Any]:
    context: dict[str, Any] = {f"k{i}": i for i in range(100_000)}
    context["text"] = "x" * 1_000_000
    return context


@pytest.mark.parametrize(
    "context",
    [
        huge_context(),
        {f"k{i}": i for i in range(100_000)},  # no long string: 1.1 MB of keys and numbers
        {"text": "é" * 600_000},  # 600,000 characters, 1.2 MB of UTF-8
        {"list": [None] * 1_000_000},
    ],
    ids=["100k keys and a long string", "100k keys", "multi-byte text", "a million nulls"],
)
def test_a_request_over_the_size_limit_is_refused_on_every_path(
    policies: PolicySet, context: dict[str, Any]
) -> None:
    for how, call in every_entry_point(policies, context).items():
        if how in IN_PLACE:
            assert call() is not None, how
            continue
        e = refused(call)
        assert e.path == "", how
        assert "than the limit of 1048576" in e.message, how


def test_the_size_of_ids_and_groups_counts_too(policies: PolicySet) -> None:
    long = "u" * (MAX_REQUEST_BYTES + 1)
    assert refused(lambda: policies.evaluate(long, "c", "t")).path == ""
    groups = {f"group-{i}" for i in range(200_000)}  # a huge set of claims
    assert refused(lambda: policies.evaluate("u", "c", "t", groups=groups)).path == ""
    request = {"user": "u", "connector": "c", "tool": "t", "groups": sorted(groups)}
    assert refused(lambda: policies.evaluate_request(request)).path == ""


def test_a_request_at_the_limit_is_accepted_in_every_form(policies: PolicySet) -> None:
    # Its compact JSON text is exactly as long as the limit allows, so the JSON form accepts it;
    # the other forms measure it as (at most) that text and must accept it too. One byte more
    # and every form refuses it.
    def context(size: int) -> dict[str, Any]:
        shape = {"n": [1, None, True], "é": {"a.b": ""}}
        text = json.dumps(request_with(shape), separators=(",", ":"), ensure_ascii=False)
        return {"n": [1, None, True], "é": {"a.b": "x" * (size - len(text.encode()))}}

    at_limit = context(MAX_REQUEST_BYTES)
    compact = json.dumps(request_with(at_limit), separators=(",", ":"), ensure_ascii=False)
    assert len(compact.encode()) == MAX_REQUEST_BYTES
    assert policies.evaluate_request(compact).allowed
    assert policies.evaluate_request(compact.encode()).allowed
    for how, call in every_entry_point(policies, at_limit).items():
        if how not in ("evaluate_request(JSON)", "evaluate_request(bytes)"):
            assert call() is not None, how  # json.dumps with spaces is longer: not that form

    over = context(MAX_REQUEST_BYTES + 1)
    refused(lambda: policies.evaluate_request(json.dumps(request_with(over))))
    for how, call in every_entry_point(policies, over).items():
        if how in IN_PLACE:
            assert call() is not None, how
        else:
            refused(call)


def test_deep_nesting_is_refused_like_json_text_whatever_the_depth(policies: PolicySet) -> None:
    as_text = refused(
        lambda: policies.evaluate_request(json.dumps(request_with(nested(MAX_CONTEXT_DEPTH + 1))))
    )
    assert (as_text.path, as_text.message) == (
        "/context",
        "context nesting exceeds the limit of 32 levels",
    )
    for depth in (MAX_CONTEXT_DEPTH + 1, 1_000, 100_000):
        context = nested(depth)
        for how, call in every_entry_point(policies, context).items():
            if "JSON" in how or "bytes" in how:
                continue  # json.dumps itself recurses; the text form is checked above
            if how in IN_PLACE:
                assert call() is not None, how
                continue
            e = refused(call)
            assert (e.path, e.message) == (as_text.path, as_text.message), (how, depth)
    assert policies.evaluate("u", "c", "t", context=nested(MAX_CONTEXT_DEPTH)).allowed


def nested(depth: int) -> dict[str, Any]:
    """A context whose deepest container is at ``depth`` (the context itself is level 1)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# --- documents ------------------------------------------------------------------------------------


def assert_limit_exceeded(call: Callable[[], object]) -> DocumentError:
    with pytest.raises(DocumentError) as raised:
        call()
    e = raised.value
    assert (e.code, e.path) == ("limit_exceeded", "")
    assert (e.problems[0].code, e.problems[0].path) == ("limit_exceeded", "")
    assert f"than the limit of {MAX_DOCUMENT_BYTES}" in e.problems[0].message
    return e


def test_an_endless_file_is_refused_promptly() -> None:
    engine = Engine(PolicySet.from_dict(DOC))
    before = engine.version
    start = time.monotonic()
    assert_limit_exceeded(lambda: PolicySet.from_file("/dev/zero"))
    assert_limit_exceeded(lambda: engine.reload_file("/dev/zero"))
    assert time.monotonic() - start < 10
    assert engine.version == before


def test_a_file_over_the_limit_is_not_read_whole(tmp_path: Path) -> None:
    just_over = tmp_path / "just-over.json"
    with open(just_over, "wb"):
        pass
    os.truncate(just_over, MAX_DOCUMENT_BYTES + 1)  # sparse: takes no disk space
    assert_limit_exceeded(lambda: PolicySet.from_file(just_over))

    huge = tmp_path / "huge.json"
    with open(huge, "wb"):
        pass
    os.truncate(huge, 4 << 30)
    # In a fresh interpreter, so that its peak memory (VmHWM: ru_maxrss would count the test
    # process's own peak across fork) is this load's: reading 4 GiB whole, or even 256 MiB of
    # it, would show; the limit is 64 MiB.
    script = f"""
import re
from agen_policy import DocumentError, Engine, PolicySet
for load in (PolicySet.from_file, Engine(PolicySet.from_json('{{"connectors": []}}')).reload_file):
    try:
        load({str(huge)!r})
    except DocumentError as e:
        assert e.code == "limit_exceeded", e
    else:
        raise AssertionError("loaded")
with open("/proc/self/status") as status:
    print(int(re.search(r"VmHWM:\\s*(\\d+) kB", status.read()).group(1)) * 1024)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert int(result.stdout) < MAX_DOCUMENT_BYTES + (160 << 20), result.stdout


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    at_limit = tmp_path / "at-limit.json"
    with open(at_limit, "wb"):
        pass
    os.truncate(at_limit, MAX_DOCUMENT_BYTES)
    with pytest.raises(DocumentError) as raised:
        PolicySet.from_file(at_limit)
    # Read, and refused for what it holds (zero bytes are not JSON), not for its size.
    assert raised.value.code == "invalid_document"


def test_text_bytes_and_values_over_the_limit_are_refused() -> None:
    padding = " " * MAX_DOCUMENT_BYTES
    text = '{"connectors": []}' + padding
    e = assert_limit_exceeded(lambda: PolicySet.from_json(text.encode()))
    assert f"document is larger than the limit of {MAX_DOCUMENT_BYTES}" in e.message
    assert_limit_exceeded(lambda: PolicySet.from_json(text))
    assert_limit_exceeded(lambda: Engine(PolicySet.from_dict(DOC)).reload(text))
    document = {"connectors": [], "padding": padding}
    assert_limit_exceeded(lambda: PolicySet.from_dict(document))
    many = {"connectors": [], "padding": ["x" * 1024] * (MAX_DOCUMENT_BYTES // 1024)}
    assert_limit_exceeded(lambda: PolicySet.from_dict(many))
    for document_form in (text, text.encode(), document):
        result = agen_policy.validate(document_form)
        assert not result.valid and result.problems[0].code == "limit_exceeded"
