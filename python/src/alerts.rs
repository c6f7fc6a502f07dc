//! Alerting for Python: the general alert manager (crate `tachymeter-monitor::alerting`)
//! evaluated on a Rust thread, with its events handed to Python through a bounded channel.
//!
//! Python handlers are never called from Rust: the manager's only handler pushes each event
//! into a bounded channel (`try_send`; a full queue drops the event and counts it), and the
//! package's Python dispatcher thread drains it with [`AlertManager::next_event`], which
//! waits with the GIL released. So a handler runs on an ordinary Python thread that holds the
//! GIL the ordinary way — never on a recording thread, never on the evaluator thread, and a
//! slow handler delays neither. Stopping joins the evaluator with the GIL released.

use crate::engine::Engine;
use crate::monitors::{EndpointTracker, InferenceMetrics, ResourceMonitor};
use crate::{error, guard, seconds, to_py, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tachymeter_monitor::alerting::{self as al, AlertEvent, AlertRule, Severity, Window};
use tachymeter_monitor::{EngineRef, InferenceThresholds};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AlertManager>()?;
    Ok(())
}

/// `info`, `warning` or `critical` (the seeds' `low`, `medium`, `high` too).
pub(crate) fn severity(s: &str) -> PyResult<Severity> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "info" | "low" => Severity::Info,
        "warning" | "medium" => Severity::Warning,
        "critical" | "high" => Severity::Critical,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown severity {other:?}: use info, warning or critical"
            )))
        }
    })
}

fn rule_err(e: al::RuleError) -> PyErr {
    error(ErrorKind::Config, format!("invalid alert rule: {e}"))
}

struct Evaluator {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

/// Alert rules evaluated on every snapshot of an engine, on a Rust thread; events are queued
/// for a Python dispatcher (`next_event`).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct AlertManager {
    pub(crate) inner: al::AlertManager,
    engine: EngineRef,
    rx: Mutex<Receiver<AlertEvent>>,
    dropped: Arc<AtomicU64>,
    evaluator: Mutex<Option<Evaluator>>,
}

impl AlertManager {
    fn window(intervals: Option<u32>) -> Window {
        intervals.map_or(Window::Engine, Window::Intervals)
    }
}

