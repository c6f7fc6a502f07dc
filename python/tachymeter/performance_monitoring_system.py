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


class PerformanceAnalyzer:
    """Reports over a tracker and a resource monitor: requests, latency, errors, resource
    usage, bottlenecks and recommendations (a report dict, schema v1)."""

    def __init__(self, tracker: PerformanceTracker, resource_monitor: Optional[SystemResourceMonitor] = None):
        self.tracker = tracker
        self.resource_monitor = resource_monitor
        self.engine = tracker.engine

    def generate_performance_report(self, hours_back: float = 24) -> Dict[str, Any]:
        import json

        self.engine.flush()
        rm = self.resource_monitor.native if self.resource_monitor else None
        return json.loads(
            _native.build_report(self.engine, title="Performance report", hours_back=float(hours_back), resources=rm)
        )


_CONFIG_DEFAULTS = {"sample_interval": 30.0, "dashboard_max_age": 30.0, "start_resource_sampling": False}


class PerformanceMonitoringSystem:
    """The seeds' facade: track operations by kind, reports, cached dashboard data.

    ``config_path``: a JSON file with any of ``sample_interval`` (seconds between resource
    readings), ``dashboard_max_age`` (seconds a dashboard stays cached) and
    ``start_resource_sampling``; other keys are an error."""

    def __init__(self, config_path: Optional[str] = None, *, engine: Optional[_native.Engine] = None):
        self.engine = engine or default_engine()
        self.config = self._load_config(config_path)
        self.tracker = PerformanceTracker(engine=self.engine)
        self.resource_monitor = SystemResourceMonitor(
            self.config["sample_interval"], engine=self.engine, start=self.config["start_resource_sampling"]
        )
        self.analyzer = PerformanceAnalyzer(self.tracker, self.resource_monitor)
        self._dashboard = _native.DashboardData(self.engine, None, self.resource_monitor.native)

    @staticmethod
    def _load_config(config_path: Optional[str]) -> Dict[str, Any]:
        import json

        from ._errors import ConfigError

        cfg = dict(_CONFIG_DEFAULTS)
        if config_path is None:
            return cfg
        try:
            with open(config_path, encoding="utf-8") as f:
                given = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the configuration {config_path}: {e}") from None
        if not isinstance(given, dict):
            raise ConfigError(f"{config_path}: the configuration must be a JSON object")
        unknown = set(given) - set(cfg)
        if unknown:
            raise ConfigError(f"{config_path}: unknown keys {sorted(unknown)}; known: {sorted(cfg)}")
        for k in ("sample_interval", "dashboard_max_age"):
            if k in given and not (isinstance(given[k], (int, float)) and given[k] > 0):
                raise ConfigError(f"{config_path}: {k} must be a positive number of seconds")
        cfg.update(given)
        return cfg

    def _track(self, kind: PerformanceMetricType, name: str, metadata) -> str:
        return self.tracker.start_operation(kind, name, metadata)

    def track_download_operation(self, operation_name: str, metadata=None) -> str:
        return self._track(PerformanceMetricType.DOWNLOAD_OPERATION, operation_name, metadata)

    def track_health_check(self, operation_name: str, metadata=None) -> str:
        return self._track(PerformanceMetricType.HEALTH_CHECK, operation_name, metadata)

    def track_fallback_strategy(self, operation_name: str, metadata=None) -> str:
        return self._track(PerformanceMetricType.FALLBACK_STRATEGY, operation_name, metadata)

    def track_analytics_collection(self, operation_name: str, metadata=None) -> str:
        return self._track(PerformanceMetricType.ANALYTICS_COLLECTION, operation_name, metadata)

    def track_model_operation(self, operation_name: str, metadata=None) -> str:
        return self._track(PerformanceMetricType.MODEL_OPERATION, operation_name, metadata)

    def end_tracking(self, operation_id: str, success: bool = True, error_message=None, additional_metadata=None):
        return self.tracker.end_operation(operation_id, success, error_message, additional_metadata)

    def get_performance_report(self, hours_back: float = 24) -> Dict[str, Any]:
        return self.analyzer.generate_performance_report(hours_back)

    def get_dashboard_data(self, force_refresh: bool = False) -> Dict[str, Any]:
        """Requests, throughput, error rate, latency quantiles, resources; cached for
        ``dashboard_max_age`` seconds unless ``force_refresh``."""
        if force_refresh:
            self.engine.flush()
            return self._dashboard.refresh()
        return self._dashboard.get(self.config["dashboard_max_age"])

    def shutdown(self) -> None:
        self.resource_monitor.stop_monitoring()
