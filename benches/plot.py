#!/usr/bin/env python3
"""Draws benches/evaluate.svg and the README's results tables from a bench run.

Reads criterion's medians (`<criterion>/<group>/<engine>/<size>/new/estimates.json`) and the
memory bench's `<criterion>/memory/results.json`. Python standard library only.

    python3 benches/plot.py                       # write benches/evaluate.svg, print the tables
    python3 benches/plot.py --readme benches/README.md   # also replace the README's results

The criterion directory is --criterion DIR, else $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion,
else target/criterion of this (separate) workspace, benches/target/criterion.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATHS = ["allow", "step_up", "request_approval", "deny", "no_policy", "targeting"]
ENGINES = {"agen": ("agen-policy", "#1f6fb4"), "cedar": ("cedar-policy", "#e07b00")}
DASHES = {
    "allow": "",
    "step_up": "6,3",
    "request_approval": "2,3",
    "deny": "10,3,2,3",
    "no_policy": "1,2",
    "targeting": "12,4",
}
MARKERS = {
    "allow": "circle",
    "step_up": "square",
    "request_approval": "diamond",
    "deny": "triangle",
    "no_policy": "cross",
    "targeting": "star",
}
START, END = "<!-- results:start -->", "<!-- results:end -->"


def criterion_dir(arg):
    if arg:
        return Path(arg)
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return HERE / "target" / "criterion"


def median_ns(root, *parts):
    """The median of one benchmark in nanoseconds, or None if it did not run."""
    path = root.joinpath(*[str(p) for p in parts], "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None


def per_element(root, *parts):
    """The median per element of a benchmark with a throughput in elements."""
    ns = median_ns(root, *parts)
    if ns is None:
        return None
    path = root.joinpath(*[str(p) for p in parts], "new", "benchmark.json")
    with open(path) as f:
        throughput = json.load(f).get("throughput") or {}
    return ns / throughput.get("Elements", 1)


def sizes_of(root, group, engine):
    d = root / group / engine
    if not d.is_dir():
        return []
    return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit())


def fmt_time(ns):
    if ns is None:
        return "–"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            v = ns / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{ns:.3g} ns" if ns < 100 else f"{ns:.0f} ns"


def fmt_ratio(a, b):
    if a is None or b is None:
        return "–"
    r = b / a
    if r >= 100:
        return f"{r:,.0f}×"
    return f"{r:.3g}×"


def fmt_int(n):
    return f"{n:,}"


# ---------------------------------------------------------------------------------------------
# The SVG


def svg(root):
    width, height = 760, 500
    left, right, top, bottom = 80, 200, 40, 60
    pw, ph = width - left - right, height - top - bottom

    series = []
    for engine in ENGINES:
        for path in PATHS:
            group = f"evaluate_{path}"
            pts = [(n, median_ns(root, group, engine, n)) for n in sizes_of(root, group, engine)]
            pts = [(n, v) for n, v in pts if v]
            if pts:
                series.append((engine, path, pts))
    if not series:
        sys.exit(f"no evaluate results under {root}: run `cargo bench -p agen-policy-benches` first")

    xs = [n for _, _, pts in series for n, _ in pts]
    ys = [v for _, _, pts in series for _, v in pts] + [100.0]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    x1 = max(x1, x0 + 1)
    y1 = max(y1, y0 + 1)

    def px(n):
        return left + (math.log10(n) - x0) / (x1 - x0) * pw

    def py(ns):
        return top + (y1 - math.log10(ns)) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        "Evaluate latency (median) against policy count</text>",
    ]
    # Grid and axes.
    for e in range(x0, x1 + 1):
        x = px(10**e)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(
            f'<text x="{x:.1f}" y="{top + ph + 18}" text-anchor="middle">{fmt_int(10**e)}</text>'
        )
    for e in range(y0, y1 + 1):
        y = py(10**e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{fmt_time(10**e)}</text>'
        )
    out.append(
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>'
    )
    out.append(
        f'<text x="{left + pw / 2}" y="{height - 15}" text-anchor="middle">'
        "policies (log scale)</text>"
    )
    out.append(
        f'<text x="18" y="{top + ph / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + ph / 2})">time per request (log scale)</text>'
    )
    # The 100 ns target.
    y = py(100)
    out.append(
        f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#c00" '
        'stroke-dasharray="4,4"/>'
    )
    out.append(
        f'<text x="{left + pw - 6}" y="{y + 14:.1f}" text-anchor="end" fill="#c00">100 ns target</text>'
    )

    for engine, path, pts in series:
        color = ENGINES[engine][1]
        d = " ".join(f"{'M' if i == 0 else 'L'}{px(n):.1f},{py(v):.1f}" for i, (n, v) in enumerate(pts))
        dash = f' stroke-dasharray="{DASHES[path]}"' if DASHES[path] else ""
        out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"{dash}/>')
        for n, v in pts:
            out.append(marker(MARKERS[path], px(n), py(v), color))

    # Legend: engines by colour, paths by line and marker.
    lx, ly = left + pw + 20, top + 10
    out.append(f'<text x="{lx}" y="{ly}" font-weight="bold">engine</text>')
    for i, (engine, (label, color)) in enumerate(ENGINES.items()):
        yy = ly + 18 * (i + 1)
        out.append(f'<line x1="{lx}" y1="{yy - 4}" x2="{lx + 24}" y2="{yy - 4}" stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{lx + 30}" y="{yy}">{label}</text>')
    ly += 18 * (len(ENGINES) + 2)
    out.append(f'<text x="{lx}" y="{ly}" font-weight="bold">request path</text>')
    for i, path in enumerate(PATHS):
        yy = ly + 18 * (i + 1)
        dash = f' stroke-dasharray="{DASHES[path]}"' if DASHES[path] else ""
        out.append(f'<line x1="{lx}" y1="{yy - 4}" x2="{lx + 24}" y2="{yy - 4}" stroke="#555" stroke-width="1.6"{dash}/>')
        out.append(marker(MARKERS[path], lx + 12, yy - 4, "#555"))
        out.append(f'<text x="{lx + 30}" y="{yy}">{path}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def marker(kind, x, y, color):
    r = 3.5
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>'
    if kind == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{color}"/>'
    if kind == "diamond":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{color}"/>'
    if kind == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y + r:.1f} {x - r - 1:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" fill="{color}"/>'
    if kind == "cross":
        return (
            f'<path d="M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}'
            f'L{x + r:.1f},{y - r:.1f}" stroke="{color}" stroke-width="2"/>'
        )
    pts = []
    for i in range(10):
        a = math.pi / 2 + i * math.pi / 5
        rr = r + 1.5 if i % 2 == 0 else r / 2
        pts.append(f"{x + rr * math.cos(a):.1f},{y - rr * math.sin(a):.1f}")
    return f'<polygon points="{" ".join(pts)}" fill="{color}"/>'


# ---------------------------------------------------------------------------------------------
# The tables


def tables(root):
    sizes = sorted(set(sizes_of(root, "evaluate_allow", "agen")) | set(sizes_of(root, "load", "agen")))
    lines = []

    lines.append("**Evaluate**, median per request: agen-policy / cedar-policy (how many times faster)")
    lines.append("")
    lines.append("| path | " + " | ".join(f"{fmt_int(n)} policies" for n in sizes) + " |")
    lines.append("|---|" + "---|" * len(sizes))
    for path in PATHS + ["mix"]:
        cells = []
        for n in sizes:
            if path == "mix":
                a = per_element(root, "evaluate_mix", "agen", n)
                c = per_element(root, "evaluate_mix", "cedar", n)
            else:
                a = median_ns(root, f"evaluate_{path}", "agen", n)
                c = median_ns(root, f"evaluate_{path}", "cedar", n)
            cells.append(f"{fmt_time(a)} / {fmt_time(c)} ({fmt_ratio(a, c)})" if c else fmt_time(a))
        label = "mix of 64 (per request)" if path == "mix" else path
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")

    lines.append(
        "**Load + compile** from JSON text of the same policies (our document without its user "
        "directory), against Cedar's `PolicySet::from_str`; and our whole document, directory included"
    )
    lines.append("")
    lines.append("| policies | agen-policy | cedar-policy | ratio | agen-policy, whole document |")
    lines.append("|---|---|---|---|---|")
    for n in sizes:
        a, c = median_ns(root, "load", "agen", n), median_ns(root, "load", "cedar", n)
        w = median_ns(root, "load_document", "agen", n)
        lines.append(
            f"| {fmt_int(n)} | {fmt_time(a)} | {fmt_time(c)} | {fmt_ratio(a, c)} | {fmt_time(w) if w else ''} |"
        )
    d, e = median_ns(root, "load_directory", "agen"), median_ns(root, "load_directory", "cedar")
    if d:
        lines.append("")
        lines.append(
            "The whole document carries the directory (50 connectors × 20 tools, 10,000 users, 500 groups); "
            f"loading it alone, without a policy, takes {fmt_time(d)}. Cedar gets the same directory as "
            "entities, outside its policy text: `Entities::from_json_str` of them takes "
            f"{fmt_time(e)} ({fmt_ratio(d, e)})."
        )
    lines.append("")

    lines.append("**Explain** (engine only), median")
    lines.append("")
    lines.append("| path | " + " | ".join(f"{fmt_int(n)} policies" for n in sizes) + " |")
    lines.append("|---|" + "---|" * len(sizes))
    for path in ["allow", "targeting"]:
        cells = [fmt_time(median_ns(root, f"explain_{path}", "agen", n)) for n in sizes]
        lines.append(f"| {path} | " + " | ".join(cells) + " |")
    lines.append("")

    memory = root / "memory" / "results.json"
    if memory.exists():
        rows = json.loads(memory.read_text())
        lines.append("**Memory** retained by a loaded policy set (heap bytes asked of the allocator)")
        lines.append("")
        lines.append(
            "| policies | agen-policy total | per policy | per policy beyond the directory | "
            "of which the document model | regex conditions | cedar-policy total | per policy |"
        )
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in rows:
            n = r["policies"]
            lines.append(
                f"| {fmt_int(n)} | {fmt_int(r['agen_bytes'])} B | {r['agen_bytes'] / n:,.0f} B | "
                f"{(r['agen_bytes'] - r['directory_bytes']) / n:,.0f} B | "
                f"{(r['agen_model_bytes'] - r['directory_model_bytes']) / n:,.0f} B | "
                f"{fmt_int(r.get('regex_conditions', 0))} | "
                f"{fmt_int(r['cedar_bytes'])} B | {r['cedar_bytes'] / n:,.0f} B |"
            )
        lines.append("")

    lines.extend(targets(root, sizes, memory))
    return "\n".join(lines) + "\n"


def targets(root, sizes, memory):
    out = ["**Targets**", ""]

    def mark(ok):
        return "met" if ok else "**missed**"

    worst = {}
    for n in sizes:
        vals = [median_ns(root, f"evaluate_{p}", "agen", n) for p in PATHS]
        vals = [v for v in vals if v]
        if vals:
            worst[n] = max(vals)
    if worst:
        w = max(worst.values())
        out.append(f"- evaluate ≤ 100 ns at every size: slowest path {fmt_time(w)}: {mark(w <= 100)}")
    if 10 in sizes and 100_000 in sizes:
        ratios = []
        for p in PATHS:
            a, b = median_ns(root, f"evaluate_{p}", "agen", 10), median_ns(root, f"evaluate_{p}", "agen", 100_000)
            if a and b:
                ratios.append((b / a, p))
        if ratios:
            r, p = max(ratios)
            out.append(f"- evaluate within 1.5× from 10 to 100,000 policies: worst {r:.2f}× ({p}): {mark(r <= 1.5)}")
    for n, goal in ((10, 20), (1_000, 1_000)):
        rs = []
        for p in PATHS:
            a, c = median_ns(root, f"evaluate_{p}", "agen", n), median_ns(root, f"evaluate_{p}", "cedar", n)
            if a and c:
                rs.append((c / a, p))
        if rs:
            r, p = min(rs)
            out.append(f"- ≥ {goal:,}× faster than Cedar at {n:,} policies: least {r:,.0f}× ({p}): {mark(r >= goal)}")
    rs = []
    for n in sizes:
        a, c = median_ns(root, "load", "agen", n), median_ns(root, "load", "cedar", n)
        if a and c:
            rs.append((c / a, n))
    if rs:
        r, n = min(rs)
        out.append(f"- load + compile ≥ 10× faster than Cedar's parse: least {r:.3g}× (at {n:,}): {mark(r >= 10)}")
    if memory.exists():
        rows = json.loads(memory.read_text())
        big = max(rows, key=lambda r: r["policies"])
        per = big["agen_bytes"] / big["policies"]
        out.append(f"- ≤ 1 KiB per policy: {per:,.0f} B at {big['policies']:,} policies: {mark(per <= 1024)}")
    out.append("")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--criterion", help="criterion's output directory")
    ap.add_argument("--svg", default=str(HERE / "evaluate.svg"), help="where to write the plot")
    ap.add_argument("--readme", help="a README whose results section to replace")
    args = ap.parse_args()
    root = criterion_dir(args.criterion)

    Path(args.svg).write_text(svg(root))
    text = tables(root)
    sys.stdout.write(text)
    if args.readme:
        readme = Path(args.readme)
        body = readme.read_text()
        if START not in body or END not in body:
            sys.exit(f"{readme} has no {START} … {END} section")
        head, rest = body.split(START, 1)
        _, tail = rest.split(END, 1)
        readme.write_text(f"{head}{START}\n{text}{END}{tail}")


if __name__ == "__main__":
    main()
