"""The seeds' inference performance metrics (``modules/engine/performance_metrics.py``):
``PerformanceMetrics``, ``PerformanceAnalyzer``, ``PerformanceAlerting``,
``PerformanceProfiler``, ``CustomMetrics`` and ``PrometheusExporter``, on the Rust engine.

Differences from the seeds, on purpose:

- Recording takes no lock and keeps no list: times go into the engine's histograms; the
  window statistics come from the engine's rolling window and the last ``window_size``
  samples.
- ``get_statistics()`` collects a fresh snapshot first (read-your-writes); pass
  ``fresh=False`` to read the latest background snapshot instead (no collection).
- Alerts are evaluated on snapshots by a Rust thread; handlers run on a Python dispatcher
  thread of ``PerformanceAlerting`` (never on a recording thread). ``alert_window_size`` (the
  seeds' "last N measurements") has no time-based equivalent: the rules use the engine's
  rolling window (see ``tachymeter-monitor``'s ``InferenceThresholds``).
- The Prometheus metric names are the monitor's (``inference_time_seconds``,
  ``inference_errors_total``, ``inference_cache_hits_total``, …), not the seed's list.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import threading
from typing import Any, Callable, Dict, List, Optional

from . import _native
from ._engine import default_engine
from ._errors import RegistrationError

log = logging.getLogger("tachymeter")

#: Raw inference times every ``PerformanceMetrics`` keeps per recording thread by default:
#: instances on one engine share this capacity (it is part of the histogram's configuration),
#: so window sizes up to it can be mixed on one engine.
WINDOW_CAPACITY = 10_000


class PerformanceMetrics:
    """Inference metrics: times (float seconds), batch sizes, errors, cache lookups."""

    def __init__(
        self,
        window_size: int = 100,
        enable_detailed_stats: bool = True,
        track_percentiles: bool = True,
        *,
        engine: Optional[_native.Engine] = None,
        instance: Optional[str] = None,
        window_capacity: int = WINDOW_CAPACITY,
    ):
        self.engine = engine or default_engine()
        self.window_size = window_size
        self.enable_detailed_stats = enable_detailed_stats
        self.track_percentiles = track_percentiles
        capacity = max(window_capacity, window_size)
        try:
            self.native = _native.InferenceMetrics(
                self.engine, window_size, enable_detailed_stats, track_percentiles, instance, capacity
            )
        except RegistrationError as e:
            if "another configuration" not in str(e):
                raise
            raise RegistrationError(
                f"{e}: every PerformanceMetrics on one engine keeps the same number of raw "
                f"samples (window_capacity, default {WINDOW_CAPACITY}); window_size="
                f"{window_size} needs window_capacity >= {window_size} on every instance of "
                "this engine, or an engine of its own (engine=tachymeter.Engine())"
            ) from None
        # The recording methods are the native ones (no Python frame in between).
        self.update_inference = self.native.update_inference
        self.record_error = self.native.record_error
        self.record_cache_hit = self.native.record_cache_hit
        self.record_cache_miss = self.native.record_cache_miss

    @property
    def instance(self) -> str:
        """The ``instance`` label of this tracker's series."""
        return self.native.instance

    def get_statistics(self, fresh: bool = True) -> Dict[str, Any]:
        """The seeds' statistics: ``total_requests``, ``avg_inference_time``,
        ``median_inference_time``, ``p95_inference_time``, ``p99_inference_time``,
        ``avg_total_time``, ``throughput``, ``current_throughput``, ``error_rate``,
        ``cache_hit_rate`` and the window figures."""
        if fresh:
            self.engine.flush()
        return self.native.statistics()

    def get_comprehensive_statistics(self, fresh: bool = True) -> Dict[str, Any]:
        """``get_statistics()`` plus ``total_runtime``, ``average_throughput``,
        ``peak_throughput``, ``stability_score``, stage means and batch-size figures."""
        if fresh:
            self.engine.flush()
        return self.native.comprehensive_statistics()

    def reset(self) -> None:
        """Restarts every statistic of this tracker from zero."""
        self.native.reset()


