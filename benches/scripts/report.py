#!/usr/bin/env python3
"""Turns one run of the `compare` bench into benches/RESULTS.md (stdlib only).

Reads every target/criterion/**/new/{benchmark,estimates}.json written after --since (so stale
results of earlier runs are ignored), plus the `memory` binary's markdown table, and writes the
overhead tables, the machine description and the target verdicts. Never edit RESULTS.md by
hand: rerun scripts/compare.sh.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from collections import OrderedDict

PEERS = [
    "tachymeter", "metrics", "metrics-exporter-prometheus", "prometheus", "prometheus-client",
    "opentelemetry", "opentelemetry_sdk", "hdrhistogram", "crossbeam-utils", "criterion", "quanta",
]

# Per group kind: the floor each row is compared with, and the tachymeter row ratios refer to.
FLOOR = {"counter": "floor/padded-store", "histogram": "floor/log-bucket-array",
         "timer": "floor/2x-engine-clock", "read/writer": None, "read/reader": None}
OURS = {"counter": "tachymeter/handle", "histogram": "tachymeter/handle", "timer": "tachymeter/handle",
        "read/writer": "tachymeter/alone", "read/reader": "tachymeter/snapshot+p99+count"}
# Peers that record into one metric shared by all threads (the "≥ 10× at 2 threads" target).
NOT_SHARED = ("floor/", "tachymeter/", "hdrhistogram/", "prometheus/local")
GROUP_ORDER = ["counter/1t", "counter/2t", "histogram/1t", "histogram/2t", "timer/1t", "timer/2t",
               "read/reader", "read/writer", "flush/counters", "flush/histograms", "flush/activity"]


def load(criterion, since):
    groups = {}
    for dirpath, _dirs, files in os.walk(criterion):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        est = os.path.join(dirpath, "estimates.json")
        if os.path.getmtime(est) < since:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            meta = json.load(f)
        with open(est) as f:
            median = json.load(f)["median"]["point_estimate"]
        fid = meta["function_id"] + ("/" + meta["value_str"] if meta.get("value_str") else "")
        thr = (meta.get("throughput") or {}).get("Elements", 1)
        groups.setdefault(meta["group_id"], {})[fid] = (median, thr)
    return groups


def load_stats(path):
    """`group/function <tab> overlap <tab> on-CPU share <tab> CPU ns/op` lines (medians) written
    by the bench's worker pools (TACHYMETER_BENCH_STATS); returns {key: (overlap, on_cpu,
    cpu_ns_per_op)}."""
    out = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4:
                    out[parts[0]] = (float(parts[1]), float(parts[2]), float(parts[3]))
    return out


def kind(group):
    if group.startswith("read/"):
        return group
    return group.split("/")[0]


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.2f} ns"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def sort_key(fid):
    order = 0 if fid.startswith("tachymeter") else 2 if fid.startswith("floor") else 1
    return (order, fid)


def table(group, rows, stats):
    k = kind(group)
    out = []
    if group == "flush/activity":
        # 16 threads × 1,000 histograms: a few active (target ≤ 1 ms) or all changed (≤ 1% of
        # a core at a 1 s interval).
        out.append("| case | median per `flush()` | share of a core at a 1 s interval |")
        out.append("|---|---:|---:|")
        for fid in sorted(rows):
            ns, _ = rows[fid]
            out.append(f"| {fid} | {fmt_ns(ns)} | {ns / 1e7:.2f}% |")
        return out
    if group.startswith("flush/"):
        out.append("| shards × metrics | median per `flush()` | per shard·metric |")
        out.append("|---|---:|---:|")

        def dims(fid):
            s, m = fid.split("/")[-1].split("x")
            return int(s), int(m)

        for fid in sorted(rows, key=dims):
            ns, _ = rows[fid]
            s, m = dims(fid)
            out.append(f"| {s} × {m} | {fmt_ns(ns)} | {ns / (s * m):.1f} ns |")
        return out
    ours = rows.get(OURS.get(k, ""), (None,))[0]
    floor_id = FLOOR.get(k)
    floor = rows.get(floor_id, (None,))[0] if floor_id else None
    head = "| case | median ns/op (per thread) | aggregate Mops/s | ÷ tachymeter |"
    sep = "|---|---:|---:|---:|"
    if floor:
        head += f" ÷ `{floor_id}` |"
        sep += "---:|"
    with_cpu = any(f"{group}/{fid}" in stats for fid in rows)
    with_overlap = with_cpu and group.endswith("2t")
    if with_cpu:
        head += " CPU ns/op (slowest thread) |"
        sep += "---:|"
    if with_overlap:
        head += " regions overlapped | min on-CPU share |"
        sep += "---:|---:|"
    out += [head, sep]
    for fid in sorted(rows, key=sort_key):
        ns, thr = rows[fid]
        line = f"| `{fid}` | {fmt_ns(ns)} | {thr * 1e3 / ns:.1f} | {ratio(ns, ours)} |"
        if floor:
            line += f" {ratio(ns, floor)} |"
        st = stats.get(f"{group}/{fid}")
        if with_cpu:
            line += f" {st[2]:.2f} |" if st and st[2] == st[2] else " – |"
        if with_overlap:
            line += f" {st[0] * 100:.0f} % | {st[1] * 100:.0f} % |" if st else " – | – |"
        out.append(line)
    return out


def get(groups, group, fid):
    return groups.get(group, {}).get(fid, (None, 1))[0]


def verdicts(groups, memory_rows, stats):
    v = []

    def ov(group, fid):
        st = stats.get(f"{group}/{fid}")
        return f"; regions overlapped {st[0] * 100:.0f} %, min on-CPU {st[1] * 100:.0f} %" if st else ""

    def cpu(group, fid):
        st = stats.get(f"{group}/{fid}")
        return st[2] if st and st[2] == st[2] else None

    def check(name, value, limit, shown, ok=None):
        if value is None:
            v.append(f"| {name} | not measured in this run | {limit} | – |")
            return
        met = ok if ok is not None else value <= float(re.sub(r"[^0-9.]", "", limit))
        v.append(f"| {name} | {shown} | {limit} | {'met' if met else '**missed**'} |")

    h1 = get(groups, "counter/1t", "tachymeter/handle")
    l1 = get(groups, "counter/1t", "tachymeter/local")
    check("counter increment, handle, 1 thread", h1, "≤ 1.2 ns", h1 and fmt_ns(h1))
    check("counter increment, LocalRecorder, 1 thread", l1, "≤ 0.7 ns", l1 and fmt_ns(l1))
    for fid in ("tachymeter/handle", "tachymeter/local"):
        a, b = get(groups, "counter/1t", fid), get(groups, "counter/2t", fid)
        r = b / a if a and b else None
        check(f"counter `{fid}` per-thread cost at 2 threads vs 1", r, "≤ 1.1×",
              r and f"{r:.2f}× ({fmt_ns(b)} vs {fmt_ns(a)}{ov('counter/2t', fid)})")
        a, b = cpu("counter/1t", fid), cpu("counter/2t", fid)
        r = b / a if a and b else None
        check(f"same, by thread CPU time", r, "≤ 1.1×", r and f"{r:.2f}× ({b:.2f} ns vs {a:.2f} ns)")
    for g in ("histogram/1t", "histogram/2t"):
        for fid in ("tachymeter/handle", "tachymeter/local"):
            x = get(groups, g, fid)
            c = cpu(g, fid)
            check(f"histogram record `{fid}`, {g[-2:]}", x, "≤ 1.5 ns",
                  x and fmt_ns(x) + (f" (CPU {c:.2f} ns)" if c else ""))
    t = get(groups, "timer/1t", "tachymeter/handle")
    c = get(groups, "timer/1t", "floor/2x-engine-clock")
    if t and c:
        check("timed scope (handle) − 2 engine-clock reads, 1 thread", t - c, "≤ 3 ns",
              f"{fmt_ns(t)} − {fmt_ns(c)} = {t - c:.2f} ns")
    else:
        check("timed scope − 2 clock reads", None, "≤ 3 ns", None)
    r = get(groups, "read/reader", "tachymeter/snapshot+p99+count")
    check("snapshot load + p99 + count (writer running)", r, "≤ 50 ns", r and fmt_ns(r))
    a, b = get(groups, "read/writer", "tachymeter/alone"), get(groups, "read/writer", "tachymeter/with-reader")
    slow = (b / a - 1) * 100 if a and b else None
    check("writer slowdown while a reader polls", slow, "≤ 2 %",
          slow is not None and f"{slow:+.1f} % ({fmt_ns(b)} vs {fmt_ns(a)})")
    a, b = cpu("read/writer", "tachymeter/alone"), cpu("read/writer", "tachymeter/with-reader")
    slow = (b / a - 1) * 100 if a and b else None
    check("same, by the writer's CPU time", slow, "≤ 2 %",
          slow is not None and f"{slow:+.1f} % ({b:.2f} ns vs {a:.2f} ns)")
    for g in ("counter/2t", "histogram/2t"):
        rows = groups.get(g, {})
        ours = get(groups, g, "tachymeter/handle")
        peers = {f: ns for f, (ns, _) in rows.items() if not f.startswith(NOT_SHARED)}
        if ours and peers:
            worst = min(peers, key=peers.get)
            x = peers[worst] / ours
            check(f"≥ 10× faster than every shared-metric peer, {g}", x, "≥ 10×",
                  f"{x:.1f}× (closest: `{worst}` {fmt_ns(peers[worst])} vs {fmt_ns(ours)}{ov(g, worst)})",
                  ok=x >= 10)
            cpus = {f: cpu(g, f) for f in peers if cpu(g, f)}
            ours_cpu = cpu(g, "tachymeter/handle")
            if cpus and ours_cpu:
                worst = min(cpus, key=cpus.get)
                x = cpus[worst] / ours_cpu
                check("same, by thread CPU time", x, "≥ 10×",
                      f"{x:.1f}× (closest: `{worst}` {cpus[worst]:.2f} ns vs {ours_cpu:.2f} ns)", ok=x >= 10)
        else:
            check(f"≥ 10× faster than every shared-metric peer, {g}", None, "≥ 10×", None)
    # Performance II (issue 13) and Bridges (issue 14): ratios within this run.
    def ratio_row(name, num, den, limit, at_most=True):
        r = num / den if num and den else None
        bound = float(re.sub(r"[^0-9.]", "", limit))
        check(name, r, limit, r and f"{r:.2f}× ({fmt_ns(num)} vs {fmt_ns(den)})",
              ok=None if r is None else (r <= bound if at_most else r >= bound))

    floor_h = get(groups, "histogram/1t", "floor/log-bucket-array")
    ratio_row("histogram `tachymeter/local` ÷ `floor/log-bucket-array`, 1t",
              get(groups, "histogram/1t", "tachymeter/local"), floor_h, "≤ 1.5×")
    ratio_row("histogram `tachymeter/handle` ÷ `floor/log-bucket-array`, 1t",
              get(groups, "histogram/1t", "tachymeter/handle"), floor_h, "≤ 2×")
    for fid in ("tachymeter/handle", "tachymeter/local"):
        ratio_row(f"`hdrhistogram/sync-recorder` ÷ histogram `{fid}`, 1t",
                  get(groups, "histogram/1t", "hdrhistogram/sync-recorder"),
                  get(groups, "histogram/1t", fid), "≥ 1.5×", at_most=False)
        ratio_row(f"histogram `{fid}` per-thread cost at 2 threads vs 1",
                  get(groups, "histogram/2t", fid), get(groups, "histogram/1t", fid), "≤ 1.1×")
    ratio_row("counter `tachymeter/handle` ÷ `floor/padded-store`, 1t",
              get(groups, "counter/1t", "tachymeter/handle"),
              get(groups, "counter/1t", "floor/padded-store"), "≤ 2×")
    t, c, h = (get(groups, "timer/1t", "tachymeter/handle"),
               get(groups, "timer/1t", "floor/2x-engine-clock"),
               get(groups, "histogram/1t", "tachymeter/handle"))
    if t and c and h:
        check("timed scope ≤ 2 engine-clock reads + 1.5 × a histogram record, 1t", t,
              f"≤ {fmt_ns(c + 1.5 * h)}", f"{fmt_ns(t)} (2 reads {fmt_ns(c)}, record {fmt_ns(h)})",
              ok=t <= c + 1.5 * h)
    for g in ("labelled/1t", "labelled/2t"):
        x = get(groups, g, "tachymeter/family")
        check(f"family lookup + record, 2 labels, {g[-2:]}", x, "≤ 15 ns", x and fmt_ns(x))
    for g in ("counter/1t", "counter/2t"):
        ratio_row(f"`metrics-bridge/handle` ÷ `tachymeter/handle`, {g}",
                  get(groups, g, "metrics-bridge/handle"), get(groups, g, "tachymeter/handle"), "≤ 2×")
    for g in ("counter/1t", "counter/2t", "labelled/1t", "labelled/2t"):
        ratio_row(f"`metrics/macro` (exporter) ÷ `metrics-bridge/macro`, {g}",
                  get(groups, g, "metrics/macro"), get(groups, g, "metrics-bridge/macro"), "≥ 5×",
                  at_most=False)
    x = get(groups, "flush/activity", "idle/16x1000-10active")
    check("flush, 16 threads × 1,000 histograms of which 10 active", x, "≤ 1 ms",
          x and fmt_ns(x), ok=x is not None and x <= 1e6)
    x = get(groups, "flush/activity", "steady/16x1000")
    check("aggregator, all 16,000 histogram shards changed, at a 1 s interval", x,
          "≤ 1% of a core", x and f"{x / 1e7:.2f}% ({fmt_ns(x)} per flush)",
          ok=x is not None and x <= 1e7)
    zero = [(case, allocs) for case, allocs in memory_rows if case.startswith("tachymeter")]
    if zero:
        worst = max(a for _, a in zero)
        check("allocations per 1,000,000 records (tachymeter rows of the memory table)", worst, "0",
              f"{worst} (max over {len(zero)} paths)", ok=worst == 0)
    return v


def memory_rows(text):
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[4].isdigit():
            rows.append((cells[0], int(cells[4])))
    return rows


def lock_versions(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    found = {}
    for m in re.finditer(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text):
        if m.group(1) in PEERS:
            found.setdefault(m.group(1), []).append(m.group(2))
    return found


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            models = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        return f"{models[0]} × {len(models)} logical CPUs" if models else platform.processor()
    except OSError:
        return platform.processor() or "unknown"


def git_commit():
    """`git rev-parse --short HEAD` of the repository holding this script, `-dirty` when tracked
    files have uncommitted changes (as `git describe --dirty`)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD") or "no-commit"
    if sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    return commit


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--criterion", required=True)
    ap.add_argument("--since", type=float, default=0.0, help="ignore results older than this epoch time")
    ap.add_argument("--memory", help="markdown output of the memory binary")
    ap.add_argument("--lock", default="Cargo.lock")
    ap.add_argument("--settings", default="")
    ap.add_argument("--stats", help="overlap/CPU-time log written by the bench (TACHYMETER_BENCH_STATS)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", help="the commit measured, e.g. `abc1234` or `abc1234-dirty` "
                    "(default: the working tree's, as compare.sh computes it)")
    ap.add_argument("--date", help="when the run started (default: now, UTC)")
    args = ap.parse_args()

    groups = load(args.criterion, args.since)
    stats = load_stats(args.stats)
    if not groups:
        sys.exit(f"report.py: no criterion results newer than the run's start under {args.criterion}")
    mem = ""
    if args.memory:
        with open(args.memory) as f:
            mem = f.read()

    commit = args.commit or git_commit()
    date = args.date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    o = ["# tachymeter overhead: one run of `benches/scripts/compare.sh`", "",
         "Generated by `benches/scripts/report.py`; do not edit by hand. Medians of criterion samples "
         "(`new/estimates.json`), all rows of a table measured in the same run. Multi-threaded rows: "
         "per-thread ns/op = slowest thread's time ÷ its ops while all threads record into the same "
         "metric; aggregate Mops/s = threads ÷ that. Pool-run rows also give the slowest thread's "
         "CPU time per op (`CLOCK_THREAD_CPUTIME_ID`: excludes time spent preempted by other "
         "processes, keeps contention stalls) and, at 2 threads, how concurrent the run really "
         "was: \"regions overlapped\" is the share of the slowest thread's time during which both "
         "threads were inside their timed loops, \"min on-CPU share\" the smaller of the two "
         "threads' CPU time ÷ wall time (near 100 % both: the threads really ran at the same time; "
         "near 50 %: the OS time-sliced them on one core, wall time doubles and contention is "
         "under-measured). The machine is shared and noisy: read ratios, not absolute values. "
         "The tiers, peers, floors and scenarios, and how to read these tables: "
         "[README.md](README.md).", "",
         "## Machine", "",
         f"- CPU: {cpu_model()}",
         f"- rustc: {sh('rustc', '-V')}",
         f"- git commit: {commit}",
         f"- date: {date}",
         f"- criterion settings: {args.settings or 'defaults'}",
         "- crates (Cargo.lock): " + ", ".join(f"{k} {'/'.join(v)}" for k, v in sorted(lock_versions(args.lock).items())),
         "", "## Targets", "", "| target | measured | limit | verdict |", "|---|---|---|---|"]
    o += verdicts(groups, memory_rows(mem), stats)
    for g in sorted(groups, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g)):
        floor_id = FLOOR.get(kind(g))
        o += ["", f"## `{g}`" + (f" (floor: `{floor_id}`)" if floor_id else ""), ""]
        o += table(g, groups[g], stats)
    if mem:
        o += ["", "## Memory per metric per thread, allocations on the hot path (`memory` binary)", "", mem.strip()]
    with open(args.out, "w") as f:
        f.write("\n".join(o) + "\n")
    print(f"report.py: wrote {args.out} ({sum(len(r) for r in groups.values())} results in {len(groups)} groups)")


if __name__ == "__main__":
    main()
