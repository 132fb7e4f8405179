#!/usr/bin/env python3
"""Per-call cost of ``agen_policy.PolicySet.evaluate`` beside ``cedarpy`` on the same policies.

The workload is deterministic: 1,000 policies over 10 connectors of 50 tools, 200 users in 20
groups, and requests whose context has one attribute (``agent_type``). The same policies are
encoded in Cedar (see ``cedar_policies`` and README.md); before anything is timed, both engines
decide a sample of requests and must agree on allow / deny for every one of them.

Run from the repository root, in an environment with the package and ``cedarpy`` installed::

    python benches/python/bench_evaluate.py            # 10-20 seconds
    python benches/python/bench_evaluate.py --quick    # a few seconds, rough figures

It prints the median nanoseconds per call of each measurement and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import agen_policy

CONNECTORS = 10
TOOLS = 50
USERS = 200
GROUPS = 20
POLICIES = 1_000
AGENTS = ("ChatGPT", "Claude", "Cursor")
# Requests also come from an agent that no policy names.
REQUEST_AGENTS = (*AGENTS, "Other")
SEED = 20261125


def connector_id(c: int) -> str:
    return f"c{c}"


def tool_name(t: int) -> str:
    return f"t{t:02}"


def user_id(u: int) -> str:
    return f"u{u:03}"


def group_id(g: int) -> str:
    return f"g{g:02}"


def user_groups(u: int) -> list[str]:
    return sorted({group_id(u % GROUPS), group_id((u * 7 + 3) % GROUPS)})


def policy_specs() -> list[dict[str, Any]]:
    """The 1,000 policies, as plain data both encoders read, drawn from a fixed seed.

    Each governs 3 consecutive tools of one connector; it is scoped to all users (20 %), to one
    group (40 %) or to one user (40 %); it denies (10 %) or allows; two in three carry a
    one-condition targeting (``agent_type`` equals one agent), half of them with
    ``otherwise: none`` (a request from another agent is not governed), half with the default
    ``otherwise: deny``.
    """
    rng = random.Random(SEED)
    specs = []
    for i in range(POLICIES):
        first = rng.randrange(TOOLS)
        x = rng.random()
        scope: tuple[str, str | None]
        if x < 0.2:
            scope = ("all", None)
        elif x < 0.6:
            scope = ("group", group_id(rng.randrange(GROUPS)))
        else:
            scope = ("user", user_id(rng.randrange(USERS)))
        targeted = rng.random() < 2 / 3
        specs.append(
            {
                "id": f"p{i:04}",
                "connector": rng.randrange(CONNECTORS),
                "tools": [(first + k) % TOOLS for k in range(3)],
                "scope": scope,
                "action": "deny" if rng.random() < 0.1 else "allow",
                "agent": rng.choice(AGENTS) if targeted else None,
                "otherwise": rng.choice(("none", "deny")) if targeted else None,
            }
        )
    return specs


def agen_document(specs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The policies as an agen policy document."""
    policies = []
    for s in specs:
        p: dict[str, Any] = {
            "id": s["id"],
            "name": f"policy {s['id']}",
            "connector": connector_id(s["connector"]),
            "action": s["action"],
            "tools": [tool_name(t) for t in s["tools"]],
        }
        kind, who = s["scope"]
        if kind == "all":
            p["all_users"] = True
        elif kind == "group":
            p["groups"] = [who]
        else:
            p["users"] = [who]
        if s["agent"] is not None:
            p["targeting"] = {
                "rules": [
                    {
                        "conditions": [
                            {
                                "attribute": "agent_type",
                                "operator": "equals",
                                "values": [s["agent"]],
                            }
                        ]
                    }
                ],
                "otherwise": s["otherwise"],
            }
        policies.append(p)
    return {
        "version": 1,
        "connectors": [
            {"id": connector_id(c), "tools": [{"name": tool_name(t)} for t in range(TOOLS)]}
            for c in range(CONNECTORS)
        ],
        "groups": [{"id": group_id(g)} for g in range(GROUPS)],
        "users": [{"id": user_id(u), "groups": user_groups(u)} for u in range(USERS)],
        "policies": policies,
    }


