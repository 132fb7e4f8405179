"""The fleet test: Python and Node services sharing one policy URL and one approval database.

Usage: run.py DSN RUN_DIR PG_STOP_COMMAND (scripts/test-fleet starts the database and runs this
with the Python package's virtual environment).

1. Serves the policy document (v1) from an HTTP server on loopback, with ETags and 304s.
2. Starts the workers, half Python (worker.py) and half Node (worker.mjs); each loads the
   document from the URL (polling every INTERVAL seconds), migrates the database (all at once)
   and, on "go", loops: evaluates a batch and one request, opens its approval requests over
   time, votes (approve, sometimes reject) on up to three pending requests of a random approver
   (``pending_for``), sometimes cancels one of its own. Every result goes to its log.
3. Replaces the document with v2 mid-run and records when; waits for every worker to switch.
4. Breaks the document for a while (invalid JSON, then HTTP 503, then connections closed
   without an answer), then serves v2 again: every worker must report each error and keep v2.
5. When every request is opened and final, stops the workers, stops the database, and lets
   each worker check that approvals fail closed (``store_unavailable``) while decisions go on.
6. Checks, from the database and the logs: every request in exactly one final state, reached by
   exactly one logged operation; every vote that succeeded in the stored state once, and every
   stored vote logged once; each row's version = 1 + the writes logged for it; the migration
   applied once; every worker on v2 within one poll interval of the replacement; every decision
   the one its version makes (no decision mixes versions), and no worker back on v1 once on v2.

Prints the figures and exits non-zero on any failed check.
"""

from __future__ import annotations

import collections
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from agen_policy import PolicySet

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NODE_WORKERS = int(os.environ.get("FLEET_NODE_WORKERS", "3"))
PY_WORKERS = int(os.environ.get("FLEET_PY_WORKERS", "3"))
REQUESTS = int(os.environ.get("FLEET_REQUESTS", "30"))  # per worker
INTERVAL = float(os.environ.get("FLEET_INTERVAL", "1.0"))  # seconds between polls
# A worker sees a change when its next poll's fetch returns: at most one interval after the
# change, plus that fetch (milliseconds on loopback) and the scheduling of a loaded machine.
FETCH_ALLOWANCE = 0.25

REVIEWERS = [f"rev{i}" for i in range(8)]
LEADS = [f"lead{i}" for i in range(4)]
NAMES = [f"py{i}" for i in range(PY_WORKERS)] + [
    f"node{i}" for i in range(NODE_WORKERS)
]


def document(version: int) -> dict[str, Any]:
    """The policies: deletes need two reviewers then a lead, in both versions; v2 denies merges
    that v1 allows, allows issues that v1 denies, and asks a step-up for pushes."""
    merge, issue, push = (
        ("allow", "deny", "allow") if version == 1 else ("deny", "allow", "step_up")
    )
    tools = ["delete_repository", "merge", "create_issue", "push"]
    return {
        "connectors": [{"id": "github", "tools": [{"name": t} for t in tools]}],
        "groups": [{"id": "reviewers"}, {"id": "leads"}, {"id": "engineers"}],
        "users": [{"id": f"req-{n}", "groups": ["engineers"]} for n in NAMES]
        + [{"id": r, "groups": ["reviewers"]} for r in REVIEWERS]
        + [{"id": lead, "groups": ["leads"]} for lead in LEADS],
        "approval_flows": [
            {
                "id": "review",
                "grant_ttl": 600,
                "steps": [
                    {"groups": ["reviewers"], "min_approvals": 2},
                    {"groups": ["leads"], "min_approvals": 1},
                ],
            }
        ],
        "policies": [
            {
                "id": "deletes",
                "name": "Deletes are reviewed",
                "connector": "github",
                "action": "request_approval",
                "approval_flow": "review",
                "all_users": True,
                "tools": ["delete_repository"],
            },
            {
                "id": "merges",
                "name": f"Merges (v{version})",
                "connector": "github",
                "action": merge,
                "all_users": True,
                "tools": ["merge"],
            },
            {
                "id": "issues",
                "name": "Issues",
                "connector": "github",
                "action": issue,
                "groups": ["engineers"],
                "tools": ["create_issue"],
            },
            {
                "id": "pushes",
                "name": "Pushes",
                "connector": "github",
                "action": push,
                "all_users": True,
                "tools": ["push"],
            },
        ],
    }


def workload() -> dict[str, Any]:
    evaluate = [
        {"user": f"req-{n}", "connector": "github", "tool": t}
        for n in NAMES[:2]
        for t in ("merge", "create_issue", "push", "delete_repository")
    ]
    return {
        "evaluate": evaluate,
        "approval_request": {"connector": "github", "tool": "delete_repository"},
        "requesters": {n: f"req-{n}" for n in NAMES},
        "flow": "review",
        "approvers": REVIEWERS + LEADS,
        "open_every": 0.25,
        "reject_rate": 0.04,
        "cancel_rate": 0.15,
    }


