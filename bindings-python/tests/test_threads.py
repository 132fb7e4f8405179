"""One policy set shared by many threads, and the batch call letting other threads run."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agen_policy import Decision, PolicySet

USERS = ["alice", "bob", "carol", "dan", "erin", "zoe"]
TOOLS = [
    ("github", "list_user_repositories"),
    ("github", "create_repository"),
    ("github", "delete_repository"),
    ("google_drive", "share_file"),
    ("google_drive", "get_file"),
    ("hubspot", "delete_contact"),
    ("hubspot", "create_contact"),
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"agent": {"type": "Claude Desktop", "trusted": False}},
    {"request.ip": "10.9.8.7", "agent.type": "ChatGPT"},
]


def all_requests() -> list[dict[str, Any]]:
    return [
        {"user": u, "connector": c, "tool": t, "context": x}
        for u in USERS
        for c, t in TOOLS
        for x in CONTEXTS
    ]


def decide(policies: PolicySet, requests: list[dict[str, Any]]) -> list[Decision]:
    return [
        policies.evaluate(r["user"], r["connector"], r["tool"], context=r["context"])
        for r in requests
    ]


def test_threads_share_one_set(acme: PolicySet) -> None:
    requests = all_requests()
    expected = decide(acme, requests)
    assert len({d.action for d in expected}) == 4, "the requests cover every action"

    def worker(i: int) -> list[Decision]:
        results: list[Decision] = []
        for _ in range(50):
            if i % 3 == 0:
                results = acme.evaluate_many(requests)
            elif i % 3 == 1:
                results = decide(acme, requests)
            else:
                results = [acme.explain_request(r).decision for r in requests]
        return results

    with ThreadPoolExecutor(max_workers=8) as pool:
        for results in pool.map(worker, range(8)):
            assert results == expected


def test_sets_load_and_evaluate_concurrently(acme_path: Any) -> None:
    text = acme_path.read_text(encoding="utf-8")

    def load_and_decide(_: int) -> tuple[str, list[Decision]]:
        policies = PolicySet.from_json(text)
        return policies.version, decide(policies, all_requests())

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(load_and_decide, range(8)))
    assert len({version for version, _ in results}) == 1
    assert all(decisions == results[0][1] for _, decisions in results)


def test_evaluate_many_lets_other_threads_run() -> None:
    # A policy whose targeting scans a long string makes each evaluation take a while, so
    # the batch spends most of its time evaluating rather than converting.
    conditions = [
        {
            "attribute": "text",
            "operator": "contains",
            "values": [f"needle-{i}"],
            "ignore_case": True,
        }
        for i in range(8)
    ]
    policies = PolicySet.from_dict(
        {
            "connectors": [{"id": "c", "tools": [{"name": "t"}]}],
            "policies": [
                {
                    "id": "p",
                    "name": "slow",
                    "connector": "c",
                    "action": "allow",
                    "all_users": True,
                    "tools": "all",
                    "targeting": {"rules": [{"conditions": [c]} for c in conditions]},
                }
            ],
        }
    )
    text = "haystack " * 1000
    request = {"user": "u", "connector": "c", "tool": "t", "context": {"text": text}}
    # Size the batch to take about a quarter of a second, whatever the build's speed.
    probe = [request] * 20
    start = time.perf_counter()
    policies.evaluate_many(probe)
    per_request = (time.perf_counter() - start) / len(probe)
    batch = [request] * max(len(probe), int(0.25 / per_request))
    start = time.perf_counter()
    policies.evaluate_many(batch)
    batch_seconds = time.perf_counter() - start

    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.0005)  # releases the GIL; needs it back to count the next tick

    # The batch holds the GIL, as Python code does, and lets go of it every millisecond: a
    # thread that has waited for the GIL longer than the switch interval (5 ms) then gets it,
    # as it would from Python code. A native call that never let go would starve the ticker
    # (0 ticks); each tick here waits out the switch interval, so a loaded machine counts a
    # few dozen at best.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    thread = threading.Thread(target=ticker)
    try:
        thread.start()
        time.sleep(0.05)
        before = ticks
        policies.evaluate_many(batch)
        during = ticks - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert during >= 5, f"the ticker counted {during} during a {batch_seconds:.3f} s batch"