def cedar_policies(specs: Sequence[dict[str, Any]]) -> str:
    """The same policies in Cedar.

    A request is ``principal = User::"u007"``, ``action = Action::"call"``,
    ``resource = Tool::"c3/t12"`` (a child of ``Connector::"c3"``) and the same context. Policy
    scope: all users → ``principal``, a group → ``principal in Group::".."``, a user →
    ``principal == User::".."``; the tools → ``resource in [Tool::"..", ...]`` in the ``when``
    clause. ``allow`` → ``permit``, ``deny`` → ``forbid``. Targeting: the policy's effect holds
    ``when { context has agent_type && context.agent_type == ".." }``; a default
    ``otherwise: deny`` adds a ``forbid`` with the same scope ``unless`` that condition (the
    ``has`` guard makes a missing attribute a false condition, as in agen, instead of an error).
    Cedar's "a satisfied forbid wins, else a satisfied permit allows, else deny" then equals
    agen's "most restrictive served action wins, no policy means deny" for allow / deny.
    """
    out = []
    for s in specs:
        kind, who = s["scope"]
        principal = {
            "all": "principal",
            "group": f'principal in Group::"{who}"',
            "user": f'principal == User::"{who}"',
        }[kind]
        c = connector_id(s["connector"])
        tools = ", ".join(f'Tool::"{c}/{tool_name(t)}"' for t in s["tools"])
        head = f'{principal}, action == Action::"call", resource in Connector::"{c}"'
        within = f"resource in [{tools}]"
        effect = "permit" if s["action"] == "allow" else "forbid"
        if s["agent"] is None:
            out.append(f'@id("{s["id"]}")\n{effect} ({head}) when {{ {within} }};')
            continue
        cond = f'context has agent_type && context.agent_type == "{s["agent"]}"'
        out.append(f'@id("{s["id"]}")\n{effect} ({head}) when {{ {within} && ({cond}) }};')
        if s["otherwise"] == "deny":
            out.append(
                f'@id("{s["id"]}-otherwise")\nforbid ({head}) when {{ {within} && !({cond}) }};'
            )
    return "\n".join(out)


def cedar_entities() -> list[dict[str, Any]]:
    users = [
        {
            "uid": {"type": "User", "id": user_id(u)},
            "attrs": {},
            "parents": [{"type": "Group", "id": g} for g in user_groups(u)],
        }
        for u in range(USERS)
    ]
    groups = [
        {"uid": {"type": "Group", "id": group_id(g)}, "attrs": {}, "parents": []}
        for g in range(GROUPS)
    ]
    tools = [
        {
            "uid": {"type": "Tool", "id": f"{connector_id(c)}/{tool_name(t)}"},
            "attrs": {},
            "parents": [{"type": "Connector", "id": connector_id(c)}],
        }
        for c in range(CONNECTORS)
        for t in range(TOOLS)
    ]
    connectors = [
        {"uid": {"type": "Connector", "id": connector_id(c)}, "attrs": {}, "parents": []}
        for c in range(CONNECTORS)
    ]
    return users + groups + tools + connectors


Request = tuple[str, str, str, dict[str, Any]]

AGEN_EVALUATE = "agen evaluate(user, connector, tool, context=...)"
AGEN_NO_CONTEXT = "agen evaluate(user, connector, tool)"
AGEN_FLOOR = "floor: no-op native call, same arguments"
BATCH_SIZES = (64, 1_000, 10_000)


def many_name(size: int) -> str:
    return f"agen evaluate_many({size:,} dicts), per request"


# The targets the figures are held to (CPU medians): a one-attribute context costs at most 1.3x
# no context and 4x the floor; a batch at most 0.6x a single call per request.
TARGETS = {
    "evaluate(context) / evaluate()": 1.3,
    "evaluate(context) / floor": 4.0,
    **{f"evaluate_many({size:,}) per request / evaluate(context)": 0.6 for size in BATCH_SIZES},
}
CEDAR_EVALUATE = "cedarpy is_authorized(request, PolicySet, Entities)"


def requests(n: int, seed: int = SEED + 1) -> list[Request]:
    """``n`` requests: a random user, connector, tool and agent, drawn from a fixed seed."""
    rng = random.Random(seed)
    return [
        (
            user_id(rng.randrange(USERS)),
            connector_id(rng.randrange(CONNECTORS)),
            tool_name(rng.randrange(TOOLS)),
            {"agent_type": rng.choice(REQUEST_AGENTS)},
        )
        for _ in range(n)
    ]


def cedar_request(r: Request) -> dict[str, Any]:
    user, connector, tool, context = r
    return {
        "principal": f'User::"{user}"',
        "action": 'Action::"call"',
        "resource": f'Tool::"{connector}/{tool}"',
        "context": context,
    }


class Timing:
    """Nanoseconds per call over several rounds: wall-clock and the process's CPU time.

    On an idle machine the two agree; when other work shares the CPUs, wall-clock time also
    counts the time this process waited for a CPU, and the CPU time is the better estimate.
    """

    def __init__(self, wall: list[float], cpu: list[float]) -> None:
        self.wall_median = statistics.median(wall)
        self.wall_min = min(wall)
        self.cpu_median = statistics.median(cpu)

    def as_dict(self) -> dict[str, float]:
        return {
            "wall_median": round(self.wall_median, 1),
            "wall_min": round(self.wall_min, 1),
            "cpu_median": round(self.cpu_median, 1),
        }


