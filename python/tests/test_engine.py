"""The engine API: handles, batch recording, timers, families, snapshots, exports, server,
errors. Every figure is checked against an oracle computed here."""
import array
import csv
import io
import json
import threading
import time
import urllib.request

import numpy as np
import pytest

import tachymeter
from conftest import assert_quantile, ns


def test_counter_totals_from_four_threads(engine):
    c = engine.counter("requests", help="Requests.")
    barrier = threading.Barrier(4)

    def work(n):
        barrier.wait()
        for _ in range(n):
            c.inc()
        c.inc(1000)

    threads = [threading.Thread(target=work, args=(10_000 + i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = tachymeter.snapshot(engine)
    assert snap.value("requests") == sum(10_000 + i for i in range(4)) + 4 * 1000


def test_counter_amounts(engine):
    c = engine.counter("items")
    c.inc(5)
    c.inc(2.0)  # a whole float is fine
    for bad in (-1, 0.5, float("nan"), "3"):
        with pytest.raises(ValueError, match="non-negative whole number"):
            c.inc(bad)
    assert tachymeter.snapshot(engine).value("items") == 7


def test_gauge(engine):
    g = engine.gauge("queue_depth", labels={"queue": "a"})
    g.set(10)
    g.inc(2.5)
    g.dec()
    g.set(float("nan"))  # rejected and counted, the value stays
    assert tachymeter.snapshot(engine).value("queue_depth", queue="a") == 11.5
    assert engine.stats()["rejected"] == 1


def test_histogram_statistics_against_exact_oracle(engine):
    h = engine.histogram("latency", unit="seconds")
    rng = np.random.default_rng(7)
    values = rng.lognormal(mean=-5, sigma=1.0, size=5000)
    for v in values:
        h.observe(float(v))
    stored = [ns(float(v)) for v in values]
    s = engine.histogram_stats("latency")
    assert s["count"] == len(values)
    assert s["min"] == min(stored) / 1e9
    assert s["max"] == max(stored) / 1e9
    assert s["mean"] == pytest.approx(sum(stored) / len(stored) / 1e9, rel=1e-12)
    assert s["sum"] == pytest.approx(sum(stored) / 1e9, rel=1e-12)
    for key, q in (("p50", 0.5), ("median", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)):
        assert_quantile(s[key], stored, q, s["error_bound"])
    exact_std = float(np.std(np.array(stored) / 1e9))
    assert abs(s["std"] - exact_std) <= s["error_bound"] * s["max"]


_VALUES = [0.001 * (i % 97 + 1) for i in range(1000)]
_STRIDED = np.array(_VALUES)[::2]  # a non-contiguous view


@pytest.mark.parametrize(
    "given,expected",
    [
        (list(_VALUES), _VALUES),
        (tuple(_VALUES), _VALUES),
        (array.array("d", _VALUES), _VALUES),
        (np.array(_VALUES, dtype=np.float64), _VALUES),
        (_STRIDED, list(_STRIDED)),
        (memoryview(array.array("d", _VALUES)), _VALUES),
        ((x for x in _VALUES), _VALUES),
    ],
    ids=["list", "tuple", "array_d", "numpy_f64", "numpy_strided", "memoryview", "generator"],
)
def test_observe_many_equals_observe(given, expected):
    a, b = tachymeter.Engine(background=False), tachymeter.Engine(background=False)
    ha, hb = a.histogram("x"), b.histogram("x")
    assert ha.observe_many(given) == len(expected)
    for v in expected:
        hb.observe(float(v))
    assert a.histogram_stats("x") == b.histogram_stats("x")
    assert a.histogram_stats("x")["count"] == len(expected)


def test_observe_many_float32_and_ints(engine):
    h = engine.histogram("sizes", unit="bytes")
    assert h.observe_many(np.array([1, 2, 3, 250], dtype=np.int64)) == 4
    assert h.observe_many(np.array([-1], dtype=np.int8)) == 1  # negative: rejected, counted
    assert h.observe_many(np.array([10.0, 20.0], dtype=np.float32)) == 2
    assert h.observe_many(array.array("H", [7, 65535])) == 2
    s = engine.histogram_stats("sizes")
    assert s["count"] == 8
    assert s["sum"] == 1 + 2 + 3 + 250 + 10 + 20 + 7 + 65535
    assert engine.stats()["rejected"] == 1


def test_observe_many_errors_record_nothing(engine):
    h = engine.histogram("x")
    with pytest.raises(TypeError, match="every value must be a number"):
        h.observe_many([0.1, "slow", 0.2])
    with pytest.raises(TypeError, match="list, a buffer or an iterable"):
        h.observe_many(42)
    with pytest.raises(TypeError, match="format"):
        h.observe_many(np.array([1 + 2j]))
    assert engine.histogram_stats("x")["count"] == 0


def test_timer_context_manager_and_decorator(engine):
    h = engine.histogram("step", unit="seconds")
    with h.time():
        time.sleep(0.02)

    @h.time()
    def work(x):
        time.sleep(0.01)
        return x * 2

    assert work(21) == 42
    assert work.__name__ == "work"
    s = engine.histogram_stats("step")
    assert s["count"] == 2
    assert s["min"] >= 0.01 and s["max"] >= 0.02
    with pytest.raises(tachymeter.ConfigError, match="time unit"):
        engine.histogram("payload", unit="bytes").time()


def test_families(engine):
    fam = engine.counter_family("http_requests", ["method", "code"], help="Requests.")
    fam.labels("GET", "200").inc()
    fam.labels(method="GET", code="200").inc(2)
    fam.labels("POST", 500).inc()
    hf = engine.histogram_family("http_latency", ["route"])
    hf.labels("/a").observe(0.25)
    gf = engine.gauge_family("temp", ["room"], unit="celsius")
    gf.labels("lab").set(21.5)
    snap = tachymeter.snapshot(engine)
    assert snap.value("http_requests", method="GET", code="200") == 3
    assert snap.value("http_requests", method="POST", code="500") == 1
    assert snap.value("http_latency", route="/a")["count"] == 1
    assert snap.value("temp", room="lab") == 21.5
    assert len(fam) == 2 and fam.labelnames == ["method", "code"]
    with pytest.raises(ValueError, match="expected 2 label values"):
        fam.labels("GET")
    with pytest.raises(ValueError, match="missing label"):
        fam.labels(method="GET", status="200")
    with pytest.raises(ValueError, match="not both"):
        fam.labels("GET", code="200")
    assert fam.remove("POST", "500") is True
    assert tachymeter.snapshot(engine).get("http_requests", method="POST", code="500") is None


def test_snapshot_dict_and_dataclass(engine):
    engine.counter("a_total_things").inc(3)
    d = engine.snapshot()
    assert d["sequence"] >= 1
    m = [x for x in d["metrics"] if x["name"] == "a_total_things"][0]
    assert m["kind"] == "counter" and m["counter"]["total"] == 3
    snap = tachymeter.Snapshot.from_dict(d)
    assert snap.get("a_total_things").kind == "counter"
    with pytest.raises(KeyError):
        snap.value("missing")


def test_exports(engine):
    engine.counter("jobs", help="Jobs done.").inc(4)
    h = engine.histogram("job_time", unit="seconds", buckets=[0.1, 1.0])
    for v in (0.05, 0.5, 2.0):
        h.observe(v)
    text = engine.export_prometheus()
    assert "# TYPE jobs_total counter\njobs_total 4\n" in text
    assert 'job_time_seconds_bucket{le="0.1"} 1\n' in text
    assert 'job_time_seconds_bucket{le="1.0"} 2\n' in text
    assert 'job_time_seconds_bucket{le="+Inf"} 3\n' in text
    assert "job_time_seconds_count 3\n" in text
    assert engine.export_prometheus(openmetrics=True).endswith("# EOF\n")
    doc = json.loads(engine.export_json())
    assert [m["counter"]["total"] for m in doc["metrics"] if m["name"] == "jobs"] == [4]
    rows = list(csv.DictReader(io.StringIO(engine.export_csv())))
    assert rows, "CSV has rows"
    assert any(r.get("name") == "jobs" for r in rows)


def test_metrics_server(engine):
    engine.counter("served").inc(7)
    engine.flush()
    with engine.start_server("127.0.0.1", 0) as server:
        assert server.running and server.port > 0
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
        assert "served_total 7\n" in body
    assert not server.running
    server.stop()  # idempotent
    with pytest.raises(tachymeter.ConfigError, match="invalid host"):
        engine.start_server("not a host", 0)


def test_registration_errors(engine):
    with pytest.raises(tachymeter.RegistrationError, match="invalid metric name"):
        engine.counter("9lives")
    with pytest.raises(tachymeter.RegistrationError, match="invalid unit"):
        engine.histogram("lat", unit="milli seconds")
    with pytest.raises(tachymeter.RegistrationError, match="invalid label name"):
        engine.counter_family("ops", ["bad-label"])
    engine.counter("used")
    with pytest.raises(tachymeter.RegistrationError, match="already registered as a counter"):
        engine.gauge("used")
    with pytest.raises(tachymeter.ConfigError, match="buckets must be finite"):
        engine.histogram("h", buckets=[float("inf")])
    with pytest.raises(tachymeter.ConfigError, match="cannot build the engine"):
        tachymeter.Engine(window=0)
    with pytest.raises(ValueError, match="interval"):
        tachymeter.Engine(interval=-1)
    with pytest.raises(TypeError):
        engine.histogram("ok").observe("fast")
    assert issubclass(tachymeter.RegistrationError, tachymeter.TachymeterError)


def test_hostile_inputs_do_not_crash(engine):
    big = "x" * 1_000_000
    with pytest.raises(tachymeter.RegistrationError) as e:
        engine.counter(big + " ")
    assert len(str(e.value)) < 1000  # the error clips the name
    h = engine.histogram("h2")
    h.observe(float("inf"))
    h.observe(-1.0)
    h.observe(1e300)
    assert h.observe_many(np.array([], dtype=np.float64)) == 0
    s = engine.histogram_stats("h2")
    assert s["count"] == 1  # 1e300 s is clamped to the largest storable value
    assert engine.stats()["rejected"] == 2


def test_units(engine):
    ms = engine.histogram("render_time", unit="milliseconds")
    ms.observe(12.5)  # 12.5 ms, stored as 12,500,000 ns
    s = engine.histogram_stats("render_time")
    assert (s["unit"], s["sum"], s["min"]) == ("milliseconds", 12.5, 12.5)
    # Exporters present time in seconds.
    assert "render_time_seconds_sum 0.0125\n" in engine.export_prometheus()
    ratio = engine.histogram("hit_ratio", unit="ratio")
    ratio.observe(0.1234567)  # stored in millionths
    assert engine.histogram_stats("hit_ratio")["sum"] == 0.123457
    b = engine.histogram("payload", unit="bytes")
    b.observe(1500.4)  # stored as whole bytes
    assert engine.histogram_stats("payload")["sum"] == 1500


def test_default_engine_helpers():
    a = tachymeter.default_engine()
    assert a is tachymeter.default_engine()
    c = tachymeter.counter("helper_requests")
    c.inc(3)
    tachymeter.gauge("helper_level").set(2.0)
    tachymeter.histogram("helper_latency").observe(0.5)
    snap = tachymeter.snapshot()
    assert snap.value("helper_requests") == 3
    assert snap.value("helper_level") == 2.0
    assert snap.value("helper_latency")["count"] == 1
    server = tachymeter.start_http_server(0)
    try:
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
        assert "helper_requests_total 3\n" in body
    finally:
        server.stop()


def _side_thread_progress_during(call, attempts=20):
    """Whether a second Python thread ran during ``call()``. The switch interval is set to
    10 s, so the calling thread gives the GIL up only if ``call`` releases it: a
    GIL-holding ``call`` never lets the side thread move (deterministic failure), a releasing
    one lets it run (retried ``attempts`` times in case it was not scheduled in time)."""
    import sys

    count = [0]
    stop = threading.Event()

    def side():
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)  # releases the GIL, so the caller can take it back

    old = sys.getswitchinterval()
    t = threading.Thread(target=side)
    t.start()
    sys.setswitchinterval(10.0)
    try:
        for _ in range(attempts):
            before = count[0]
            call()
            if count[0] != before:
                return True
        return False
    finally:
        sys.setswitchinterval(old)
        stop.set()
        t.join()


def test_observe_many_releases_the_gil(engine):
    h = engine.histogram("gil_batch")
    values = np.random.default_rng(3).random(2_000_000)
    assert _side_thread_progress_during(lambda: h.observe_many(values))


def test_flush_and_export_release_the_gil(engine):
    fam = engine.histogram_family("gil_export", ["k"])
    for i in range(200):
        fam.labels(str(i)).observe(0.001 * i)
    assert _side_thread_progress_during(lambda: engine.export_json())


def test_blocking_waits_release_the_gil(engine):
    """``next_event`` waits with the GIL released: the event it returns is produced by a
    thread that needs the GIL to run (a held GIL would time out after 30 s instead)."""
    am = tachymeter._native.AlertManager(engine)
    g = engine.gauge("gil_queue")
    am.add_rule("GilQueueDeep", "gauge", "gil_queue", above=1, cooldown=0)

    def produce():
        g.set(5)
        am.evaluate(flush=True)

    t = threading.Timer(0.05, produce)
    t.start()
    e = am.next_event(30.0)
    t.join()
    assert e is not None and e["alert"] == "GilQueueDeep"
