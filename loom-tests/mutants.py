#!/usr/bin/env python3
"""Shows that each loom model can fail: applies one deliberate protocol break (a mutant) to a
copy of the workspace and runs the model that must catch it. Exit 0 only if every mutant is
caught (its model fails) and the unmutated models pass.

usage: loom-tests/mutants.py [MUTANT ...]     (default: all)
Budget: ~1 min per mutant on 2 cores (each one rebuilds the engine under --cfg loom).
"""
import os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (file, old text, new text, model that must fail)
MUTANTS = {
    "reset-delta": (
        "crates/tachymeter/src/aggregator.rs",
        """            let total = core
                .shards
                .iter()
                .fold(0u128, |acc, (_, s)| acc.saturating_add(s.total.read()));
            let delta = total.saturating_sub(*prev);""",
        """            let delta = core.shards.iter().fold(0u128, |acc, (_, s)| acc + s.total.take());
            let total = *prev + delta;""",
        "counter_deltas_add_up_exactly",
    ),
    "relaxed-slot-handoff": (
        "crates/tachymeter/src/slots.rs",
        "t.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)",
        "t.compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)",
        "slot_reuse_keeps_totals",
        # second edit, applied too:
    ),
    "ring-no-reserve-check": (
        "crates/tachymeter/src/ring.rs",
        "let valid_from = from.max(reserved.saturating_sub(cap)).min(head);",
        "let valid_from = from.max(reserved.saturating_sub(u64::MAX)).min(head);",
        "ring_push_vs_drain",
    ),
    "publish-outside-lock": (
        "crates/tachymeter/src/engine.rs",
        "        let previous = self.cell.swap(snap.clone());\n        agg.set_spare(previous);",
        "        drop(agg);\n        let previous = self.cell.swap(snap.clone());\n        lock(&self.agg).set_spare(previous);",
        "publication_is_ordered_and_complete",
    ),
    "relaxed-bucket": (
        "crates/tachymeter/src/aggregator.rs",
        "*d += b.load(Ordering::Acquire);",
        "*d += b.load(Ordering::Relaxed);",
        "writer_aggregator_reader",
    ),
    "gauge-no-seqlock": (
        "crates/tachymeter/src/shard.rs",
        "            if s1 == s2 {",
        "            if s1 == s2 || s1 != s2 {",
        "gauge_set_is_never_torn",
    ),
    "wide-no-seqlock": (
        "crates/tachymeter/src/shard.rs",
        "            if (w1 == w2 && w1 & 1 == 0) || attempt >= 100_000 {",
        "            if w1 == w1 || attempt >= 100_000 {",
        "wide_total_wrap_is_never_torn",
    ),
}
# Mutants that need a second edit to break the protocol completely.
EXTRA = {
    "reset-delta": (
        "crates/tachymeter/src/shard.rs",
        "impl WideTotal {\n",
        "impl WideTotal {\n    pub(crate) fn take(&self) -> u128 {\n        let v = self.read();\n"
        "        self.low.store(0, Ordering::Relaxed);\n        self.wraps.store(0, Ordering::Relaxed);\n"
        "        v\n    }\n",
    ),
    "relaxed-slot-handoff": (
        "crates/tachymeter/src/slots.rs",
        "self.taken[slot.index as usize].store(false, Ordering::Release);",
        "self.taken[slot.index as usize].store(false, Ordering::Relaxed);",
    ),
    "relaxed-bucket": (
        "crates/tachymeter/src/shard.rs",
        "b.store(b.load(Ordering::Relaxed) + 1, Ordering::Release);",
        "b.store(b.load(Ordering::Relaxed) + 1, Ordering::Relaxed);",
    ),
    "gauge-no-seqlock": (
        "crates/tachymeter/src/shard.rs",
        "            if s1 & 1 == 1 {",
        "            if s1 & 1 == 2 {",
    ),
}


def edit(tree, f, old, new):
    p = os.path.join(tree, f)
    s = open(p).read()
    if old not in s:
        sys.exit(f"mutant is stale: {f} no longer contains:\n{old}")
    open(p, "w").write(s.replace(old, new, 1))


def main():
    names = sys.argv[1:] or list(MUTANTS)
    target = os.path.join(ROOT, "target", "loom-mutants")
    failed = []
    for name in names:
        f, old, new, model = MUTANTS[name]
        with tempfile.TemporaryDirectory() as tmp:
            tree = os.path.join(tmp, "ws")
            os.mkdir(tree)
            for item in ["Cargo.toml", "Cargo.lock", "crates", "loom-tests"]:
                src = os.path.join(ROOT, item)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(tree, item), ignore=shutil.ignore_patterns("target"))
                elif os.path.exists(src):
                    shutil.copy(src, tree)
            # Keep only the crates the models need in the copied workspace.
            ws = open(os.path.join(tree, "Cargo.toml")).read()
            import re
            ws = re.sub(r"members = \[.*?\]", 'members = ["crates/tachymeter-histogram", "crates/tachymeter", "loom-tests"]', ws, flags=re.S)
            open(os.path.join(tree, "Cargo.toml"), "w").write(ws)
            edit(tree, f, old, new)
            if name in EXTRA:
                edit(tree, *EXTRA[name])
            env = dict(os.environ, LOOM_TARGET_DIR=target)
            r = subprocess.run(["bash", "loom-tests/run.sh", model, "--exact"], cwd=tree, env=env,
                               capture_output=True, text=True)
            out = r.stdout + r.stderr
            ran = "1 passed" in out or "1 failed" in out
            caught = r.returncode != 0 and ("1 failed" in out)
            why = next((l.strip() for l in out.splitlines() if "panicked" in l or "assertion" in l), "")
            print(f"mutant {name:24} model {model:38} {'CAUGHT' if caught else 'NOT CAUGHT'}  {why[:120]}")
            if not ran:
                print(out[-3000:])
            if not caught:
                failed.append(name)
    print(f"mutants: {len(names) - len(failed)} caught, {len(failed)} not caught {failed or ''}")
    sys.exit(1 if failed else 0)


main()
