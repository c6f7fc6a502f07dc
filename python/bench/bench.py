"""Recording speed from Python: tachymeter against prometheus_client, in one run.

Per call: ``Counter.inc()`` and ``Histogram.observe(v)`` in a plain ``for`` loop (the loop's
own cost included, as a Python caller pays it), from 1 thread and from 4 threads (figures
for 4 threads are wall time over all calls: the GIL serialises Python bytecode, so threads
add no throughput to either library; they show what contention costs). Batch: values per
second of ``Histogram.observe_many`` on a NumPy float64 array (prometheus_client has no
batch call: its figure is the per-call loop). Each figure is the median of ``--runs`` runs, the two libraries alternating run by run; the
ratio is the median of the per-run ratios.

    python bench.py [--quick] [--runs N]
"""
import argparse
import statistics
import sys
import threading
import time

import numpy as np
import prometheus_client as pc

import tachymeter


def timed_threads(nthreads, n, make_loop):
    """ns per call: wall time of ``nthreads`` threads each calling ``n`` times, from the
    first thread's start to the last one's end (taken inside the threads: the main thread
    would wait up to a GIL switch interval, 5 ms, to read a clock)."""
    loops = [make_loop() for _ in range(nthreads)]
    barrier = threading.Barrier(nthreads)
    starts, ends = [], []

    def run(loop):
        barrier.wait()
        starts.append(time.perf_counter_ns())
        loop(n)
        ends.append(time.perf_counter_ns())

    threads = [threading.Thread(target=run, args=(l,)) for l in loops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (max(ends) - min(starts)) / (n * nthreads)


def median_of(runs, f):
    return statistics.median(f() for _ in range(runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer calls (CI)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    n = 400_000 if args.quick else 2_000_000
    batch_n = 1_000_000 if args.quick else 10_000_000

    engine = tachymeter.Engine()
    t_counter = engine.counter("bench_requests")
    t_hist = engine.histogram("bench_latency", unit="seconds")
    reg = pc.CollectorRegistry()
    p_counter = pc.Counter("bench_requests", "Requests.", registry=reg)
    p_hist = pc.Histogram("bench_latency_seconds", "Latency.", registry=reg)

    def counter_loop(c):
        def make():
            inc = c.inc

            def loop(k):
                for _ in range(k):
                    inc()

            return loop

        return make

    def hist_loop(h):
        def make():
            observe = h.observe

            def loop(k):
                for _ in range(k):
                    observe(0.0123)

            return loop

        return make

    def empty_loop():
        def loop(k):
            for _ in range(k):
                pass

        return loop

    rows = []
    for label, t_make, p_make in (
        ("Counter.inc()", counter_loop(t_counter), counter_loop(p_counter)),
        ("Histogram.observe(v)", hist_loop(t_hist), hist_loop(p_hist)),
    ):
        for threads in (1, 4):
            per = n // threads
            # Warm up (slot claims, caches), then alternate the libraries run by run so that
            # a change of load on the shared machine hits both.
            timed_threads(threads, per // 10, t_make)
            timed_threads(threads, per // 10, p_make)
            ts, ps = [], []
            for _ in range(args.runs):
                ts.append(timed_threads(threads, per, t_make))
                ps.append(timed_threads(threads, per, p_make))
            ratio = statistics.median(p / t for t, p in zip(ts, ps))
            rows.append((f"{label}, {threads} thread{'s' if threads > 1 else ''}",
                         statistics.median(ts), statistics.median(ps), ratio))
    loop_ns = median_of(args.runs, lambda: timed_threads(1, n, empty_loop))

    values = np.random.default_rng(1).lognormal(-5, 1, batch_n)

    def batch_rate():
        t0 = time.perf_counter_ns()
        t_hist.observe_many(values)
        return batch_n / ((time.perf_counter_ns() - t0) / 1e9)

    batch = median_of(args.runs, batch_rate)
    p_batch = 1e9 / rows[2][2]  # prometheus_client: its per-call loop, 1 thread

    from importlib.metadata import version

    print(f"tachymeter vs prometheus_client {version('prometheus_client')}"
          f" (Python {sys.version.split()[0]}; median of {args.runs} runs; {n:,} calls per run)")
    print(f"{'':32} {'tachymeter':>12} {'prometheus':>12} {'ratio':>7}")
    for name, t, p, ratio in rows:
        print(f"{name:32} {t:9.1f} ns {p:9.1f} ns {ratio:6.1f}x")
    print(f"{'empty for-loop, per iteration':32} {loop_ns:9.1f} ns")
    print(f"{'batch observe_many (float64)':32} {batch / 1e6:7.1f} M/s {p_batch / 1e6:8.1f} M/s {batch / p_batch:6.0f}x")
    ok_ratio = all(r >= 3 for _, _t, _p, r in rows)
    print(f"targets: >=3x per call: {'met' if ok_ratio else 'NOT met'}; "
          f"<=100 ns per Counter.inc: {'met' if rows[0][1] <= 100 else 'NOT met'}; "
          f">=50 M values/s batch: {'met' if batch >= 50e6 else 'NOT met'}")


if __name__ == "__main__":
    main()
