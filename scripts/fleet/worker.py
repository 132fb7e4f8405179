"""One Python service of the fleet test (scripts/test-fleet): policies from a URL, approvals in
PostgreSQL. Usage: worker.py NAME URL DSN RUN_DIR INTERVAL REQUESTS SEED.

It evaluates, opens approval requests and votes on any pending request, as ``run.py``
describes, logging every decision and every store operation that succeeded or failed
to ``RUN_DIR/NAME.jsonl``; it stops when ``RUN_DIR/stop`` appears, then waits for
``RUN_DIR/db-down`` and checks that approvals fail closed.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from agen_policy import PolicyError, PostgresApprovalStore, UrlSource

name, url, dsn, run_dir, interval, requests, seed = sys.argv[1:]
run = Path(run_dir)
rng = random.Random(int(seed))
log = (run / f"{name}.jsonl").open("a", encoding="utf-8")
spec = json.loads((run / "workload.json").read_text())


def write(kind: str, **fields: Any) -> None:
    log.write(json.dumps({"kind": kind, "t": time.time(), **fields}) + "\n")
    log.flush()


source = UrlSource.open(
    url,
    interval=float(interval),
    on_update=lambda version: (
        write("update", version=version),
        (run / f"{name}.version").write_text(version),
    ),
    on_error=lambda error: write(
        "source_error", code=error.code, message=error.message
    ),
)
engine = source.engine
write("update", version=engine.version)
(run / f"{name}.version").write_text(engine.version)
store = PostgresApprovalStore(dsn)
write("migrated", applied=store.migrate())
(run / f"{name}.ready").touch()
while not (run / "go").exists():
    time.sleep(0.01)


def now() -> int:
    return int(time.time() * 1000)


def decide() -> None:
    batch = engine.evaluate_many(spec["evaluate"])
    write(
        "decisions",
        versions=[d.version for d in batch],
        actions=[d.action for d in batch],
    )
    one = spec["evaluate"][rng.randrange(len(spec["evaluate"]))]
    decision = engine.evaluate_request(one)
    write(
        "decisions",
        versions=[decision.version],
        actions=[decision.action],
        index=spec["evaluate"].index(one),
    )


def store_op(op: str, id: str, by: str | None, call: Any, *args: Any) -> None:
    try:
        state = call(*args)
    except PolicyError as e:
        write("op", op=op, id=id, by=by, ok=False, code=e.code)
        return
    write(
        "op",
        op=op,
        id=id,
        by=by,
        ok=True,
        status=state["status"],
        approvals=state["approvals"],
    )


total = int(requests)
opened = 0
mine: list[str] = []
next_open = time.time()
while not (run / "stop").exists():
    decide()
    if opened < total and time.time() >= next_open:
        id = f"{name}-{opened:03}"
        request = {
            **spec["approval_request"],
            "user": spec["requesters"][name],
            "now": now(),
        }
        store_op("open", id, None, store.open, engine, request, spec["flow"], id, now())
        mine.append(id)
        opened += 1
        next_open = time.time() + rng.uniform(0.5, 1.5) * spec["open_every"]
    approver = rng.choice(spec["approvers"])
    for state in store.pending_for(engine, approver, now())[:3]:
        id = state["id"]
        if rng.random() < spec["reject_rate"]:
            store_op("reject", id, approver, store.reject, engine, id, approver, now())
        else:
            store_op(
                "approve", id, approver, store.approve, engine, id, approver, now()
            )
    if mine and rng.random() < spec["cancel_rate"]:
        id = rng.choice(mine)
        state = store.get(id)
        if state is not None and state["status"] == "pending":
            store_op("cancel", id, None, store.cancel, engine, id, now())
    time.sleep(rng.uniform(0, 0.02))

write("stopped", opened=opened)
(run / f"{name}.done").touch()
while not (run / "db-down").exists():
    time.sleep(0.01)
# The database is down: every store call must fail closed, and decisions go on.
probe = mine[0] if mine else f"{name}-000"
approver = spec["approvers"][0]
calls: dict[str, Any] = {
    "approve": lambda: store.approve(engine, probe, approver, now()),
    "pending_for": lambda: store.pending_for(engine, approver, now()),
    "get": lambda: store.get(probe),
}
for op, call in calls.items():
    try:
        call()
        write("down", op=op, ok=True)
    except PolicyError as e:
        write("down", op=op, ok=False, code=e.code, message=e.message)
decide()
write("exit")
source.stop()
