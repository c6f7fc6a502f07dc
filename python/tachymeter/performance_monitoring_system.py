"""The seeds' performance monitoring system (``core.performance_monitoring_system``):
``PerformanceMetricType``, ``PerformanceTracker.start_operation/end_operation`` by id (from
any thread), ``SystemResourceMonitor``.

Operation ids are strings (``"op-<hex>"``); ending an unknown or already-ended id returns
``None`` and is counted (``unknown_ends``). Metadata values are kept as strings.
"""
from __future__ import annotations

import enum
from typing import Any, Dict, Optional

from . import _native
from ._engine import default_engine


class PerformanceMetricType(enum.Enum):
    DOWNLOAD_OPERATION = "download_operation"
    HEALTH_CHECK = "health_check"
    FALLBACK_STRATEGY = "fallback_strategy"
    ANALYTICS_COLLECTION = "analytics_collection"
    SYSTEM_RESOURCE = "system_resource"
    MODEL_OPERATION = "model_operation"


def _kind(t) -> str:
    return t.value if isinstance(t, enum.Enum) else str(t)


def _meta(m: Optional[Dict[str, Any]]) -> Optional[Dict[str, str]]:
    return None if m is None else {str(k): str(v) for k, v in m.items()}


class PerformanceTracker:
    """Operations started and ended by id."""

    def __init__(self, *, engine: Optional[_native.Engine] = None, instance: Optional[str] = None, capacity: int = 65536):
        self.engine = engine or default_engine()
        self.native = _native.OperationTracker(self.engine, instance, capacity)

    def start_operation(self, metric_type, operation_name: str, metadata: Optional[Dict[str, Any]] = None) -> str:
        """Starts an operation; returns its id."""
        return "op-%x" % self.native.start(_kind(metric_type), operation_name, _meta(metadata))

    def end_operation(
        self,
        operation_id: str,
        success: bool = True,
        error_message: Optional[str] = None,
        additional_metadata: Optional[Dict[str, Any]] = None,
    ) -> Optional[float]:
        """Ends the operation; its duration in seconds, or ``None`` for an unknown id."""
        s = str(operation_id)
        try:
            raw = int(s[3:] if s.startswith("op-") else s, 16)
            if raw < 0 or raw >= 1 << 64:
                raise ValueError
        except ValueError:
            raise ValueError(f"not an operation id: {operation_id!r}") from None
        return self.native.end(raw, success, error_message, _meta(additional_metadata))

    def get_metrics_by_type(self, metric_type, hours_back: int = 24) -> Dict[str, Any]:
        self.engine.flush()
        return self.native.metrics_by_type(_kind(metric_type), hours_back)

    def get_all_metrics(self, hours_back: int = 24) -> Dict[str, Any]:
        self.engine.flush()
        return self.native.all_metrics(hours_back)

    def get_recent_operations(self, count: int = 10):
        """Recently ended operations that had metadata or an error message."""
        return self.native.recent_operations(count)

    @property
    def in_flight(self) -> int:
        return self.native.in_flight


class SystemResourceMonitor:
    """System resources sampled by a Rust thread every ``sample_interval`` seconds."""

    def __init__(self, sample_interval: float = 30, *, engine: Optional[_native.Engine] = None, start: bool = False):
        self.engine = engine or default_engine()
        self.native = _native.ResourceMonitor(self.engine, None, float(sample_interval))
        if start:
            self.native.start()

    def start_monitoring(self) -> None:
        self.native.start()

    def stop_monitoring(self) -> None:
        self.native.stop()

    def get_current_usage(self) -> Dict[str, Any]:
        return self.native.current()

    def get_resource_history(self, hours_back: int = 1) -> Dict[str, Any]:
        self.engine.flush()
        return self.native.history(hours_back)