class PerformanceAnalyzer:
    """Trends, bottlenecks, dashboard data and exports of a ``PerformanceMetrics``."""

    def __init__(self, metrics: PerformanceMetrics):
        self.metrics = metrics
        self.engine = metrics.engine

    def _report(self, hours_back: float = 1.0) -> Dict[str, Any]:
        self.engine.flush()
        return json.loads(
            _native.build_report(
                self.engine, hours_back=hours_back, inference=self.metrics.native
            )
        )

    def analyze_performance_trends(self, hours_back: float = 1.0) -> Dict[str, Any]:
        """``throughput_trend``, ``latency_trend`` (p95), ``error_trend``: ``increasing``,
        ``decreasing``, ``stable`` or ``insufficient_data`` (the engine's history has 10 s
        periods; a trend needs 8 of them), from Mann–Kendall and Theil–Sen over the
        report's timeline; ``stability_rating`` from the window's ``stability_score``.
        ``details`` carries the numbers each judgement was made from."""
        report = self._report(hours_back)
        series = f'inference_time{{instance="{self.metrics.instance}"}}'
        found = {}
        for t in report["analysis"]["trends"]:
            if t["series"].startswith("inference_time") and self.metrics.instance in t["series"]:
                found[t["statistic"]] = t
            elif t["statistic"] == "error_rate":
                found.setdefault("error_rate", t)

        def direction(stat: str) -> str:
            t = found.get(stat)
            if t is None or t.get("trend") is None:
                return "insufficient_data"
            return t["trend"]["direction"]

        stats = self.metrics.get_comprehensive_statistics(fresh=False)
        score = stats.get("stability_score")
        return {
            "throughput_trend": direction("throughput"),
            "latency_trend": direction("p95"),
            "error_trend": direction("error_rate"),
            "stability_rating": "insufficient_data"
            if score is None
            else _native.stability_rating(score),
            "stability_score": score,
            "series": series,
            "details": found,
        }

    def identify_bottlenecks(self) -> List[Dict[str, Any]]:
        """Stages (preprocessing, inference, quantization) by their share of the summed
        time: ``component``, ``impact`` (high ≥ 50 %, medium ≥ 25 %, low ≥ 10 %),
        ``recommendation`` and the share judged (``value``)."""
        s = self.metrics.get_comprehensive_statistics()
        n = s["total_requests"]
        stages = [
            (name, (s.get(key) or 0.0) * n)
            for name, key in (
                ("preprocessing", "avg_preprocessing_time"),
                ("inference", "avg_inference_time"),
                ("quantization", "avg_quantization_time"),
            )
        ]
        return _native.bottlenecks(stages)

    def generate_dashboard_data(self) -> Dict[str, Any]:
        """The engine's dashboard figures (requests, throughput, error rate, latency
        quantiles, active alerts) and this tracker's statistics."""
        figures = _native.DashboardData(self.engine).refresh()
        figures["statistics"] = self.metrics.get_statistics(fresh=False)
        return figures

    def export_json(self) -> str:
        """The comprehensive statistics as JSON."""
        return json.dumps(self.metrics.get_comprehensive_statistics(), sort_keys=True)

    def export_csv(self) -> str:
        """The comprehensive statistics as CSV: a header row and a value row."""
        s = self.metrics.get_comprehensive_statistics()
        out = io.StringIO()
        w = csv.writer(out)
        keys = sorted(s)
        w.writerow(keys)
        w.writerow(["" if s[k] is None else s[k] for k in keys])
        return out.getvalue()

    def export_prometheus(self) -> str:
        """The engine's Prometheus text exposition (every series, this tracker's included)."""
        return self.engine.export_prometheus()