class Server:
    """The document's host. ``mode``: ``ok`` serves ``body`` (ETag, 304), ``invalid`` a broken
    document, ``503`` an error status, ``drop`` closes connections without an answer."""

    def __init__(self) -> None:
        self.body = b""
        self.mode = "ok"
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests += 1
                mode, body = server.mode, server.body
                if mode == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if mode == "invalid":
                    body = b'{"connectors": [{"id": "github", "tools": ['
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/policies.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def wait_for(
    what: str, condition: Any, timeout: float, procs: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.time() + timeout
    while not condition():
        for p in procs:
            if p.poll() not in (None, 0):
                raise SystemExit(
                    f"fleet: a worker exited with {p.returncode} while waiting for {what}"
                )
        if time.time() > deadline:
            raise SystemExit(f"fleet: timed out waiting for {what}")
        time.sleep(0.02)


def main() -> int:
    dsn, run_dir, pg_stop = sys.argv[1:4]
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    spec = workload()
    (run / "workload.json").write_text(json.dumps(spec))
    v1 = json.dumps(document(1), indent=1).encode()
    v2 = json.dumps(document(2), indent=1).encode()
    sets = {s.version: s for s in (PolicySet.from_json(v1), PolicySet.from_json(v2))}
    version1, version2 = (
        PolicySet.from_json(v1).version,
        PolicySet.from_json(v2).version,
    )

    server = Server()
    server.body = v1
    python = sys.executable
    procs: list[subprocess.Popen[bytes]] = []
    started = time.time()
    for i, name in enumerate(NAMES):
        args = [
            name,
            server.url,
            dsn,
            str(run),
            str(INTERVAL),
            str(REQUESTS),
            str(1000 + i),
        ]
        command = (
            [python, str(HERE / "worker.py"), *args]
            if name.startswith("py")
            else ["node", str(HERE / "worker.mjs"), *args]
        )
        procs.append(subprocess.Popen(command))
    failures: list[str] = []
    try:
        wait_for(
            "the workers to start",
            lambda: all((run / f"{n}.ready").exists() for n in NAMES),
            60,
            procs,
        )
        (run / "go").touch()
        go = time.time()
        time.sleep(3.0)

        # The document is replaced mid-run.
        server.body = v2
        replaced = time.time()

        def versions() -> set[str]:
            return {(run / f"{n}.version").read_text() for n in NAMES}

        wait_for(
            "every worker on v2", lambda: versions() == {version2}, INTERVAL + 10, procs
        )

        # The document breaks: each way for two polls, then v2 again.
        broken = time.time()
        for mode in ("invalid", "503", "drop"):
            server.mode = mode
            time.sleep(2 * INTERVAL + 0.2)
        server.mode = "ok"
        restored = time.time()

        def all_final() -> bool:
            with psycopg.connect(dsn) as conn:
                row = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE status = 'pending') "
                    "FROM agen_policy_approvals"
                ).fetchone()
            assert row is not None
            return bool(row[0] == REQUESTS * len(NAMES) and row[1] == 0)

        wait_for("every request opened and final", all_final, 120, procs)
        time.sleep(INTERVAL)  # one more poll after the restore
        (run / "stop").touch()
        wait_for(
            "the workers to stop",
            lambda: all((run / f"{n}.done").exists() for n in NAMES),
            60,
            procs,
        )
        stopped = time.time()

        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "SELECT id, state, version FROM agen_policy_approvals"
            ).fetchall()
            migrations = conn.execute(
                "SELECT version FROM agen_policy_migrations"
            ).fetchall()

        # The database goes down; the workers check that approvals fail closed.
        subprocess.run(pg_stop, shell=True, check=True, stdout=subprocess.DEVNULL)
        (run / "db-down").touch()
        for p in procs:
            p.wait(timeout=60)
            if p.returncode != 0:
                failures.append(f"{p.args[1]} exited with {p.returncode}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop()

    logs = {
        n: [json.loads(line) for line in (run / f"{n}.jsonl").open()] for n in NAMES
    }
    ops = [
        dict(e, worker=n)
        for n, entries in logs.items()
        for e in entries
        if e["kind"] == "op"
    ]

    def check(ok: bool, message: str) -> None:
        if not ok:
            failures.append(message)

    # --- Approvals -------------------------------------------------------------------------------
    stored = {id: (state, version) for id, state, version in rows}
    check(len(stored) == REQUESTS * len(NAMES), f"{len(stored)} requests stored")
    finals = collections.Counter(s["status"] for s, _ in stored.values())
    check(
        set(finals) <= {"approved", "rejected", "cancelled"}, f"states {dict(finals)}"
    )
    succeeded = [o for o in ops if o["ok"]]
    closing = collections.defaultdict(list)
    writes: collections.Counter[str] = collections.Counter()
    for o in succeeded:
        if o["op"] != "open":
            writes[o["id"]] += 1
        if o["status"] != "pending":
            closing[o["id"]].append(o["status"])
    logged_votes = collections.Counter(
        (o["id"], o["by"]) for o in succeeded if o["op"] == "approve"
    )
    stored_votes = collections.Counter(
        (id, by)
        for id, (s, _) in stored.items()
        for step in s["approvals"]
        for by in step
    )
    for id, (state, version) in stored.items():
        check(
            closing[id] == [state["status"]],
            f"{id}: final state {state['status']}, reached by logged operations {closing[id]}",
        )
        check(
            version == 1 + writes[id],
            f"{id}: version {version}, {writes[id]} writes logged",
        )
    check(
        max(logged_votes.values(), default=1) == 1, "a vote counted twice in the logs"
    )
    check(
        logged_votes == stored_votes,
        f"votes: logged and stored differ: lost {sorted(logged_votes - stored_votes)[:5]}, "
        f"unlogged {sorted(stored_votes - logged_votes)[:5]}",
    )
    refused = collections.Counter(o["code"] for o in ops if not o["ok"])
    check(
        set(refused)
        <= {"already_voted", "not_pending", "not_an_approver", "self_approval"},
        f"unexpected refusals {dict(refused)}",
    )
    check(sorted(migrations) == [(1,)], f"migrations recorded: {migrations}")
    applied = [
        e["applied"]
        for entries in logs.values()
        for e in entries
        if e["kind"] == "migrated"
    ]
    check(
        sorted(applied) == [[]] * (len(NAMES) - 1) + [[1]],
        f"migrations applied: {applied}",
    )

    # --- Policies --------------------------------------------------------------------------------
    convergence: dict[str, float] = {}
    decisions = 0
    for name, entries in logs.items():
        updates = [e for e in entries if e["kind"] == "update"]
        seen = [e["version"] for e in updates]
        check(seen == [version1, version2], f"{name}: versions installed {seen}")
        if len(updates) == 2:
            convergence[name] = updates[1]["t"] - replaced
        on_v2 = False
        for e in entries:
            if e["kind"] != "decisions":
                continue
            batch = e["versions"]
            decisions += len(batch)
            check(len(set(batch)) == 1, f"{name}: one batch decided by {set(batch)}")
            for i, (version, action) in enumerate(zip(batch, e["actions"])):
                request = spec["evaluate"][e.get("index", i)]
                expected = (
                    sets[version].evaluate_request(request).action
                    if version in sets
                    else None
                )
                check(
                    action == expected,
                    f"{name}: {request} decided {action} by {version[:12]}",
                )
            if batch[0] == version2:
                on_v2 = True
            check(not (on_v2 and batch[0] == version1), f"{name}: back on v1 after v2")
            check(
                batch[0] == version1 or e["t"] >= replaced,
                f"{name}: v2 before it was served",
            )
        errors = {e["code"] for e in entries if e["kind"] == "source_error"}
        check(
            errors == {"invalid_document", "http_status", "fetch_failed"},
            f"{name}: errors reported while the document was broken: {sorted(errors)}",
        )
        early = [
            e
            for e in entries
            if e["kind"] == "source_error"
            and not broken <= e["t"] <= restored + INTERVAL + FETCH_ALLOWANCE
        ]
        check(
            not early, f"{name}: source errors outside the broken period: {early[:2]}"
        )
        down = {e["op"]: e.get("code") for e in entries if e["kind"] == "down"}
        check(
            down
            == {
                "approve": "store_unavailable",
                "pending_for": "store_unavailable",
                "get": "store_unavailable",
            },
            f"{name}: with the database down: {down}",
        )
    worst = max(convergence.values(), default=float("inf"))
    check(len(convergence) == len(NAMES), "a worker never switched to v2")
    check(
        worst <= INTERVAL + FETCH_ALLOWANCE,
        f"convergence {worst:.3f} s exceeds one poll interval ({INTERVAL} s) + {FETCH_ALLOWANCE} s",
    )

    votes = sum(stored_votes.values())
    print(
        f"fleet: {len(NAMES)} processes ({PY_WORKERS} Python, {NODE_WORKERS} Node), "
        f"{len(stored)} approval requests ({finals['approved']} approved, "
        f"{finals['rejected']} rejected, {finals['cancelled']} cancelled), "
        f"{votes} approvals counted of {sum(1 for o in ops if o['op'] == 'approve')} tried "
        f"(refused: {dict(refused)}), {decisions} decisions, "
        f"{server.requests} document fetches"
    )
    print(
        f"fleet: convergence on the new version: worst {worst * 1000:.0f} ms, "
        f"median {sorted(convergence.values())[len(convergence) // 2] * 1000:.0f} ms "
        f"(poll interval {INTERVAL * 1000:.0f} ms); run {stopped - go:.1f} s of "
        f"{time.time() - started:.1f} s"
    )
    if failures:
        print(f"fleet: {len(failures)} checks failed:", file=sys.stderr)
        for f in failures[:40]:
            print(f"  {f}", file=sys.stderr)
        return 1
    print("fleet: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
