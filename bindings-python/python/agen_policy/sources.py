"""Policy sources: keep an :class:`Engine` on the document a URL or a file holds.

A fleet of services shares one policy document: on a web server, in object storage behind a
CDN, or in a file each machine receives. A source polls it and, when it changed and loads,
replaces the engine's set atomically; every decision carries the ``version`` of the set that
made it. On any error (the network, an HTTP status, a document that does not load, a digest that
does not match the pinned one) the last good set keeps serving and the error is reported to
``on_error``; nothing half-loaded is ever served.

* :class:`UrlSource` polls an HTTP(S) URL with ``If-None-Match`` (a ``304 Not Modified`` costs
  no transfer and no parsing), from a daemon thread, with the standard library's ``urllib``.
* :class:`FileSource` polls a file's size and modification time and reads it when they change.

``sha256``, when given, pins the SHA-256 (hex) of the document's bytes, as ``sha256sum`` prints
it: any other content is refused with ``digest_mismatch``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import PolicyError
from ._native import Engine, PolicySet

__all__ = ["FileSource", "SourceError", "UrlSource"]

# The core refuses documents above 64 MiB; a source reads at most one byte more, so that an
# endless or oversized body is cut, and refused by the core's limit, not read into memory whole.
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

_log = logging.getLogger("agen_policy.sources")

ErrorCallback = Callable[[PolicyError], object]
UpdateCallback = Callable[[str], object]


class SourceError(PolicyError):
    """A policy source could not get a document; the engine keeps its current set.

    ``code`` is ``fetch_failed`` (the network, a timeout, a file that cannot be read),
    ``http_status`` (an answer other than 200 or 304; ``status`` holds it) or
    ``digest_mismatch`` (the document's SHA-256 is not the pinned one). A document that does not
    load is reported as the :class:`DocumentError` the engine raised.
    """

    status: int | None

    def __init__(self, message: str, code: str, status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.args = (f"{code}: {message}",)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.code, self.status))


class _Source:
    """What both sources share: the pin, loading, the engine, the callbacks and the thread."""

    def __init__(
        self,
        engine: Engine | None,
        *,
        interval: float,
        sha256: str | None,
        on_error: ErrorCallback | None,
        on_update: UpdateCallback | None,
    ) -> None:
        # `open` passes no engine: the first document it loads makes one.
        if engine is not None and not isinstance(engine, Engine):
            raise TypeError("engine must be an agen_policy.Engine")
        if interval <= 0:
            raise ValueError("interval must be a positive number of seconds")
        if sha256 is not None and (
            len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256)
        ):
            raise ValueError("sha256 must be 64 hexadecimal digits")
        self._engine = engine
        self.interval = interval
        self.sha256 = sha256.lower() if sha256 is not None else None
        self.on_error = on_error
        self.on_update = on_update
        self.last_error: PolicyError | None = None
        """The error of the last poll, or ``None`` when it succeeded (changed or not)."""
        self._digest: str | None = None  # of the bytes of the set this source last installed
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def engine(self) -> Engine:
        """The engine this source keeps current."""
        if self._engine is None:
            raise SourceError("the source has loaded no document yet", "fetch_failed")
        return self._engine

    def _fetch(self) -> bytes | None:
        """The document's bytes, or ``None`` when unchanged; raises :class:`SourceError`."""
        raise NotImplementedError

    def _first(self, start: bool) -> None:
        """`open`'s first fetch: any error is raised, since there is no set to fall back on."""
        body = self._fetch()
        if body is None:
            raise SourceError(f"{self!r} gave no document on its first fetch", "fetch_failed")
        self._load(body)
        self._accepted()
        if start:
            self.start()

    def _accepted(self) -> None:
        """Called once a fetched document is installed (or found identical)."""

    def _load(self, body: bytes) -> bool:
        digest = hashlib.sha256(body).hexdigest()
        if self.sha256 is not None and digest != self.sha256:
            raise SourceError(
                f"the document's SHA-256 is {digest}, not the pinned {self.sha256}",
                "digest_mismatch",
            )
        if digest == self._digest:
            return False
        policies = PolicySet.from_json(body)  # DocumentError: nothing changes
        self._digest = digest
        # INVARIANT: the engine swaps whole sets, so each decision is made by one version.
        if self._engine is None:
            self._engine = Engine(policies)
        elif policies.version == self._engine.version:
            return False  # the same policies, written differently
        else:
            self._engine.replace(policies)
        return True

    def poll(self) -> bool:
        """Fetches the document now and installs it if it changed and loads; returns whether
        the engine's set was replaced. Never raises for the document's sake: an error is kept
        in ``last_error``, given to ``on_error``, and the current set keeps serving."""
        with self._poll_lock:
            try:
                body = self._fetch()
                changed = body is not None and self._load(body)
                self._accepted()
            except PolicyError as e:
                self.last_error = e
                self._report(self.on_error, e)
                return False
            self.last_error = None
        if changed:
            self._report(self.on_update, self.engine.version)
        return changed

    def _report(self, callback: Callable[[Any], object] | None, value: object) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            # A failing callback must not stop the polling that keeps the policies current.
            _log.exception("a policy source callback raised")

    def _run(self) -> None:
        # Fixed-rate polling: a change is seen at most one interval (plus one fetch) after it.
        next_poll = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_poll - time.monotonic())):
            next_poll += self.interval
            self.poll()
            next_poll = max(next_poll, time.monotonic())

    def start(self) -> None:
        """Starts polling every ``interval`` seconds from a daemon thread (no-op if started)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"agen-policy {type(self).__name__}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops polling; waits for a poll under way to finish."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_bounded(stream: Any) -> bytes:
    data: bytes = stream.read(_MAX_DOCUMENT_BYTES + 1)
    return data


class UrlSource(_Source):
    """Keeps ``engine`` on the document served at ``url`` (``http:`` or ``https:``).

    Every ``interval`` seconds once started, a ``GET`` with ``If-None-Match`` (the ``ETag`` of
    the last document installed): ``304`` changes nothing; ``200`` with a document that loads
    (and matches ``sha256``, when pinned) replaces the set and calls ``on_update(version)``; any
    error calls ``on_error(error)`` and keeps the current set. ``timeout`` bounds each request,
    in seconds; ``headers`` are added to each (an ``Authorization`` for a private bucket).
    """

    def __init__(
        self,
        engine: Engine,
        url: str,
        *,
        interval: float = 30.0,
        sha256: str | None = None,
        on_error: ErrorCallback | None = None,
        on_update: UpdateCallback | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be http:// or https://, not `{url}`")
        super().__init__(
            engine, interval=interval, sha256=sha256, on_error=on_error, on_update=on_update
        )
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.etag: str | None = None
        """The ``ETag`` of the document last installed, sent as ``If-None-Match``."""
        self._pending_etag: str | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        interval: float = 30.0,
        sha256: str | None = None,
        on_error: ErrorCallback | None = None,
        on_update: UpdateCallback | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        start: bool = True,
    ) -> UrlSource:
        """Fetches the document once, builds an :class:`Engine` on it (``source.engine``) and,
        with ``start``, starts polling. With no set to fall back on, a first fetch that fails
        raises its error (:class:`SourceError` or :class:`DocumentError`)."""
        source = cls(
            None,  # type: ignore[arg-type]
            url,
            interval=interval,
            sha256=sha256,
            on_error=on_error,
            on_update=on_update,
            timeout=timeout,
            headers=headers,
        )
        source._first(start)
        return source

    def _fetch(self) -> bytes | None:
        request = urllib.request.Request(self.url, headers=self.headers)
        if self.etag is not None:
            request.add_header("If-None-Match", self.etag)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
                if status != 200:
                    raise SourceError(f"{self.url} answered HTTP {status}", "http_status", status)
                self._pending_etag = response.headers.get("ETag")
                return _read_bounded(response)
        except urllib.error.HTTPError as e:
            e.close()
            if e.code == 304:
                self._pending_etag = self.etag
                return None
            raise SourceError(
                f"{self.url} answered HTTP {e.code} {e.reason}", "http_status", e.code
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            raise SourceError(f"cannot fetch {self.url}: {reason}", "fetch_failed") from None

    def _accepted(self) -> None:
        self.etag = self._pending_etag

    def __enter__(self) -> UrlSource:
        self.start()
        return self

    def __repr__(self) -> str:
        return f"UrlSource({self.url!r}, interval={self.interval})"


class FileSource(_Source):
    """Keeps ``engine`` on the document in the file at ``path``.

    Every ``interval`` seconds once started, the file's size, modification time and inode are
    compared with those last seen; when they changed, the file is read and, if it loads (and
    matches ``sha256``, when pinned), replaces the set and calls ``on_update(version)``. A file
    that is missing, unreadable or not a valid document calls ``on_error(error)`` and keeps the
    current set. Replace the file atomically (write a new one, then rename it over the old).
    """

    def __init__(
        self,
        engine: Engine,
        path: str | os.PathLike[str],
        *,
        interval: float = 1.0,
        sha256: str | None = None,
        on_error: ErrorCallback | None = None,
        on_update: UpdateCallback | None = None,
    ) -> None:
        super().__init__(
            engine, interval=interval, sha256=sha256, on_error=on_error, on_update=on_update
        )
        self.path = os.fspath(path)
        self._seen: tuple[int, int, int] | None = None
        self._pending_seen: tuple[int, int, int] | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        interval: float = 1.0,
        sha256: str | None = None,
        on_error: ErrorCallback | None = None,
        on_update: UpdateCallback | None = None,
        start: bool = True,
    ) -> FileSource:
        """Reads the file once, builds an :class:`Engine` on it (``source.engine``) and, with
        ``start``, starts polling. A first read that fails raises its error."""
        source = cls(
            None,  # type: ignore[arg-type]
            path,
            interval=interval,
            sha256=sha256,
            on_error=on_error,
            on_update=on_update,
        )
        source._first(start)
        return source

    def _fetch(self) -> bytes | None:
        try:
            with open(self.path, "rb") as file:
                info = os.fstat(file.fileno())
                seen = (info.st_size, info.st_mtime_ns, info.st_ino)
                if seen == self._seen:
                    self._pending_seen = seen
                    return None
                body = _read_bounded(file)
        except OSError as e:
            raise SourceError(
                f"cannot read the policy file {self.path}: {e.strerror or e}", "fetch_failed"
            ) from None
        self._pending_seen = seen
        return body

    def _accepted(self) -> None:
        self._seen = self._pending_seen

    def __enter__(self) -> FileSource:
        self.start()
        return self

    def __repr__(self) -> str:
        return f"FileSource({self.path!r}, interval={self.interval})"


for _cls in (UrlSource, FileSource, SourceError):
    _cls.__module__ = "agen_policy"
