"""The seeds' usage examples (shared/seeds 002, 000, 004, 001), adapted only where they sleep
(shorter sleeps, fewer iterations) and given private engines; every printed figure is
asserted against an oracle computed from the values the example recorded."""
import json
import math
import random
import threading
import time

import numpy as np
import pytest

import tachymeter
from conftest import assert_quantile, nearest_rank, ns
from tachymeter import monitoring as mon
from tachymeter.performance_metrics import (
    CustomMetrics,
    PerformanceAlerting,
    PerformanceAnalyzer,
    PerformanceMetrics,
    PerformanceProfiler,
    PrometheusExporter,
)
from tachymeter.performance_monitoring_system import PerformanceMetricType, PerformanceTracker
from tachymeter.serialization import MetricType, PerformanceMonitor

BOUND = 0.0055  # the default histogram's quantile bound (schema 6)


# --- seed 002: Basic Performance Tracking -------------------------------------------------
def test_seed_basic_performance_tracking():
    engine = tachymeter.Engine(interval=0.05)
    metrics = PerformanceMetrics(window_size=1000, enable_detailed_stats=True, track_percentiles=True, engine=engine)
    np.random.seed(1)
    inference_times, errors, hits, misses = [], 0, 0, 0

    def simulate_inference_workload():
        nonlocal errors, hits, misses
        for i in range(100):
            preprocessing_start = time.time()
            time.sleep(0.0001)
            preprocessing_time = time.time() - preprocessing_start
            inference_start = time.time()
            batch_size = np.random.randint(1, 64)
            time.sleep(0.001 * batch_size / 32)
            inference_time = time.time() - inference_start
            quantization_time = 0.0
            if np.random.random() > 0.5:
                quantization_start = time.time()
                time.sleep(0.00005)
                quantization_time = time.time() - quantization_start
            metrics.update_inference(
                inference_time=inference_time,
                batch_size=batch_size,
                preprocessing_time=preprocessing_time,
                quantization_time=quantization_time,
            )
            inference_times.append(inference_time)
            if np.random.random() < 0.01:
                metrics.record_error()
                errors += 1
            if np.random.random() > 0.2:
                metrics.record_cache_hit()
                hits += 1
            else:
                metrics.record_cache_miss()
                misses += 1

    simulate_inference_workload()
    stats = metrics.get_statistics()
    stored = [ns(v) for v in inference_times]
    assert stats["total_requests"] == 100
    assert stats["avg_inference_time"] == pytest.approx(sum(stored) / 100 / 1e9, rel=1e-12)
    assert_quantile(stats["median_inference_time"], stored, 0.5, BOUND)
    assert_quantile(stats["p95_inference_time"], stored, 0.95, BOUND)
    assert_quantile(stats["p99_inference_time"], stored, 0.99, BOUND)
    assert stats["throughput"] > 0
    assert stats["error_rate"] == errors / 100
    assert stats["cache_hit_rate"] == hits / (hits + misses)
    # The printing of the seed runs unchanged.
    print(f"  Average inference time: {stats['avg_inference_time']:.4f}s")
    print(f"  Throughput: {stats['throughput']:.1f} requests/sec")
    print(f"  Error rate: {stats['error_rate']:.3%}")


