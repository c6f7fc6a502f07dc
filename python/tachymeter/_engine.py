"""The default engine and dataclass views of snapshots."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import _native

_lock = threading.Lock()
_default: Optional[_native.Engine] = None


def default_engine() -> _native.Engine:
    """The package-wide engine (made on first use; aggregation every second). Every class of
    the package records into it unless given ``engine=``."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = _native.Engine(interval=1.0)
    return _default


@dataclass(frozen=True)
class MetricSample:
    """One series of a snapshot. ``value`` is the kind's value dict (counter: ``total``,
    ``delta``, rates; histogram: ``cumulative``/``window`` statistics) or the gauge's float."""

    name: str
    kind: str
    unit: str
    help: str
    labels: Dict[str, str]
    value: Any


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of every metric (see ``Engine.snapshot()`` for the plain dict)."""

    sequence: int
    time_unix_seconds: float
    uptime_seconds: float
    interval_seconds: float
    metrics: List[MetricSample] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Snapshot":
        ms = [
            MetricSample(
                name=m["name"],
                kind=m["kind"],
                unit=m["unit"],
                help=m["help"],
                labels=dict(m["labels"]),
                value=m.get(m["kind"]),
            )
            for m in d["metrics"]
        ]
        return cls(
            sequence=d["sequence"],
            time_unix_seconds=d["time_unix_seconds"],
            uptime_seconds=d.get("uptime_seconds", 0.0),
            interval_seconds=d["interval_seconds"],
            metrics=ms,
        )

    def get(self, name: str, **labels: str) -> Optional[MetricSample]:
        """The series ``name`` with exactly these labels, or ``None``."""
        for m in self.metrics:
            if m.name == name and m.labels == labels:
                return m
        return None

    def value(self, name: str, **labels: str) -> Any:
        """A counter's total, a gauge's value, or a histogram's cumulative statistics."""
        m = self.get(name, **labels)
        if m is None:
            raise KeyError(f"no series {name}{labels or ''} in the snapshot")
        if m.kind == "counter":
            return m.value["total"]
        if m.kind == "histogram":
            return m.value["cumulative"]
        return m.value


def snapshot(engine: Optional[_native.Engine] = None, fresh: bool = True) -> Snapshot:
    """A ``Snapshot`` of ``engine`` (default: the package's)."""
    return Snapshot.from_dict((engine or default_engine()).snapshot(fresh))
