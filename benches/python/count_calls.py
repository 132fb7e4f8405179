#!/usr/bin/env python3
"""Makes N calls of one kind on the benchmark's workload, after a warm-up pass, for counting
instructions under callgrind. Run it twice, with N and with N + K calls, and divide the
difference of the two counts by K: what is left is the cost of one call (the set's loading and
the warm-up cancel out). For stable counts fix the hash seed::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=a.out \\
        python benches/python/count_calls.py evaluate 500
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=b.out \\
        python benches/python/count_calls.py evaluate 2500

Kinds: ``loop`` (the harness alone), ``floor`` (``_probe_floor``, needs the ``test-hooks``
feature), ``evaluate`` (one-attribute context), ``evaluate-no-context``, ``evaluate_request``,
``many64`` / ``many1000`` (``evaluate_many`` in batches of that size; N per request).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import agen_policy  # noqa: E402
import bench_evaluate as bench  # noqa: E402


def main() -> None:
    kind, n = sys.argv[1], int(sys.argv[2])
    policies = agen_policy.PolicySet.from_dict(bench.agen_document(bench.policy_specs()))
    reqs = bench.requests(10_000)
    dicts = [{"user": u, "connector": c, "tool": t, "context": x} for u, c, t, x in reqs]
    evaluate = policies.evaluate
    for u, c, t, x in reqs:  # warm-up: every decision object made once
        evaluate(u, c, t, context=x)
    policies.evaluate_many(dicts)
    calls, batch = reqs[:n], dicts[:n]
    if kind == "loop":
        for _u, _c, _t, _x in calls:
            pass
    elif kind == "floor":
        floor = policies._probe_floor
        for u, c, t, x in calls:
            floor(u, c, t, context=x)
    elif kind == "evaluate":
        for u, c, t, x in calls:
            evaluate(u, c, t, context=x)
    elif kind == "evaluate-no-context":
        for u, c, t, _x in calls:
            evaluate(u, c, t)
    elif kind == "evaluate_request":
        for d in batch:
            policies.evaluate_request(d)
    elif kind.startswith("many"):
        size = int(kind.removeprefix("many"))
        for i in range(0, n, size):
            policies.evaluate_many(batch[i : i + size])
    else:
        sys.exit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    main()