#[pymethods]
impl AlertManager {
    /// A manager on `engine`, keeping the last `history` events; up to `queue` events wait
    /// for the Python dispatcher (more are dropped and counted in `dropped`).
    #[new]
    #[pyo3(signature = (engine, history=1000, queue=10_000))]
    fn new(engine: &Engine, history: usize, queue: usize) -> Self {
        let inner = al::AlertManager::with_history(history);
        let (tx, rx) = sync_channel::<AlertEvent>(queue.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = dropped.clone();
        inner.on_any(move |e| {
            if tx.try_send(e.clone()).is_err() {
                // Relaxed: a statistic.
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        AlertManager {
            inner,
            engine: engine.inner.clone(),
            rx: Mutex::new(rx),
            dropped,
            evaluator: Mutex::new(None),
        }
    }

    /// Adds the seeds' four inference alerts (`InferenceHighErrorRate`,
    /// `InferenceHighLatency`, `InferenceLowThroughput`, `InferenceLowCacheHitRate`) on
    /// `metrics`' series; returns their names.
    #[pyo3(signature = (metrics, error_rate=0.05, latency_p95=0.1, throughput_min=100.0, cache_hit_rate=0.8, cooldown=300.0, window_intervals=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_inference_rules(
        &self,
        metrics: &InferenceMetrics,
        error_rate: f64,
        latency_p95: f64,
        throughput_min: f64,
        cache_hit_rate: f64,
        cooldown: f64,
        window_intervals: Option<u32>,
    ) -> PyResult<Vec<String>> {
        let mut t = InferenceThresholds::default();
        t.error_rate = error_rate;
        t.latency_p95 = latency_p95;
        t.throughput_min = throughput_min;
        t.cache_hit_rate = cache_hit_rate;
        t.cooldown = seconds("cooldown", cooldown)?;
        t.window = Self::window(window_intervals);
        let rules = metrics.inner.alert_rules(&t).map_err(rule_err)?;
        self.add_all(rules)
    }

    /// Adds the API tracker's rules (`ApiHighErrorRate`, `ApiHighLatency`).
    #[pyo3(signature = (tracker, error_rate=0.05, latency_p95=0.5))]
    fn add_endpoint_rules(
        &self,
        tracker: &EndpointTracker,
        error_rate: f64,
        latency_p95: f64,
    ) -> PyResult<Vec<String>> {
        let rules = tracker
            .inner
            .alert_rules(error_rate, latency_p95)
            .map_err(rule_err)?;
        self.add_all(rules)
    }

    /// Adds the resource monitor's rules (CPU, memory, disk above its thresholds).
    fn add_resource_rules(&self, monitor: &ResourceMonitor) -> PyResult<Vec<String>> {
        let rules = monitor.inner.alert_rules().map_err(rule_err)?;
        self.add_all(rules)
    }

    /// Adds one rule. `statistic`: `gauge` (latest value), `counter_rate` (increase per
    /// second), `counter_ratio` (increase of `metric` over increase of `denominator`),
    /// `quantile` (`q` of a histogram), `mean` or `throughput` (observations per second) of a
    /// histogram. Exactly one of `above` / `below`.
    #[pyo3(signature = (name, statistic, metric, labels=None, q=None, denominator=None, above=None, below=None, resolve=None, severity="warning", for_seconds=0.0, cooldown=300.0, escalate=true, window_intervals=None, summary=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_rule(
        &self,
        name: &str,
        statistic: &str,
        metric: &str,
        labels: Option<BTreeMap<String, String>>,
        q: Option<f64>,
        denominator: Option<&str>,
        above: Option<f64>,
        below: Option<f64>,
        resolve: Option<f64>,
        severity: &str,
        for_seconds: f64,
        cooldown: f64,
        escalate: bool,
        window_intervals: Option<u32>,
        summary: Option<&str>,
    ) -> PyResult<()> {
        let sel = |m: &str| {
            let mut s = al::Selector::new(m);
            for (k, v) in labels.iter().flatten() {
                s = s.label(k.as_str(), v.as_str());
            }
            s
        };
        let b = AlertRule::builder(name);
        let b = match statistic {
            "gauge" => b.gauge(sel(metric)),
            "counter_rate" => b.counter_rate(sel(metric)),
            "counter_ratio" => {
                let d = denominator.ok_or_else(|| {
                    PyValueError::new_err("statistic 'counter_ratio' needs denominator=")
                })?;
                b.counter_ratio(sel(metric), sel(d))
            }
            "quantile" => {
                let q = q.ok_or_else(|| PyValueError::new_err("statistic 'quantile' needs q="))?;
                b.quantile(sel(metric), q)
            }
            "mean" => b.mean(sel(metric)),
            "throughput" => b.throughput(sel(metric)),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown statistic {other:?}: use gauge, counter_rate, counter_ratio, \
                     quantile, mean or throughput"
                )))
            }
        };
        let b = match (above, below) {
            (Some(t), None) => b.above(t),
            (None, Some(t)) => b.below(t),
            _ => {
                return Err(PyValueError::new_err(
                    "give exactly one of above= or below=",
                ))
            }
        };
        let mut b = b
            .severity(self::severity(severity)?)
            .for_duration(seconds("for_seconds", for_seconds)?)
            .cooldown(seconds("cooldown", cooldown)?)
            .escalate(escalate)
            .window(Self::window(window_intervals));
        if let Some(r) = resolve {
            b = b.resolve(r);
        }
        if let Some(s) = summary {
            b = b.annotation("summary", s);
        }
        let rule = b.build().map_err(rule_err)?;
        self.inner.add_rule(rule).map_err(rule_err)
    }

    /// Removes a rule; true if it existed.
    fn remove_rule(&self, name: &str) -> bool {
        self.inner.remove_rule(name)
    }

    /// The rules' names.
    fn rule_names(&self) -> Vec<String> {
        self.inner.rules().into_iter().map(|r| r.name).collect()
    }

    /// Evaluates the rules on the latest snapshot now (`flush`: collect one first), on the
    /// calling thread with the GIL released; returns the events (also queued for handlers).
    #[pyo3(signature = (flush=false))]
    fn evaluate<'py>(&self, py: Python<'py>, flush: bool) -> PyResult<Bound<'py, PyAny>> {
        let events = py.detach(|| {
            guard("evaluate", || {
                let snap = if flush {
                    self.engine.flush()
                } else {
                    self.engine.snapshot()
                };
                self.inner.evaluate(&snap)
            })
        })?;
        to_py(py, &events)
    }

    /// Starts the evaluator thread: every snapshot the engine publishes is evaluated, polled
    /// every `poll` seconds (default a quarter of the engine's interval, 1 ms ..= 250 ms).
    /// Idempotent.
    #[pyo3(signature = (poll=None))]
    fn start(&self, py: Python<'_>, poll: Option<f64>) -> PyResult<()> {
        let poll = poll.map(|p| seconds("poll", p)).transpose()?;
        let mut ev = self
            .evaluator
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if ev.is_some() {
            return Ok(());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let engine = self.engine.clone();
        let manager = self.inner.clone();
        let handle = py
            .detach(|| {
                std::thread::Builder::new()
                    .name("tachymeter-py-alerts".into())
                    .spawn(move || {
                        // Acquire: pairs with the Release store in `stop`.
                        while !flag.load(Ordering::Acquire) {
                            let snap = engine.snapshot();
                            if snap.sequence() > 0 {
                                manager.evaluate(&snap);
                            }
                            let period = poll.unwrap_or_else(|| {
                                (snap.interval() / 4)
                                    .clamp(Duration::from_millis(1), Duration::from_millis(250))
                            });
                            std::thread::park_timeout(period);
                        }
                    })
            })
            .map_err(|e| error(ErrorKind::Server, format!("cannot start alerting: {e}")))?;
        *ev = Some(Evaluator { stop, handle });
        Ok(())
    }

    /// Stops the evaluator thread and waits for it (GIL released). Idempotent. Queued events
    /// stay queued for `next_event`.
    fn stop(&self, py: Python<'_>) {
        let ev = self
            .evaluator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(ev) = ev {
            // Release: the thread's Acquire load sees it after the unpark.
            ev.stop.store(true, Ordering::Release);
            ev.handle.thread().unpark();
            py.detach(move || {
                let _ = ev.handle.join();
            });
        }
    }

    /// True while the evaluator thread runs.
    #[getter]
    fn running(&self) -> bool {
        self.evaluator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|e| !e.handle.is_finished())
    }

    /// The next queued event as a dict (the seeds' alert keys: `message`, `current_value`,
    /// `threshold`, `severity`, `timestamp`, …), waiting up to `timeout` seconds with the GIL
    /// released; `None` if none came.
    #[pyo3(signature = (timeout=0.1))]
    fn next_event<'py>(
        &self,
        py: Python<'py>,
        timeout: f64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let timeout = seconds("timeout", timeout)?;
        let got = py.detach(|| {
            let rx = self.rx.lock().unwrap_or_else(PoisonError::into_inner);
            // A timeout and a closed channel both mean "no event".
            rx.recv_timeout(timeout).ok()
        });
        got.map(|e| to_py(py, &e)).transpose()
    }

    /// The seeds' `get_alert_summary()` dict.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.summary())
    }

    /// The last events, oldest first.
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.history())
    }

    /// Alerts firing now.
    fn active<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.active())
    }

    /// Every rule's latest evaluation.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.status())
    }

    /// Events dropped because the queue for the Python handlers was full.
    #[getter]
    fn dropped(&self) -> u64 {
        // Relaxed: a statistic.
        self.dropped.load(Ordering::Relaxed)
    }
}

impl AlertManager {
    fn add_all(&self, rules: Vec<AlertRule>) -> PyResult<Vec<String>> {
        let mut names = Vec::with_capacity(rules.len());
        for r in rules {
            names.push(r.name.clone());
            self.inner.add_rule(r).map_err(rule_err)?;
        }
        Ok(names)
    }
}

impl Drop for AlertManager {
    fn drop(&mut self) {
        // Dropped by the garbage collector: stop the evaluator without waiting for it (it
        // never takes the GIL, and exits at its next poll).
        if let Some(ev) = self
            .evaluator
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            ev.stop.store(true, Ordering::Release);
            ev.handle.thread().unpark();
        }
    }
}
