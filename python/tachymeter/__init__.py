"""tachymeter for Python: the Rust metrics engine, its exporters, and the seeds' monitors.

Recording (``Counter.inc``, ``Histogram.observe``) writes the calling thread's own shard in
the Rust engine: no Python lock, no allocation. Statistics, exports and reports are computed
from immutable snapshots with the GIL released.

Modules with the seeds' interfaces:

- ``tachymeter.performance_metrics``: ``PerformanceMetrics``, ``PerformanceAnalyzer``,
  ``PerformanceAlerting``, ``PerformanceProfiler``, ``CustomMetrics``, ``PrometheusExporter``.
- ``tachymeter.serialization``: the serialization ``PerformanceMonitor``.
- ``tachymeter.monitoring``: ``get_monitor``, ``get_profiler``, ``get_api_tracker``,
  ``get_cache``, ``get_resource_monitor``, ``PerformanceReport``.
- ``tachymeter.performance_monitoring_system``: ``PerformanceTracker`` (start/end by id),
  ``SystemResourceMonitor``.
"""
from . import _native
from ._engine import MetricSample, Snapshot, default_engine, snapshot
from ._errors import ConfigError, RegistrationError, ServerError, TachymeterError
from ._native import (
    Counter,
    CounterFamily,
    Engine,
    Gauge,
    GaugeFamily,
    Histogram,
    HistogramFamily,
    MetricsServer,
    Timer,
)

__version__ = _native.__version__


def counter(name, help="", unit="", labels=None, engine=None):
    """A counter on ``engine`` (default: the package's engine)."""
    return (engine or default_engine()).counter(name, help, unit, labels)


def gauge(name, help="", unit="", labels=None, engine=None):
    """A gauge on ``engine`` (default: the package's engine)."""
    return (engine or default_engine()).gauge(name, help, unit, labels)


def histogram(name, help="", unit="seconds", labels=None, buckets=None, engine=None):
    """A histogram (unit ``seconds`` by default) on ``engine``."""
    return (engine or default_engine()).histogram(name, help, unit, labels, buckets)


def start_http_server(port=0, host="127.0.0.1", engine=None):
    """Serves ``/metrics`` of ``engine`` on ``host:port``; returns the ``MetricsServer``."""
    return (engine or default_engine()).start_server(host, port)


__all__ = [
    "ConfigError",
    "Counter",
    "CounterFamily",
    "Engine",
    "Gauge",
    "GaugeFamily",
    "Histogram",
    "HistogramFamily",
    "MetricSample",
    "MetricsServer",
    "RegistrationError",
    "ServerError",
    "Snapshot",
    "TachymeterError",
    "Timer",
    "counter",
    "default_engine",
    "gauge",
    "histogram",
    "snapshot",
    "start_http_server",
]
