"""The seeds' serialization performance tracker
(``interfaces.monitoring.performance_tracker``): ``PerformanceMonitor.record_operation``,
``get_metrics``, ``get_summary``, ``get_recent_metrics``, ``reset_metrics``, thresholds and
alert handlers, ``get_global_monitor()`` and ``get_performance_summary()``.

Recording is handle calls into the Rust engine (no lock, no unbounded list). Threshold checks
read a snapshot, so they are explicit: ``check_performance_alerts()`` (the seeds checked on
every record, under their lock). Getters collect a fresh snapshot first (``fresh=False``
reads the latest background one).
"""
from __future__ import annotations

import enum
import logging
import threading
from typing import Any, Callable, Dict, List, Optional

from . import _native
from ._engine import default_engine

log = logging.getLogger("tachymeter")


class MetricType(enum.Enum):
    """Serialization operation types."""

    SERIALIZE = "serialize"
    DESERIALIZE = "deserialize"


def _op(operation_type) -> str:
    return operation_type.value if isinstance(operation_type, enum.Enum) else str(operation_type)


class PerformanceMonitor:
    """Serialization operations per serializer: durations (float seconds), sizes, errors."""

    def __init__(
        self,
        window_size: int = 1000,
        enable_detailed_logging: bool = False,
        *,
        engine: Optional[_native.Engine] = None,
        instance: Optional[str] = None,
    ):
        self.engine = engine or default_engine()
        self.window_size = window_size
        self.enable_detailed_logging = enable_detailed_logging
        self.native = _native.SerializationMonitor(self.engine, instance)
        self._handlers: List[Callable[[Dict[str, Any]], None]] = []
        self._lock = threading.Lock()

    def record_operation(
        self,
        serializer_id: str,
        operation_type,
        duration: float,
        data_size: int = 0,
        success: bool = True,
        error_type: Optional[str] = None,
    ) -> None:
        """Records one operation (``operation_type``: ``"serialize"``/``"deserialize"`` or a
        ``MetricType``)."""
        self.native.record_operation(
            serializer_id, _op(operation_type), duration, data_size, success, error_type
        )
        if self.enable_detailed_logging:
            log.debug("%s %s %.6fs %d bytes", serializer_id, _op(operation_type), duration, data_size)

    def get_metrics(self, serializer_id: Optional[str] = None, fresh: bool = True) -> Dict[str, Any]:
        """One serializer's metrics (per operation: ``count``, ``avg_time``, ``p95_time``,
        ``p99_time``, ``total_bytes``, ``bytes_per_second``, ``success_rate``, ``errors``),
        or every serializer's by id."""
        if fresh:
            self.engine.flush()
        if serializer_id is None:
            return self.native.summary(None)["serializers"]
        return self.native.metrics(serializer_id)

    def get_summary(self, serializer_id: Optional[str] = None, fresh: bool = True) -> Dict[str, Any]:
        """``total_operations``, ``success_rate``, ``total_bytes`` and ``serializers``."""
        if fresh:
            self.engine.flush()
        return self.native.summary(serializer_id)

    def reset_metrics(self, serializer_id: Optional[str] = None) -> None:
        """Resets one serializer, or every one."""
        self.native.reset(serializer_id)

    def set_performance_threshold(self, metric_name: str, threshold: float) -> None:
        """``avg_time``, ``p95_time``, ``p99_time`` (seconds), ``error_rate`` (0–1),
        ``min_bytes_per_second``."""
        self.native.set_threshold(metric_name, threshold)

    def add_alert_handler(self, handler: Callable[[Dict[str, Any]], None]) -> None:
        with self._lock:
            self._handlers.append(handler)

    def check_performance_alerts(self) -> List[Dict[str, Any]]:
        """New threshold violations on a fresh snapshot; each is passed to every handler
        (on this thread; a handler that raises is logged, the others still run)."""
        self.engine.flush()
        alerts = self.native.check_thresholds()
        with self._lock:
            handlers = list(self._handlers)
        for a in alerts:
            for h in handlers:
                try:
                    h(a)
                except Exception:
                    log.exception("serialization alert handler %r failed", h)
        return alerts

    def get_recent_metrics(self, serializer_id: str, count: int = 10, fresh: bool = True) -> List[Dict[str, Any]]:
        """The last ``count`` operations, oldest first."""
        if fresh:
            self.engine.flush()
        return self.native.recent(serializer_id, count)

    def get_suggestions(self, serializer_id: str) -> List[Dict[str, Any]]:
        """Optimisation suggestions (``type``, ``priority``, ``message``, ``suggestion``)."""
        self.engine.flush()
        return self.native.suggestions(serializer_id)


_global: Optional[PerformanceMonitor] = None
_global_lock = threading.Lock()


def get_global_monitor() -> PerformanceMonitor:
    """The package-wide serialization monitor."""
    global _global
    if _global is None:
        with _global_lock:
            if _global is None:
                _global = PerformanceMonitor(instance="global")
    return _global


def get_performance_summary() -> Dict[str, Any]:
    """The global monitor's summary."""
    return get_global_monitor().get_summary()
