"""``UrlSource`` and ``FileSource``: an engine kept on a document served over HTTP or in a file,
the last good set serving through every error. The HTTP tests run a real server on loopback."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agen_policy import (
    DocumentError,
    Engine,
    FileSource,
    PolicyError,
    PolicySet,
    SourceError,
    UrlSource,
)


def document(action: str) -> bytes:
    doc = {
        "connectors": [{"id": "github", "tools": [{"name": "merge"}]}],
        "users": [{"id": "alice"}],
        "policies": [
            {
                "id": "merges",
                "name": "Merges",
                "connector": "github",
                "action": action,
                "all_users": True,
                "tools": ["merge"],
            }
        ],
    }
    return json.dumps(doc).encode()


V1, V2 = document("allow"), document("deny")
VERSION1, VERSION2 = PolicySet.from_json(V1).version, PolicySet.from_json(V2).version


class Served:
    """What the test server answers: a body with its ETag, or a status."""

    def __init__(self) -> None:
        self.body = V1
        self.status = 200
        self.requests: list[str | None] = []  # the If-None-Match of each request

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@pytest.fixture
def served() -> Iterator[tuple[Served, str]]:
    state = Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            match = self.headers.get("If-None-Match")
            state.requests.append(match)
            if state.status != 200:
                self.send_error(state.status)
                return
            if match == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", state.etag)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/policies.json"
    finally:
        server.shutdown()
        server.server_close()


def test_url_source_follows_the_document_with_etags(served: tuple[Served, str]) -> None:
    state, url = served
    updates: list[str] = []
    errors: list[PolicyError] = []
    source = UrlSource.open(url, on_update=updates.append, on_error=errors.append, start=False)
    engine = source.engine
    assert engine.version == VERSION1 and source.etag == state.etag
    assert engine.evaluate("alice", "github", "merge").action == "allow"
    assert source.poll() is False  # unchanged: a 304
    assert state.requests == [None, state.etag]
    state.body = V2
    assert source.poll() is True
    decision = engine.evaluate("alice", "github", "merge")
    assert decision.action == "deny" and decision.version == VERSION2
    assert updates == [VERSION2] and errors == [] and source.last_error is None


def test_every_error_keeps_the_last_good_set(served: tuple[Served, str]) -> None:
    state, url = served
    errors: list[PolicyError] = []
    engine = Engine(PolicySet.from_json(V1))
    source = UrlSource(engine, url, on_error=errors.append)
    assert source.poll() is False  # the same document: nothing replaced
    state.body = b'{"connectors": ['
    assert source.poll() is False
    state.body = b'{"connectors": [], "policies": [{"id": 1}]}'
    assert source.poll() is False
    state.status = 503
    assert source.poll() is False
    state.status = 404
    assert source.poll() is False
    assert [(type(e), e.code) for e in errors[:2]] == [(DocumentError, "invalid_document")] * 2
    assert [(e.code, getattr(e, "status", None)) for e in errors[2:]] == [
        ("http_status", 503),
        ("http_status", 404),
    ]
    assert source.last_error is errors[-1]
    assert engine.version == VERSION1  # served throughout
    # A bad document's ETag is never kept: each poll asks again for the last good one.
    assert state.requests[-1] == source.etag


def test_an_unreachable_server_is_reported(served: tuple[Served, str]) -> None:
    _, url = served
    errors: list[PolicyError] = []
    engine = Engine(PolicySet.from_json(V1))
    closed = url.replace(url.split(":")[2].split("/")[0], "9")  # port 9: discard, not served
    source = UrlSource(engine, closed, on_error=errors.append, timeout=2)
    assert source.poll() is False
    assert len(errors) == 1 and isinstance(errors[0], SourceError)
    assert errors[0].code == "fetch_failed" and "cannot fetch" in errors[0].message
    assert engine.version == VERSION1
    with pytest.raises(SourceError) as raised:  # with no set to fall back on, open raises
        UrlSource.open(closed, timeout=2)
    assert raised.value.code == "fetch_failed"


def test_a_pinned_digest_refuses_any_other_document(served: tuple[Served, str]) -> None:
    state, url = served
    errors: list[PolicyError] = []
    pin = hashlib.sha256(V1).hexdigest()
    source = UrlSource.open(url, sha256=pin.upper(), on_error=errors.append, start=False)
    state.body = V2
    assert source.poll() is False
    assert [e.code for e in errors] == ["digest_mismatch"]
    assert pin in errors[0].message and source.engine.version == VERSION1
    with pytest.raises(SourceError) as raised:
        UrlSource.open(url, sha256=pin)
    assert raised.value.code == "digest_mismatch"
    with pytest.raises(ValueError):
        UrlSource(source.engine, url, sha256="abc")


def test_polling_converges_within_one_interval(served: tuple[Served, str]) -> None:
    state, url = served
    seen = threading.Event()
    with UrlSource.open(url, interval=0.2, on_update=lambda v: seen.set(), start=False) as source:
        time.sleep(0.1)
        state.body = V2
        changed = time.monotonic()
        assert seen.wait(2)
        assert time.monotonic() - changed < 0.2 + 0.5
        assert source.engine.version == VERSION2
    polls = len(state.requests)
    time.sleep(0.5)
    assert len(state.requests) == polls  # stopped


def test_a_callback_that_raises_does_not_stop_polling(served: tuple[Served, str]) -> None:
    state, url = served

    def boom(error: PolicyError) -> None:
        raise RuntimeError("the host's callback failed")

    source = UrlSource.open(url, on_error=boom, start=False)
    state.status = 500
    assert source.poll() is False
    state.status = 200
    state.body = V2
    assert source.poll() is True


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "policies.json"
    path.write_bytes(V1)
    updates: list[str] = []
    errors: list[PolicyError] = []
    source = FileSource.open(path, on_update=updates.append, on_error=errors.append, start=False)
    assert source.engine.version == VERSION1
    assert source.poll() is False
    # Replaced atomically, as a deployment should.
    (tmp_path / "next.json").write_bytes(V2)
    os.replace(tmp_path / "next.json", path)
    assert source.poll() is True and updates == [VERSION2]
    path.write_bytes(b"not json")
    assert source.poll() is False and isinstance(errors[-1], DocumentError)
    path.unlink()
    assert source.poll() is False
    assert errors[-1].code == "fetch_failed" and str(path) in errors[-1].message
    assert source.engine.version == VERSION2
    path.write_bytes(V2)  # the same document again: nothing to replace
    assert source.poll() is False and source.last_error is None and updates == [VERSION2]
    with pytest.raises(SourceError):
        FileSource.open(tmp_path / "missing.json")


def test_file_source_polls_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "policies.json"
    path.write_bytes(V1)
    seen = threading.Event()
    with FileSource.open(path, interval=0.1, on_update=lambda v: seen.set()) as source:
        path.write_bytes(V2 + b" ")  # another size, whatever the clock's resolution
        assert seen.wait(2)
        assert source.engine.evaluate("alice", "github", "merge").version == VERSION2