def time_calls(run: Callable[[], int], rounds: int) -> Timing:
    """Runs ``run`` (which makes calls and returns how many) once to warm up, then ``rounds``
    times, timing each run."""
    run()
    wall, cpu = [], []
    for _ in range(rounds):
        wall_start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
        calls = run()
        cpu.append((time.process_time_ns() - cpu_start) / calls)
        wall.append((time.perf_counter_ns() - wall_start) / calls)
    return Timing(wall, cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: rough figures")
    parser.add_argument("--no-cedar", action="store_true", help="skip the cedarpy comparison")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)
    rounds, cedar_rounds, cedar_calls = (5, 3, 100) if args.quick else (31, 7, 300)
    load_before = os.getloadavg()[0]

    specs = policy_specs()
    load_start = time.perf_counter_ns()
    policies = agen_policy.PolicySet.from_dict(agen_document(specs))
    load_ms = (time.perf_counter_ns() - load_start) / 1e6
    reqs = requests(10_000)
    evaluate = policies.evaluate

    outcomes: dict[str, int] = {}
    distinct: set[agen_policy.Decision] = set()
    for user, connector, tool, context in reqs:
        d = evaluate(user, connector, tool, context=context)
        key = f"{d.action}/{d.reason}"
        outcomes[key] = outcomes.get(key, 0) + 1
        distinct.add(d)

    def loop_only() -> int:
        for _user, _connector, _tool, _context in reqs:
            pass
        return len(reqs)

    def agen_evaluate() -> int:
        for user, connector, tool, context in reqs:
            evaluate(user, connector, tool, context=context)
        return len(reqs)

    def agen_evaluate_no_context() -> int:
        for user, connector, tool, _context in reqs:
            evaluate(user, connector, tool)
        return len(reqs)

    as_dicts = [{"user": u, "connector": c, "tool": t, "context": x} for u, c, t, x in reqs]

    def agen_evaluate_request() -> int:
        for request in as_dicts:
            policies.evaluate_request(request)
        return len(as_dicts)

    def agen_evaluate_many(size: int) -> Callable[[], int]:
        batches = [as_dicts[i : i + size] for i in range(0, len(as_dicts), size)]

        def run() -> int:
            for batch in batches:
                policies.evaluate_many(batch)
            return len(as_dicts)

        return run

    def probe(method: Callable[..., object]) -> Callable[[], int]:
        def run() -> int:
            for user, connector, tool, context in reqs:
                method(user, connector, tool, context=context)
            return len(reqs)

        return run

    # Where the time of one evaluate(..., context=...) goes, from the package's cost probes:
    # each adds one stage to the previous one.
    stages = {
        "loop only": time_calls(loop_only, rounds),
        "+ call and argument extraction": time_calls(probe(policies._probe_call), rounds),
        "+ the request view (ids borrowed)": time_calls(probe(policies._probe_convert), rounds),
        "+ core evaluation (reading the context)": time_calls(
            probe(policies._probe_decide), rounds
        ),
        "+ a new Decision object": time_calls(probe(policies._probe_uncached), rounds),
        "evaluate as shipped (Decision objects reused)": time_calls(agen_evaluate, rounds),
    }

    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "policies": POLICIES,
        "load_ms": round(load_ms, 1),
        "outcomes": dict(sorted(outcomes.items())),
        "distinct_decisions": len(distinct),
    }
    results: dict[str, Timing] = {
        "loop only (harness)": time_calls(loop_only, rounds),
        AGEN_FLOOR: time_calls(probe(policies._probe_floor), rounds),
        AGEN_EVALUATE: time_calls(agen_evaluate, rounds),
        AGEN_NO_CONTEXT: time_calls(agen_evaluate_no_context, rounds),
        "agen evaluate_request(dict)": time_calls(agen_evaluate_request, rounds),
        **{
            many_name(size): time_calls(agen_evaluate_many(size), rounds)
            for size in BATCH_SIZES
        },
    }

    if not args.no_cedar:
        import cedarpy

        cedar_text = cedar_policies(specs)
        figures["cedar_policies"] = cedar_text.count("@id(")
        cedar_set = cedarpy.PolicySet.from_str(cedar_text)
        cedar_ents = cedarpy.Entities.from_json_str(json.dumps(cedar_entities()))
        sample = requests(1_000, seed=SEED + 2)
        disagreements = []
        for r in sample:
            agen_allowed = evaluate(r[0], r[1], r[2], context=r[3]).allowed
            cedar_allowed = cedarpy.is_authorized(cedar_request(r), cedar_set, cedar_ents).allowed
            if agen_allowed != cedar_allowed:
                disagreements.append((r, agen_allowed, cedar_allowed))
        if disagreements:
            print(f"engines disagree on {len(disagreements)} of {len(sample)} requests:")
            for r, agen_allowed, cedar_allowed in disagreements[:10]:
                print(f"  {r}: agen allowed={agen_allowed}, cedar allowed={cedar_allowed}")
            return 1
        figures["agreement"] = f"{len(sample)} of {len(sample)} sampled requests"
        figures["allowed_in_sample"] = sum(
            evaluate(r[0], r[1], r[2], context=r[3]).allowed for r in sample
        )

        cedar_reqs = [cedar_request(r) for r in reqs[:cedar_calls]]

        def cedar_is_authorized() -> int:
            for request in cedar_reqs:
                cedarpy.is_authorized(request, cedar_set, cedar_ents)
            return len(cedar_reqs)

        def cedar_batch() -> int:
            cedarpy.is_authorized_batch(cedar_reqs, cedar_set, cedar_ents)
            return len(cedar_reqs)

        results[CEDAR_EVALUATE] = time_calls(cedar_is_authorized, cedar_rounds)
        results[f"cedarpy is_authorized_batch({cedar_calls} requests), per request"] = time_calls(
            cedar_batch, cedar_rounds
        )
        figures["cedarpy"] = getattr(cedarpy, "__version__", "installed")

    figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(
        f"agen_policy {agen_policy.__version__} on Python {figures['python']}, "
        f"{POLICIES} policies (loaded in {figures['load_ms']} ms)"
    )
    print(
        f"outcomes over {len(reqs)} requests: {figures['outcomes']}, "
        f"{figures['distinct_decisions']} distinct decisions"
    )
    print(
        f"1-minute load average before / after: {figures['load_average']} on {os.cpu_count()} CPUs"
    )
    if "agreement" in figures:
        print(
            f"agen and cedarpy agree on allow/deny for {figures['agreement']} "
            f"({figures['allowed_in_sample']} allowed); "
            f"{figures['cedar_policies']} Cedar policies"
        )
    figures["stages_ns"] = {k: t.as_dict() for k, t in stages.items()}
    print(
        "\nwhere the time of evaluate(..., context=...) goes (CPU median ns per call, and the "
        "stage's own share):"
    )
    previous = 0.0
    for name, t in stages.items():
        own = "" if name.startswith("evaluate as") else f"  (+{t.cpu_median - previous:,.0f})"
        print(f"  {name:<48} {t.cpu_median:>6,.0f}{own}")
        if not name.startswith("evaluate as"):
            previous = t.cpu_median
    width = max(len(k) for k in results)
    print(f"\n{'ns per call:':<{width}}  {'wall median':>12}  {'wall min':>10}  {'CPU median':>11}")
    for name, t in results.items():
        wall, best, cpu = t.wall_median, t.wall_min, t.cpu_median
        print(f"{name:<{width}}  {wall:>12,.0f}  {best:>10,.0f}  {cpu:>11,.0f}")
    figures["results_ns"] = {k: t.as_dict() for k, t in results.items()}
    agen = results[AGEN_EVALUATE]
    ratios = {
        "evaluate(context) / evaluate()": agen.cpu_median / results[AGEN_NO_CONTEXT].cpu_median,
        "evaluate(context) / floor": agen.cpu_median / results[AGEN_FLOOR].cpu_median,
        **{
            f"evaluate_many({size:,}) per request / evaluate(context)": results[
                many_name(size)
            ].cpu_median
            / agen.cpu_median
            for size in BATCH_SIZES
        },
    }
    figures["ratios_cpu_median"] = {k: round(v, 2) for k, v in ratios.items()}
    print("\nratios of CPU medians (target):")
    for name, ratio in ratios.items():
        target = TARGETS[name]
        verdict = "met" if ratio <= target else "MISSED"
        print(f"  {name:<52} {ratio:5.2f}x  (<= {target}x: {verdict})")
    if CEDAR_EVALUATE in results:
        cedar = results[CEDAR_EVALUATE]
        figures["ratio_cedarpy_over_agen"] = {
            "wall_median": round(cedar.wall_median / agen.wall_median, 1),
            "cpu_median": round(cedar.cpu_median / agen.cpu_median, 1),
        }
        print(
            f"\ncedarpy is_authorized / agen evaluate: "
            f"{cedar.wall_median / agen.wall_median:,.0f}x (wall medians), "
            f"{cedar.cpu_median / agen.cpu_median:,.0f}x (CPU medians)"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