# --- seed 002: Multi-Threaded Performance Monitoring (+ analytics, profiling, custom) -------
@pytest.fixture(scope="module")
def shared():
    """The multi-threaded example: 8 workers for 0.3 s (the seed: 60 s)."""
    engine = tachymeter.Engine(interval=0.05)
    shared_metrics = PerformanceMetrics(window_size=5000, enable_detailed_stats=True, engine=engine)
    recorded = {"times": [], "total": [], "errors": 0, "hits": 0, "misses": 0, "batch": []}
    lock = threading.Lock()

    def worker_thread(thread_id, duration_seconds=0.3):
        rnd = random.Random(thread_id)
        start_time = time.time()
        while time.time() - start_time < duration_seconds:
            batch_size = rnd.randint(1, 128)
            complexity_factor = rnd.uniform(0.5, 2.0)
            inference_time = 0.001 * complexity_factor * (batch_size / 32)
            time.sleep(inference_time)
            pre, quant = rnd.uniform(0.001, 0.005), rnd.uniform(0.0, 0.002)
            shared_metrics.update_inference(
                inference_time=inference_time, batch_size=batch_size, preprocessing_time=pre, quantization_time=quant
            )
            err = rnd.random() < 0.02
            if err:
                shared_metrics.record_error()
            hit = rnd.random() > 0.15
            if hit:
                shared_metrics.record_cache_hit()
            else:
                shared_metrics.record_cache_miss()
            with lock:
                recorded["times"].append(ns(inference_time))
                recorded["total"].append(ns(inference_time) + ns(pre) + ns(quant))
                recorded["batch"].append(batch_size)
                recorded["errors"] += err
                recorded["hits"] += hit
                recorded["misses"] += not hit
            time.sleep(rnd.uniform(0.0001, 0.001))

    threads = [threading.Thread(target=worker_thread, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return engine, shared_metrics, recorded


def test_seed_multithreaded(shared):
    engine, shared_metrics, r = shared
    final_stats = shared_metrics.get_comprehensive_statistics()
    n = len(r["times"])
    assert final_stats["total_requests"] == n
    assert final_stats["error_rate"] == r["errors"] / n
    assert final_stats["total_errors"] == r["errors"]
    assert final_stats["cache_hit_rate"] == r["hits"] / (r["hits"] + r["misses"])
    assert final_stats["avg_total_time"] == pytest.approx(sum(r["total"]) / n / 1e9, rel=1e-9)
    assert final_stats["avg_batch_size"] == pytest.approx(sum(r["batch"]) / n, rel=1e-12)
    assert final_stats["max_batch_size"] == max(r["batch"])
    # Stability of the last window_size (5000 ≥ n: all) inference times: 1 / (1 + cv).
    arr = np.array(r["times"], dtype=float)
    cv = arr.std(ddof=1) / arr.mean()  # the sample standard deviation (n - 1)
    assert final_stats["stability_score"] == pytest.approx(1 / (1 + cv), rel=1e-6)
    assert final_stats["total_runtime"] > 0.3
    assert final_stats["average_throughput"] > 0 and final_stats["peak_throughput"] > 0
    print(f"Performance stability: {final_stats['stability_score']:.2f}")


def test_seed_analytics(shared):
    engine, shared_metrics, r = shared
    analyzer = PerformanceAnalyzer(shared_metrics)
    analysis = analyzer.analyze_performance_trends()
    for k in ("throughput_trend", "latency_trend", "error_trend", "stability_rating"):
        assert k in analysis
    # Under a second of history (10 s periods): not enough points for a trend.
    assert analysis["throughput_trend"] == "insufficient_data"
    score = analysis["stability_score"]
    expected = "stable" if score >= 0.9 else "moderate" if score >= 0.75 else "unstable" if score >= 0.5 else "erratic"
    assert analysis["stability_rating"] == expected

    bottlenecks = analyzer.identify_bottlenecks()
    s = shared_metrics.get_comprehensive_statistics()
    n = s["total_requests"]
    totals = {
        "preprocessing": s["avg_preprocessing_time"] * n,
        "inference": s["avg_inference_time"] * n,
        "quantization": s["avg_quantization_time"] * n,
    }
    whole = sum(totals.values())
    want = {}
    for comp, t in totals.items():
        share = t / whole
        impact = "high" if share >= 0.5 else "medium" if share >= 0.25 else "low" if share >= 0.10 else None
        if impact:
            want[comp] = impact
    assert {b["component"]: b["impact"] for b in bottlenecks} == want
    for b in bottlenecks:
        assert b["recommendation"]
        assert b["value"] == pytest.approx(totals[b["component"]] / whole, rel=1e-9)

    dashboard_data = analyzer.generate_dashboard_data()
    assert dashboard_data["statistics"]["total_requests"] == n
    json_export = analyzer.export_json()
    assert json.loads(json_export)["total_requests"] == n
    csv_export = analyzer.export_csv()
    header, values = csv_export.strip().splitlines()
    assert len(header.split(",")) == len(json.loads(json_export))
    prometheus_export = analyzer.export_prometheus()
    assert f'inference_time_seconds_count{{instance="{shared_metrics.instance}"}} {n}' in prometheus_export


def test_seed_profiling_and_custom_metrics(shared):
    engine, shared_metrics, _ = shared
    profiler = PerformanceProfiler(shared_metrics)

    @profiler.profile_function
    def complex_ml_operation(data_size=10000):
        features = np.random.rand(data_size, 10)
        weights = np.random.rand(10, 5)
        return np.mean(np.dot(features, weights), axis=1)

    t0 = time.perf_counter()
    for _ in range(3):
        result = complex_ml_operation(5000)
    elapsed = time.perf_counter() - t0
    assert result.shape == (5000,)
    assert complex_ml_operation.__name__ == "complex_ml_operation"
    profile_results = profiler.get_profile_results("complex_ml_operation")
    assert profile_results["total_calls"] == 3
    assert 0 < profile_results["total_time"] <= elapsed
    assert profile_results["avg_time_per_call"] == pytest.approx(profile_results["total_time"] / 3, rel=1e-9)
    br = profile_results["time_breakdown"]
    assert br["cpu"] + br["waiting"] == pytest.approx(profile_results["total_time"], rel=1e-9)

    custom_metrics = CustomMetrics(shared_metrics)
    custom_metrics.define_metric(name="model_accuracy", metric_type="gauge", description="Current model accuracy", unit="percentage")
    custom_metrics.define_metric(
        name="data_freshness", metric_type="histogram", description="Age of training data", unit="hours",
        buckets=[1, 6, 12, 24, 48, 168],
    )
    custom_metrics.define_metric(
        name="feature_drift", metric_type="counter", description="Feature drift detection events",
        labels=["feature_name", "drift_type"],
    )
    custom_metrics.update_gauge("model_accuracy", 0.945)
    custom_metrics.observe_histogram("data_freshness", 8.5)
    custom_metrics.increment_counter("feature_drift", labels={"feature_name": "age", "drift_type": "statistical"})
    custom_metrics.increment_counter("feature_drift", labels={"feature_name": "age", "drift_type": "statistical"})
    custom_stats = custom_metrics.get_all_metrics()
    assert set(custom_stats) == {"model_accuracy", "data_freshness", "feature_drift"}
    text = json.dumps(custom_stats)
    assert "0.945" in text and "8.5" in text
    drift = custom_stats["feature_drift"]["series"]
    assert [(d["labels"], d["value"]) for d in drift] == [({"feature_name": "age", "drift_type": "statistical"}, 2.0)]
    assert custom_stats["model_accuracy"]["series"][0]["value"] == 0.945
    fresh = custom_stats["data_freshness"]["series"][0]
    assert fresh["count"] == 1 and fresh["sum"] == 8.5
    with pytest.raises(tachymeter.RegistrationError):
        custom_metrics.update_gauge("undefined_metric", 1.0)
    with pytest.raises(tachymeter.RegistrationError):
        custom_metrics.increment_counter("feature_drift", labels={"feature_name": "age"})
    with pytest.raises(tachymeter.RegistrationError):
        custom_metrics.define_metric("x", "summary")


def test_seed_prometheus_exporter(shared):
    import urllib.request

    engine, shared_metrics, r = shared
    prometheus_exporter = PrometheusExporter(shared_metrics)
    server = prometheus_exporter.start_http_server(0)
    try:
        prometheus_exporter.add_custom_metric("model_memory_usage_bytes", "Memory usage of loaded models", metric_type="gauge")
        prometheus_exporter.set_custom_metric("model_memory_usage_bytes", 1024 * 1024 * 512)
        engine.flush()
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
        assert "model_memory_usage_bytes 536870912" in body
        assert f'inference_time_seconds_count{{instance="{shared_metrics.instance}"}} {len(r["times"])}' in body
    finally:
        prometheus_exporter.stop()


# --- seed 002: Real-Time Performance Alerts ---------------------------------------------
def test_seed_alerting():
    engine = tachymeter.Engine(interval=0.02)
    shared_metrics = PerformanceMetrics(window_size=5000, engine=engine)
    alerting = PerformanceAlerting(
        metrics=shared_metrics,
        alert_thresholds={
            "error_rate_threshold": 0.05,
            "latency_p95_threshold": 0.1,
            "throughput_min_threshold": 100,
            "cache_hit_rate_threshold": 0.8,
        },
        alert_window_size=50,
        cooldown_period=300,
    )
    received = {"critical": [], "warning": [], "info": []}
    handler_threads = set()

    def handler(kind):
        def h(alert):
            handler_threads.add(threading.current_thread().name)
            received[kind].append(alert)
            _ = f"{alert['message']} {alert['current_value']} {alert['threshold']}"

        return h

    alerting.register_handler("critical", handler("critical"))
    alerting.register_handler("warning", handler("warning"))
    alerting.register_handler("info", handler("info"))
    alerting.start_monitoring()

    for _ in range(20):
        shared_metrics.record_error()
        time.sleep(0.005)
    for _ in range(10):
        shared_metrics.update_inference(inference_time=0.2, batch_size=1, preprocessing_time=0.05, quantization_time=0.01)
        time.sleep(0.005)
    for _ in range(30):
        shared_metrics.record_cache_miss()
        time.sleep(0.0025)

    time.sleep(0.1)
    alerting.stop_monitoring()
    alert_summary = alerting.get_alert_summary()

    events = [e for v in received.values() for e in v]
    firings = [e for e in events if e["event"] == "firing"]
    # Oracle: every rule's condition holds at the end (errors/inferences = 2 > 0.05, p95 =
    # 0.2 s > 0.1 s, throughput < 100/s, hit rate 0 < 0.8), and the 300 s cooldown lets each
    # fire once.
    assert sorted(e["alert"] for e in firings) == sorted(alerting.rules)
    assert alert_summary["total_alerts"] == 4
    assert alert_summary["critical_alerts"] == sum(1 for e in events if e["severity"] == "critical" and e["event"] in ("firing", "escalated"))
    assert alert_summary["warning_alerts"] == sum(1 for e in firings if e["severity"] == "warning")
    assert alert_summary["escalations"] == sum(1 for e in events if e["event"] == "escalated")
    assert alert_summary["most_frequent_alert"] in alerting.rules
    assert alert_summary["handler_errors"] == 0 and alert_summary["dropped"] == 0
    for kind, got in received.items():
        assert all(e["severity"] == kind for e in got)
    p95 = [e for e in firings if e["alert"] == "InferenceHighLatency"][0]
    assert abs(p95["current_value"] - 0.2) <= 0.2 * BOUND
    assert p95["threshold"] == 0.1
    # Handlers ran on the package's dispatcher thread, or on this thread for the events of
    # the last evaluation in stop_monitoring(): never on a recording or a Rust thread.
    assert handler_threads <= {"tachymeter-alert-dispatch", threading.current_thread().name}


def test_alert_handler_errors_are_counted():
    engine = tachymeter.Engine(background=False)
    m = PerformanceMetrics(engine=engine)
    alerting = PerformanceAlerting(m, {"cache_hit_rate_threshold": 0.8})
    calls = []

    def bad(alert):
        calls.append(alert["alert"])
        raise RuntimeError("handler bug")

    alerting.register_handler("warning", bad)
    alerting.register_handler("critical", bad)
    alerting.start_monitoring()
    m.record_cache_miss()
    alerting.stop_monitoring()
    assert "InferenceLowCacheHitRate" in calls
    assert alerting.get_alert_summary()["handler_errors"] == len(calls)
    with pytest.raises(tachymeter.ConfigError, match="unknown alert thresholds"):
        PerformanceAlerting(m, {"latency_threshold": 1})
    with pytest.raises(ValueError, match="unknown severity"):
        alerting.register_handler("urgent", bad)


def test_general_alert_rules_errors(engine):
    am = tachymeter._native.AlertManager(engine)
    with pytest.raises(ValueError, match="exactly one of above= or below="):
        am.add_rule("X", "gauge", "queue")
    with pytest.raises(ValueError, match="unknown statistic"):
        am.add_rule("X", "median", "queue", above=1)
    with pytest.raises(tachymeter.ConfigError, match="invalid alert rule"):
        am.add_rule("bad name", "gauge", "queue", above=1)
    with pytest.raises(ValueError, match="needs q="):
        am.add_rule("X", "quantile", "lat", above=1)
    g = engine.gauge("queue")
    am.add_rule("QueueDeep", "gauge", "queue", above=10, cooldown=0)
    g.set(11)
    ev = am.evaluate(flush=True)
    assert [(e["alert"], e["event"], e["current_value"]) for e in ev] == [("QueueDeep", "firing", 11.0)]
    assert am.next_event(0.0)["alert"] == "QueueDeep"
    assert am.next_event(0.0) is None


# --- seed 000: serialization PerformanceMonitor -----------------------------------------
def test_seed_serialization_monitor(engine):
    monitor = PerformanceMonitor(window_size=1000, engine=engine)
    rnd = random.Random(3)
    ops = []
    for i in range(60):
        op = "serialize" if i % 3 else MetricType.DESERIALIZE
        d = rnd.uniform(0.0001, 0.01)
        size = rnd.randint(100, 10_000)
        ok = i % 10 != 0
        monitor.record_operation("json", op, d, size, ok, None if ok else "ValueError")
        ops.append((op if isinstance(op, str) else op.value, ns(d), size, ok))
    summary = monitor.get_summary()
    assert summary["total_operations"] == 60
    assert summary["total_bytes"] == sum(o[2] for o in ops)
    assert summary["success_rate"] == pytest.approx(sum(o[3] for o in ops) / 60, rel=1e-12)
    m = monitor.get_metrics("json")
    ser = [o for o in ops if o[0] == "serialize"]
    s = m["operations"]["serialize"]
    assert s["count"] == len(ser)
    assert s["total_bytes"] == sum(o[2] for o in ser)
    assert s["avg_time"] == pytest.approx(sum(o[1] for o in ser) / len(ser) / 1e9, rel=1e-12)
    assert_quantile(s["p95_time"], [o[1] for o in ser], 0.95, BOUND)
    recent = monitor.get_recent_metrics("json", 5)
    assert [(x["operation"], round(x["duration"] * 1e9), x["data_size"], x["success"]) for x in recent] == [
        (o[0], o[1], o[2], o[3]) for o in ops[-5:]
    ]
    alerts_seen = []
    monitor.add_alert_handler(alerts_seen.append)
    monitor.set_performance_threshold("error_rate", 0.05)
    alerts = monitor.check_performance_alerts()
    assert alerts and alerts == alerts_seen
    assert {a["metric"] for a in alerts} == {"error_rate"}
    with pytest.raises(ValueError, match="unknown threshold metric"):
        monitor.set_performance_threshold("latency", 1)
    with pytest.raises(ValueError, match="operation_type"):
        monitor.record_operation("json", "encode", 0.1)
    monitor.reset_metrics("json")
    assert monitor.get_summary()["total_operations"] == 0


# --- seed 004: quick reference ------------------------------------------------------------
def test_seed_quick_reference(tmp_path):
    engine = tachymeter.Engine(background=False)
    monitor = mon.PerformanceMonitor(engine=engine)
    durations = []
    for i in range(5):
        t0 = time.perf_counter()
        with monitor.timer("operation"):
            time.sleep(0.002 * (i + 1))
        durations.append(time.perf_counter() - t0)
    stats = monitor.get_statistics("operation")
    assert set(stats) >= {"count", "min", "max", "mean", "median", "std", "p50", "p90", "p95", "p99"}
    assert stats["count"] == 5
    assert stats["min"] >= 0.002 and stats["max"] <= max(durations)
    assert monitor.get_statistics("never") == {}
    out = tmp_path / "metrics.json"
    monitor.export_metrics(format="json", output_path=out)
    doc = json.loads(out.read_text())
    assert any(m["name"] == "timed_operation_duration" for m in doc["metrics"])
    with pytest.raises(tachymeter.ConfigError):
        monitor.export_metrics(format="xml")

    profiler = mon.ImageProcessingProfiler(engine=engine)
    result, profile = profiler.profile_operation(sorted, list(range(10_000, 0, -1)))
    assert result[:3] == [1, 2, 3]
    assert set(profile) == {"wall_time_s", "cpu_time_s", "memory_delta_mb"}
    assert profile["wall_time_s"] > 0
    for _ in range(3):
        profiler.profile_operation(time.sleep, 0.004, operation="slow")
        profiler.profile_operation(time.sleep, 0.001, operation="fast")
    speed = profiler.get_processing_speed((640, 480), "slow")
    assert speed == pytest.approx(640 * 480 / profiler.get_stats("slow")["median_time"])
    b = profiler.identify_bottlenecks(["slow", "fast"])
    assert [x["operation"] for x in b] == ["slow", "fast"]
    assert b[0]["slowdown_factor"] == pytest.approx(b[0]["median_time"] / b[1]["median_time"])

    tracker = mon.APIPerformanceTracker(engine=engine)
    for i in range(10):
        with tracker.track("/api/endpoint", "POST") as req:
            req.status = 500 if i == 0 else 200
    with pytest.raises(KeyError):
        with tracker.track("/api/endpoint", "GET"):
            raise KeyError("boom")
    stats = tracker.get_endpoint_stats("/api/endpoint")
    assert stats["count"] == 11 and stats["error_rate"] == 2 / 11
    report = tracker.generate_api_report()
    assert report["total_requests"] == 11 and "/api/endpoint" in report["endpoints"]

    now = [0.0]
    cache = mon.CacheManager(max_size=2, default_ttl=300, engine=engine, clock=lambda: now[0])
    param = 7
    cache_key = f"result:{param}"
    assert cache.get(cache_key) is None
    cache.set(cache_key, param * 2, ttl=600)
    assert cache.get(cache_key) == 14
    cache.set("a", 1)
    cache.set("b", 2)  # evicts result:7 (least recently used)
    now[0] = 400.0
    assert cache.cleanup_expired() == 2  # a and b (ttl 300)
    s = cache.get_stats()
    assert (s["hits"], s["misses"], s["evictions"], s["size"]) == (1, 1, 3, 0)
    assert s["hit_rate"] == 0.5 and s["miss_rate"] == 0.5

    rm = mon.ResourceMonitor(cpu_threshold=75.0, memory_threshold=85.0, disk_threshold=95.0, engine=engine)
    usage = rm.check_resources()
    assert 0 <= usage.cpu_percent <= 100 and 0 < usage.memory_percent <= 100
    for alert in rm.get_alerts_for_high_usage():
        assert alert["usage"] > alert["threshold"]
        assert alert["severity"] == ("critical" if alert["usage"] > 1.2 * alert["threshold"] else "warning")
    assert rm.get_memory_usage()["percent"] > 0
    assert rm.get_gpu_usage() is None
    with pytest.raises(tachymeter.ConfigError):
        mon.ResourceMonitor(cpu_threshold=150, engine=engine)

    report_gen = mon.PerformanceReport(monitor=monitor, api_tracker=tracker, resource_monitor=rm, engine=engine)
    daily = report_gen.generate_daily_report()
    assert daily["schema_version"] == 1 and daily["period"]["hours_back"] == 24
    report_gen.start_session("s1")
    with tracker.track("/api/other", "GET"):
        pass
    report_gen.end_session("s1")
    session = report_gen.generate_session_report("s1")
    assert session["period"]["kind"] == "session"
    comparison = report_gen.compare_performance(daily, session)
    assert isinstance(comparison, dict)
    html = report_gen.export_report(daily, format="html", path=tmp_path / "report.html")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert (tmp_path / "report.html").exists()
    csv_text = report_gen.export_report(daily, format="csv")
    assert csv_text.count("\n") >= 2
    with pytest.raises(KeyError):
        report_gen.generate_session_report("unknown")
    with pytest.raises(tachymeter.ConfigError):
        report_gen.export_report({"not": "a report"}, format="json")
    with pytest.raises(ValueError):
        report_gen.export_report(daily, format="pdf")


def test_getters_are_singletons():
    assert mon.get_monitor() is mon.get_monitor()
    assert mon.get_cache() is mon.get_cache()
    assert mon.get_api_tracker() is mon.get_api_tracker()
    assert mon.get_profiler() is mon.get_profiler()
    assert mon.get_resource_monitor() is mon.get_resource_monitor()
    with mon.get_monitor().timer("singleton_op"):
        pass
    assert mon.get_monitor().get_statistics("singleton_op")["count"] == 1


# --- seed 001: PerformanceTracker start/end by id ----------------------------------------
def test_seed_operation_tracker(engine):
    tracker = PerformanceTracker(engine=engine)
    ids = [tracker.start_operation(PerformanceMetricType.DOWNLOAD_OPERATION, f"model{i}.bin", {"size": i}) for i in range(4)]
    hc = tracker.start_operation("health_check", "db")
    assert tracker.in_flight == 5
    durations = []
    t = threading.Thread(target=lambda: durations.extend(tracker.end_operation(i, True) for i in ids[:2]))
    t.start()
    t.join()
    durations += [tracker.end_operation(i, False, "timeout", {"retry": 1}) for i in ids[2:]]
    assert all(d is not None and d >= 0 for d in durations)
    assert tracker.end_operation(ids[0]) is None  # ended already
    tracker.end_operation(hc, True)
    all_m = tracker.get_all_metrics(1)
    assert all_m["summary"]["total_operations"] == 5
    assert all_m["summary"]["failed_operations"] == 2
    assert all_m["unknown_ends"] == 1
    dl = tracker.get_metrics_by_type(PerformanceMetricType.DOWNLOAD_OPERATION, 1)
    assert dl["summary"]["total_operations"] == 4 and dl["summary"]["success_rate"] == 0.5
    recent = tracker.get_recent_operations(10)
    # Annotated operations (metadata or an error message) are kept: the four downloads.
    by_name = {r["operation_name"]: r for r in recent}
    assert set(by_name) == {f"model{i}.bin" for i in range(4)}
    assert by_name["model3.bin"]["metadata"] == {"size": "3", "retry": "1"}
    assert by_name["model3.bin"]["error_message"] == "timeout" and not by_name["model3.bin"]["success"]
    assert by_name["model0.bin"]["success"] and by_name["model0.bin"]["error_message"] is None
    with pytest.raises(ValueError, match="unknown operation type"):
        tracker.start_operation("teleport", "x")
    with pytest.raises(ValueError, match="not an operation id"):
        tracker.end_operation("op-zz")


def test_analysis_functions_against_oracles():
    from tachymeter import _native

    pts = [(float(t), 2.0 * t + (1 if t % 2 else -1) * 0.5) for t in range(20)]
    tr = _native.trend(pts)
    slopes = sorted((b[1] - a[1]) / (b[0] - a[0]) for i, a in enumerate(pts) for b in pts[i + 1 :])
    m = len(slopes)
    median = slopes[m // 2] if m % 2 else (slopes[m // 2 - 1] + slopes[m // 2]) / 2
    assert tr["slope_per_second"] == pytest.approx(median, rel=1e-12)
    assert tr["direction"] == "increasing"
    with pytest.raises(ValueError):
        _native.trend([(0.0, 1.0)])
    vals = [1.0, 2.0, 3.0, 4.0]
    st = _native.stability(vals)
    cv = np.std(vals, ddof=1) / np.mean(vals)
    assert st["stability_score"] == pytest.approx(1 / (1 + cv), rel=1e-12)
    assert _native.grade(20.0, 30.0) == "excellent"


def test_resource_sampling_thread_and_system_monitor():
    from tachymeter.performance_monitoring_system import SystemResourceMonitor

    engine = tachymeter.Engine(interval=0.02)
    rm = mon.ResourceMonitor(engine=engine, interval=0.02)
    rm.start()
    deadline = time.time() + 10
    first = rm.native.current()["sequence"]
    while rm.native.current()["sequence"] < first + 2 and time.time() < deadline:
        time.sleep(0.01)
    rm.stop()
    rm.stop()  # idempotent
    assert rm.native.current()["sequence"] >= first + 2  # the thread sampled
    sysmon = SystemResourceMonitor(sample_interval=1, engine=engine)
    now = sysmon.get_current_usage()
    assert 0 <= now["cpu_percent"] <= 100 and now["memory_total_bytes"] > 0
    history = sysmon.get_resource_history(1)["readings"]
    total = history["system_memory_total"]
    assert total["min"] == total["max"] == total["last"] == now["memory_total_bytes"]
    cpu = history["system_cpu_usage"]
    assert cpu["min"] <= cpu["mean"] <= cpu["max"]


def test_seed_best_practices():
    """Seed 002's best practices 1 and 2: window sizes, and the guarded positional update."""
    engine = tachymeter.Engine(background=False)
    realtime_metrics = PerformanceMetrics(window_size=100, engine=engine)
    longterm_metrics = PerformanceMetrics(window_size=10000, engine=engine)
    assert (realtime_metrics.window_size, longterm_metrics.window_size) == (100, 10000)

    def safe_metric_update(metrics, inference_time, batch_size):
        try:
            metrics.update_inference(inference_time, batch_size)
        except Exception as e:  # noqa: BLE001 - the seed's pattern
            raise AssertionError(f"Failed to update metrics: {e}")

    times = [0.001 * (i + 1) for i in range(150)]
    for t in times:
        safe_metric_update(realtime_metrics, t, 8)
    s = realtime_metrics.get_statistics()
    assert s["total_requests"] == 150
    # The window statistics cover the last window_size (100) measurements, exactly.
    last = [ns(t) for t in times[-100:]]
    assert s["window_count"] == 100
    assert s["window_avg_inference_time"] == pytest.approx(sum(last) / 100 / 1e9, rel=1e-12)
    assert s["window_p95_inference_time"] == nearest_rank(last, 0.95) / 1e9
    assert longterm_metrics.get_statistics()["total_requests"] == 0


def test_window_sizes_mix_on_one_engine():
    engine = tachymeter.Engine(background=False)
    a = PerformanceMetrics(window_size=100, engine=engine)
    b = PerformanceMetrics(window_size=1000, engine=engine)
    c = PerformanceMetrics(window_size=10000, engine=engine)
    for i in range(2000):
        for m in (a, b, c):
            m.update_inference(0.001 * (i + 1), 1)
    assert [m.get_statistics()["window_count"] for m in (a, b, c)] == [100, 1000, 2000]
    with pytest.raises(tachymeter.RegistrationError, match="window_capacity"):
        PerformanceMetrics(window_size=20000, engine=engine)
    alone = PerformanceMetrics(window_size=20000, engine=tachymeter.Engine(background=False))
    assert alone.window_size == 20000  # on an engine of its own


def test_every_class_twice_on_one_engine():
    """Every class of the package can be made twice on one engine: no metric name of one
    monitor collides with another's, and instances get their own series."""
    from tachymeter import performance_metrics as pm
    from tachymeter import serialization as se
    from tachymeter.performance_monitoring_system import SystemResourceMonitor

    engine = tachymeter.Engine(background=False)
    made = []
    for _ in range(2):
        m = pm.PerformanceMetrics(engine=engine)
        made += [
            m, pm.PerformanceAlerting(m), pm.PrometheusExporter(m), pm.PerformanceProfiler(m),
            pm.CustomMetrics(m), pm.PerformanceAnalyzer(m), se.PerformanceMonitor(engine=engine),
            mon.PerformanceMonitor(engine=engine), mon.ImageProcessingProfiler(engine=engine),
            mon.APIPerformanceTracker(engine=engine), mon.CacheManager(engine=engine, name="c"),
            mon.ResourceMonitor(engine=engine), mon.PerformanceReport(engine=engine),
            PerformanceTracker(engine=engine), SystemResourceMonitor(engine=engine),
        ]
    a, b = made[0], made[15]
    a.update_inference(0.5, 1)
    assert (a.get_statistics()["total_requests"], b.get_statistics()["total_requests"]) == (1, 0)
    t1, t2 = made[7], made[22]
    with t1.timer("op"):
        pass
    assert (t1.get_statistics("op")["count"], t2.get_statistics("op")) == (1, {})


def test_seed_monitoring_system(tmp_path):
    from tachymeter.performance_monitoring_system import PerformanceMonitoringSystem

    cfg = tmp_path / "perf.json"
    cfg.write_text(json.dumps({"sample_interval": 5, "dashboard_max_age": 60}))
    engine = tachymeter.Engine(background=False)
    system = PerformanceMonitoringSystem(str(cfg), engine=engine)
    assert system.config["sample_interval"] == 5
    ids = [
        system.track_download_operation("model.bin", {"bytes": 10}),
        system.track_health_check("db"),
        system.track_fallback_strategy("mirror"),
        system.track_analytics_collection("daily"),
        system.track_model_operation("load"),
    ]
    for i, op in enumerate(ids):
        assert system.end_tracking(op, success=i != 1, error_message=None if i != 1 else "down") is not None
    all_m = system.tracker.get_all_metrics(1)
    assert all_m["summary"]["total_operations"] == 5 and all_m["summary"]["failed_operations"] == 1
    assert set(all_m["by_type"]) == {t.value for t in PerformanceMetricType if t is not PerformanceMetricType.SYSTEM_RESOURCE}
    report = system.get_performance_report(1)
    assert report["schema_version"] == 1 and report["period"]["hours_back"] == 1
    first = system.get_dashboard_data(force_refresh=True)
    assert system.get_dashboard_data() == first  # cached for 60 s
    system.shutdown()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sample_intervall": 5}))
    with pytest.raises(tachymeter.ConfigError, match="unknown keys"):
        PerformanceMonitoringSystem(str(bad), engine=engine)
    with pytest.raises(tachymeter.ConfigError, match="cannot read"):
        PerformanceMonitoringSystem(str(tmp_path / "missing.json"), engine=engine)
