"""The seeds' quick-reference monitoring API (``ptpd_calibration.monitoring``):
``get_monitor()`` (timers and statistics), ``get_profiler()``, ``get_api_tracker()``,
``get_cache()``, ``get_resource_monitor()`` and ``PerformanceReport``.

Statistics come from the engine's histograms: ``count``, ``min``, ``max`` and ``mean`` are
exact; the quantiles are within the histogram's relative error bound (0.55 %, given as
``error_bound``); ``std`` is computed from bucket representatives.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import _native
from ._engine import default_engine
from ._errors import ConfigError

_instances = itertools.count()


class PerformanceMonitor:
    """Named operation timers (``with monitor.timer("op"):``) and their statistics."""

    def __init__(self, max_history: int = 1000, *, engine: Optional[_native.Engine] = None):
        self.engine = engine or default_engine()
        self.max_history = max_history
        self.instance = str(next(_instances))
        self._family = self.engine.histogram_family(
            "timed_operation_duration", ["monitor", "operation"], "Operations timed by PerformanceMonitor.timer().", "seconds"
        )
        self._handles: Dict[str, _native.Histogram] = {}

    def _h(self, name: str) -> _native.Histogram:
        h = self._handles.get(name)
        if h is None:
            h = self._handles.setdefault(name, self._family.labels(self.instance, name))
        return h

    def timer(self, name: str):
        """A timer of operation ``name``: a context manager and a decorator."""
        return self._h(name).time()

    def record(self, name: str, seconds: float) -> None:
        """Records one duration measured by the caller."""
        self._h(name).observe(seconds)

    def get_statistics(self, name: str, fresh: bool = True) -> Dict[str, Any]:
        """``{count, min, max, mean, median, std, p50, p90, p95, p99}`` in seconds (plus
        ``sum`` and ``error_bound``); ``{}`` for an operation never timed."""
        s = self.engine.histogram_stats(
            "timed_operation_duration", {"monitor": self.instance, "operation": name}, fresh
        )
        return s or {}

    def export_metrics(self, format: str = "json", output_path=None) -> str:
        """The engine's metrics as ``json``, ``prometheus`` or ``csv`` text, also written to
        ``output_path`` if given."""
        fmt = format.lower()
        if fmt == "json":
            text = self.engine.export_json()
        elif fmt in ("prometheus", "text"):
            text = self.engine.export_prometheus()
        elif fmt == "csv":
            text = self.engine.export_csv()
        else:
            raise ConfigError(f"unknown export format {format!r}: use json, prometheus or csv")
        if output_path is not None:
            Path(output_path).write_text(text, encoding="utf-8")
        return text


def _rss_bytes() -> Optional[int]:
    try:
        with open("/proc/self/statm", "rb") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class ImageProcessingProfiler:
    """Profiles operations: wall time, thread CPU time and resident-memory change."""

    def __init__(self, *, engine: Optional[_native.Engine] = None):
        self.engine = engine or default_engine()
        self.native = _native.Profiler(self.engine)

    def profile_operation(self, func: Callable, *args, operation: Optional[str] = None, units: int = 0, **kwargs) -> Tuple[Any, Dict[str, float]]:
        """Calls ``func(*args, **kwargs)``; returns ``(result, profile)`` with
        ``wall_time_s``, ``cpu_time_s`` and ``memory_delta_mb`` (resident set, Linux) of
        this call. The call is also recorded under ``operation`` (default: its name)."""
        name = operation or getattr(func, "__name__", "operation")
        rss0 = _rss_bytes()
        cpu0 = time.thread_time()
        result, wall = self.native.profile(name, func, args, kwargs, units)
        cpu = time.thread_time() - cpu0
        rss1 = _rss_bytes()
        mem = 0.0 if rss0 is None or rss1 is None else (rss1 - rss0) / (1024 * 1024)
        return result, {"wall_time_s": wall, "cpu_time_s": cpu, "memory_delta_mb": mem}

    def get_processing_speed(self, image_size: Tuple[int, int], operation: str) -> Optional[float]:
        """Pixels per second of ``operation`` at its median wall time."""
        self.engine.flush()
        s = self.native.stats(operation)
        if not s or not s["median_time"]:
            return None
        w, h = image_size
        return w * h / s["median_time"]

    def identify_bottlenecks(self, operations: Optional[List[str]] = None) -> List[Dict[str, Any]]:
        """``[{operation, slowdown_factor, median_time, p90_time}]``, slowest first: each
        operation's median over the fastest one's (among ``operations`` if given)."""
        self.engine.flush()
        if operations is None:
            return self.native.identify_bottlenecks()
        stats = [s for s in self.native.all_stats() if s["operation"] in operations and s["median_time"]]
        if not stats:
            return []
        fastest = min(s["median_time"] for s in stats)
        out = [
            {
                "operation": s["operation"],
                "slowdown_factor": s["median_time"] / fastest,
                "median_time": s["median_time"],
                "p90_time": s["p90_time"],
            }
            for s in stats
        ]
        return sorted(out, key=lambda b: -b["slowdown_factor"])

    def get_stats(self, operation: str) -> Optional[Dict[str, Any]]:
        self.engine.flush()
        return self.native.stats(operation)


class _Request:
    __slots__ = ("status", "error")

    def __init__(self) -> None:
        self.status = 200
        self.error = False


class APIPerformanceTracker:
    """Requests per endpoint and method."""

    def __init__(self, *, engine: Optional[_native.Engine] = None):
        self.engine = engine or default_engine()
        self.native = _native.EndpointTracker(self.engine)

    @contextmanager
    def track(self, endpoint: str, method: str = "GET") -> Iterator[_Request]:
        """Times the block as one request; set ``.status`` on the yielded object. An
        exception, or a status ≥ 500, counts as an error."""
        req = _Request()
        t0 = time.perf_counter()
        try:
            yield req
        except BaseException:
            req.error = True
            raise
        finally:
            self.native.record(endpoint, method, time.perf_counter() - t0, req.status, req.error)

    def record(self, endpoint: str, method: str, duration: float, status: int = 200, error: bool = False) -> None:
        self.native.record(endpoint, method, duration, status, error)

    def get_endpoint_stats(self, endpoint: str) -> Dict[str, Any]:
        """``{count, error_rate, mean_ms, p90_ms, p95_ms, p99_ms}``."""
        self.engine.flush()
        return self.native.endpoint_stats(endpoint)

    def generate_api_report(self) -> Dict[str, Any]:
        """``{total_requests, overall_error_rate, endpoints, slowest_endpoints}``."""
        self.engine.flush()
        return self.native.api_report()


class CacheManager:
    """A thread-safe LRU cache with per-entry TTL; hits, misses, evictions and size are
    recorded in the engine (``get_stats()``)."""

    def __init__(self, max_size: int = 1000, default_ttl: float = 3600, *, name: str = "default", engine: Optional[_native.Engine] = None, clock: Callable[[], float] = time.monotonic):
        if max_size < 1:
            raise ConfigError(f"max_size must be at least 1, got {max_size}")
        self.engine = engine or default_engine()
        self.max_size = max_size
        self.default_ttl = default_ttl
        self.native = _native.CacheMonitor(name, self.engine)
        self._data: "OrderedDict[Any, Tuple[Any, float]]" = OrderedDict()
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, key, default=None):
        now = self._clock()
        with self._lock:
            item = self._data.get(key)
            if item is not None and item[1] <= now:
                del self._data[key]
                self.native.record_evictions(1)
                self.native.set_size(len(self._data))
                item = None
            if item is None:
                self.native.record_miss()
                return default
            self._data.move_to_end(key)
            self.native.record_hit()
            return item[0]

    def set(self, key, value, ttl: Optional[float] = None) -> None:
        expires = self._clock() + (self.default_ttl if ttl is None else ttl)
        with self._lock:
            self._data[key] = (value, expires)
            self._data.move_to_end(key)
            evicted = 0
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)
                evicted += 1
            if evicted:
                self.native.record_evictions(evicted)
            self.native.set_size(len(self._data))

    def delete(self, key) -> bool:
        with self._lock:
            found = self._data.pop(key, None) is not None
            self.native.set_size(len(self._data))
            return found

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.native.set_size(0)

    def cleanup_expired(self) -> int:
        """Removes expired entries; returns how many."""
        now = self._clock()
        with self._lock:
            dead = [k for k, (_, exp) in self._data.items() if exp <= now]
            for k in dead:
                del self._data[k]
            if dead:
                self.native.record_evictions(len(dead))
            self.native.set_size(len(self._data))
            return len(dead)

    def get_stats(self) -> Dict[str, Any]:
        """``{hits, misses, hit_rate, miss_rate, size, evictions}``."""
        self.engine.flush()
        return self.native.stats()


@dataclass(frozen=True)
class ResourceUsage:
    cpu_percent: float
    memory_percent: float
    memory_used_mb: float
    disk_percent: Optional[float]
    gpu_percent: Optional[float] = None


class ResourceMonitor:
    """System resources: readings, alerts above thresholds (critical above 1.2×)."""

    def __init__(self, cpu_threshold: float = 80.0, memory_threshold: float = 85.0, disk_threshold: float = 95.0, *, engine: Optional[_native.Engine] = None, interval: float = 5.0):
        self.engine = engine or default_engine()
        self.native = _native.ResourceMonitor(self.engine, None, interval, cpu_threshold, memory_threshold, disk_threshold)

    def check_resources(self) -> ResourceUsage:
        """A new reading."""
        r = self.native.sample_now()
        gpus = r.get("gpus") or []
        gpu = None
        if gpus:
            vals = [g.get("utilization_percent") for g in gpus if g.get("utilization_percent") is not None]
            gpu = sum(vals) / len(vals) if vals else None
        return ResourceUsage(r["cpu_percent"], r["memory_percent"], r["memory_used_mb"], r.get("disk_percent"), gpu)

    def get_alerts_for_high_usage(self) -> List[Dict[str, Any]]:
        """``[{resource, usage, threshold, severity, message}]`` for the latest reading."""
        out = []
        for a in self.native.alerts_for_high_usage():
            a = dict(a)
            a["usage"] = a["value"]
            out.append(a)
        return out

    def get_cpu_usage(self) -> float:
        return self.native.sample_now()["cpu_percent"]

    def get_memory_usage(self) -> Dict[str, Any]:
        r = self.native.current()
        return {
            "percent": r["memory_percent"],
            "used_mb": r["memory_used_mb"],
            "total_bytes": r["memory_total_bytes"],
            "available_bytes": r["memory_available_bytes"],
        }

    def get_disk_usage(self, path: str = "/") -> Optional[Dict[str, Any]]:
        for d in self.native.current().get("disks") or []:
            if d.get("mount_point") == path or d.get("mount") == path:
                return d
        return None

    def get_gpu_usage(self) -> Optional[List[Dict[str, Any]]]:
        """GPU readings, or ``None`` without GPUs (this build has no NVML support)."""
        return self.native.current().get("gpus") or None

    def start(self) -> None:
        self.native.start()

    def stop(self) -> None:
        self.native.stop()


class PerformanceReport:
    """Reports over the engine: daily (last 24 h), a session between two marks, a
    comparison, exports to JSON, CSV and HTML. Reports are dicts (schema v1)."""

    def __init__(self, monitor: Optional[PerformanceMonitor] = None, api_tracker: Optional[APIPerformanceTracker] = None, resource_monitor: Optional[ResourceMonitor] = None, *, engine: Optional[_native.Engine] = None, profiler: Optional[ImageProcessingProfiler] = None):
        self.engine = engine or (monitor.engine if monitor else default_engine())
        self.monitor = monitor
        self.api_tracker = api_tracker
        self.resource_monitor = resource_monitor
        self.profiler = profiler
        self._sessions: Dict[str, List[Optional[float]]] = {}
        self._lock = threading.Lock()

    def _build(self, title: str, hours_back=None, session=None) -> Dict[str, Any]:
        return json.loads(
            _native.build_report(
                self.engine,
                title=title,
                hours_back=hours_back,
                session=session,
                endpoints=self.api_tracker.native if self.api_tracker else None,
                profiler=self.profiler.native if self.profiler else None,
                resources=self.resource_monitor.native if self.resource_monitor else None,
            )
        )

    def generate_daily_report(self) -> Dict[str, Any]:
        """The last 24 hours."""
        self.engine.flush()
        return self._build("Daily report", hours_back=24.0)

    def start_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions[session_id] = [_native.engine_uptime(self.engine), None]

    def end_session(self, session_id: str) -> None:
        with self._lock:
            if session_id not in self._sessions:
                raise KeyError(f"unknown session {session_id!r}: call start_session first")
            self._sessions[session_id][1] = _native.engine_uptime(self.engine)

    @contextmanager
    def session(self, session_id: str):
        """``with report.session("id"): ...`` marks the session's start and end."""
        self.start_session(session_id)
        try:
            yield
        finally:
            self.end_session(session_id)

    def generate_session_report(self, session_id: str) -> Dict[str, Any]:
        """The period between ``start_session`` and ``end_session`` (or now)."""
        with self._lock:
            marks = self._sessions.get(session_id)
        if marks is None:
            raise KeyError(f"unknown session {session_id!r}: call start_session first")
        end = marks[1] if marks[1] is not None else _native.engine_uptime(self.engine)
        return self._build(f"Session {session_id}", session=(marks[0], end))

    def compare_performance(self, period1: Dict[str, Any], period2: Dict[str, Any]) -> Dict[str, Any]:
        """Per-series changes from ``period1`` to ``period2`` with their significance."""
        return json.loads(_native.compare_reports(json.dumps(period1), json.dumps(period2)))

    def export_report(self, report: Dict[str, Any], format: str = "json", path=None) -> str:
        """``report`` as ``json``, ``csv`` or ``html`` text, also written to ``path``."""
        text = _native.render_report(json.dumps(report), format)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


_singletons: Dict[str, Any] = {}
_singleton_lock = threading.Lock()


def _single(key: str, make: Callable[[], Any]):
    obj = _singletons.get(key)
    if obj is None:
        with _singleton_lock:
            obj = _singletons.get(key)
            if obj is None:
                obj = _singletons[key] = make()
    return obj


def get_monitor() -> PerformanceMonitor:
    return _single("monitor", PerformanceMonitor)


def get_profiler() -> ImageProcessingProfiler:
    return _single("profiler", ImageProcessingProfiler)


def get_api_tracker() -> APIPerformanceTracker:
    return _single("api", APIPerformanceTracker)


def get_cache() -> CacheManager:
    return _single("cache", CacheManager)


def get_resource_monitor() -> ResourceMonitor:
    return _single("resources", ResourceMonitor)