class PerformanceAlerting:
    """The seeds' alerting on a ``PerformanceMetrics``: error rate, p95 latency, minimum
    throughput and cache hit rate thresholds, handlers per severity, cooldown.

    Rules are evaluated on every snapshot by a Rust thread; events are queued and a Python
    dispatcher thread calls the handlers (GIL taken the ordinary way). A handler that
    raises is logged and counted (``handler_errors`` in the summary); the others still run.
    """

    def __init__(
        self,
        metrics: PerformanceMetrics,
        alert_thresholds: Optional[Dict[str, float]] = None,
        alert_window_size: int = 50,
        cooldown_period: float = 300,
        *,
        poll: Optional[float] = None,
    ):
        t = dict(alert_thresholds or {})
        known = {
            "error_rate_threshold",
            "latency_p95_threshold",
            "throughput_min_threshold",
            "cache_hit_rate_threshold",
        }
        unknown = set(t) - known
        if unknown:
            from ._errors import ConfigError

            raise ConfigError(
                f"unknown alert thresholds {sorted(unknown)}: use {sorted(known)}"
            )
        self.metrics = metrics
        self.alert_window_size = alert_window_size
        self.cooldown_period = cooldown_period
        self.manager = _native.AlertManager(metrics.engine)
        self.rules = self.manager.add_inference_rules(
            metrics.native,
            error_rate=t.get("error_rate_threshold", 0.05),
            latency_p95=t.get("latency_p95_threshold", 0.1),
            throughput_min=t.get("throughput_min_threshold", 100.0),
            cache_hit_rate=t.get("cache_hit_rate_threshold", 0.8),
            cooldown=float(cooldown_period),
        )
        self._poll = poll
        self._handlers: Dict[str, List[Callable[[Dict[str, Any]], None]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.handler_errors = 0
        self.delivered = 0

    def register_handler(self, severity: str, handler: Callable[[Dict[str, Any]], None]) -> None:
        """Calls ``handler(alert)`` for each event of ``severity`` (``critical``,
        ``warning``, ``info``; the seeds' ``high``/``medium``/``low`` too). ``alert`` has
        ``message``, ``current_value``, ``threshold``, ``severity``, ``alert`` (the rule),
        ``event`` (``firing``, ``escalated``, ``resolved``) and ``timestamp``."""
        sev = {"high": "critical", "medium": "warning", "low": "info"}.get(severity, severity)
        if sev not in ("critical", "warning", "info"):
            raise ValueError(f"unknown severity {severity!r}: use critical, warning or info")
        with self._lock:
            self._handlers.setdefault(sev, []).append(handler)

    def _dispatch(self, event: Dict[str, Any]) -> None:
        with self._lock:
            handlers = list(self._handlers.get(event["severity"], ()))
        for h in handlers:
            try:
                h(event)
                self.delivered += 1
            except Exception:  # a handler's failure must not stop the others
                self.handler_errors += 1
                log.exception("alert handler %r failed", h)

    def _run(self) -> None:
        while not self._stop.is_set():
            e = self.manager.next_event(0.05)
            if e is not None:
                self._dispatch(e)

    def start_monitoring(self) -> None:
        """Starts evaluating (Rust thread) and dispatching (Python thread). Idempotent."""
        if self._thread is not None:
            return
        self._stop.clear()
        self.manager.start(self._poll)
        self._thread = threading.Thread(
            target=self._run, name="tachymeter-alert-dispatch", daemon=True
        )
        self._thread.start()

    def stop_monitoring(self) -> None:
        """Stops evaluating after one last evaluation of a fresh snapshot (so everything
        recorded before the call is judged), delivers the queued events, stops the
        dispatcher."""
        if self._thread is None:
            return
        self.manager.stop()
        self.manager.evaluate(flush=True)
        self._stop.set()
        self._thread.join()
        self._thread = None
        while True:
            e = self.manager.next_event(0.0)
            if e is None:
                break
            self._dispatch(e)

    def check_now(self) -> List[Dict[str, Any]]:
        """Evaluates the rules on a fresh snapshot on this thread; returns the events (the
        handlers get them through the dispatcher, or at ``stop_monitoring``)."""
        return self.manager.evaluate(flush=True)

    def get_alert_summary(self) -> Dict[str, Any]:
        """``total_alerts``, ``critical_alerts``, ``warning_alerts``, ``info_alerts``,
        ``most_frequent_alert``, ``active_alerts``, ``resolved_alerts``, ``escalations``,
        ``suppressed`` (cooldown), plus ``handler_errors`` and ``dropped`` events."""
        s = self.manager.summary()
        s["handler_errors"] = self.handler_errors
        s["dropped"] = self.manager.dropped
        return s


class PerformanceProfiler:
    """Profiles functions: wall time, thread CPU time and resident-memory change per call."""

    def __init__(self, metrics: Optional[PerformanceMetrics] = None, *, engine=None):
        self.engine = engine or (metrics.engine if metrics else default_engine())
        self.native = _native.Profiler(self.engine)

    def profile_function(self, func: Callable) -> Callable:
        """Decorator: every call of ``func`` is profiled under its ``__name__``."""
        import functools

        name = getattr(func, "__name__", "function")
        native = self.native

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return native.profile(name, func, args, kwargs)[0]

        return wrapper

    def get_profile_results(self, name: str) -> Optional[Dict[str, Any]]:
        """``total_calls``, ``total_time``, ``avg_time_per_call`` and ``time_breakdown``
        (``cpu`` seconds and ``waiting``: wall minus CPU), plus the profiler's figures."""
        self.engine.flush()
        s = self.native.stats(name)
        if s is None:
            return None
        total, cpu = s["total_time"], s["cpu_time"]
        return {
            "total_calls": s["calls"],
            "total_time": total,
            "avg_time_per_call": s["avg_time"],
            "time_breakdown": {"cpu": min(cpu, total), "waiting": max(total - cpu, 0.0)},
            "stats": s,
        }

    def generate_detailed_report(self, path) -> str:
        """Writes an HTML report with the profiler's table to ``path``; returns the path."""
        self.engine.flush()
        html = _native.render_report(
            _native.build_report(self.engine, title="Profile", profiler=self.native), "html"
        )
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
        return str(path)


class CustomMetrics:
    """Metrics defined at run time by name (the seeds' ``define_metric``, ``update_gauge``,
    ``observe_histogram``, ``increment_counter``, ``get_all_metrics``)."""

    def __init__(self, metrics: Optional[PerformanceMetrics] = None, *, engine=None):
        self.engine = engine or (metrics.engine if metrics else default_engine())
        self.native = _native.CustomMetrics(self.engine)

    def define_metric(self, name, metric_type, description="", unit="", buckets=None, labels=None):
        self.native.define_metric(name, metric_type, description, unit, buckets, labels)

    def update_gauge(self, name, value, labels=None):
        self.native.update_gauge(name, value, labels)

    def observe_histogram(self, name, value, labels=None):
        self.native.observe_histogram(name, value, labels)

    def increment_counter(self, name, labels=None, amount=1):
        self.native.increment_counter(name, labels, amount)

    def get_all_metrics(self, fresh: bool = True) -> Dict[str, Any]:
        """Each metric's definition and its series' values, by name."""
        if fresh:
            self.engine.flush()
        return self.native.all_metrics()


class PrometheusExporter:
    """Exposes the engine (the tracker's series and custom ones) to Prometheus."""

    def __init__(self, metrics: Optional[PerformanceMetrics] = None, *, engine=None):
        self.engine = engine or (metrics.engine if metrics else default_engine())
        self.custom = CustomMetrics(engine=self.engine)
        self.server = None

    def add_custom_metric(self, name, description="", metric_type="gauge", labels=None, unit=""):
        self.custom.define_metric(name, metric_type, description, unit, None, labels)

    def set_custom_metric(self, name, value, labels=None):
        """Sets a custom gauge."""
        self.custom.update_gauge(name, value, labels)

    def start_http_server(self, port: int = 8000, host: str = "127.0.0.1"):
        """Serves ``/metrics``; returns the server (``.url``, ``.stop()``)."""
        self.server = self.engine.start_server(host, port)
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def generate_latest(self) -> str:
        """The Prometheus text exposition now."""
        return self.engine.export_prometheus()
