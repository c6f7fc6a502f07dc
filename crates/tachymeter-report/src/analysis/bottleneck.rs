//! Bottlenecks: time share per stage, slowdown against a baseline, resource saturation.

use serde::{Deserialize, Serialize};

/// How much a bottleneck costs (see the [module docs](super#bottlenecks) for the cut-offs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Worth a look.
    Low,
    /// Costs noticeable time or headroom.
    Medium,
    /// Fix first.
    High,
}

/// What made a component a bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BottleneckKind {
    /// The stage takes a large share of the summed time of all stages.
    TimeShare,
    /// The stage is slower than its baseline by more than the estimates' error.
    Slowdown,
    /// A resource is close to full.
    Saturation,
}

/// One stage's summed time over the analysed period (e.g. a profiler operation's
/// `total_time`, or a pipeline stage's `…_time_total` counter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    /// The stage's name.
    pub stage: String,
    /// Its summed time, seconds.
    pub total_seconds: f64,
}

impl StageTime {
    /// A stage and its summed time in seconds.
    pub fn new(stage: impl Into<String>, total_seconds: f64) -> StageTime {
        StageTime {
            stage: stage.into(),
            total_seconds,
        }
    }
}

/// A value estimated within a relative error (a histogram quantile: `relative_error` is
/// [`relative_error_bound`](tachymeter::histogram::relative_error_bound) of its schema; an exact
/// mean: 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// The true value lies within `value × (1 ± relative_error)`.
    pub relative_error: f64,
}

impl Estimate {
    /// An estimate within `relative_error`.
    pub fn new(value: f64, relative_error: f64) -> Estimate {
        Estimate {
            value,
            relative_error,
        }
    }

    /// An exact value.
    pub fn exact(value: f64) -> Estimate {
        Estimate::new(value, 0.0)
    }
}

/// A stage's current time against its baseline (means or the same quantile of both periods).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageComparison {
    /// The stage's name.
    pub stage: String,
    /// The current period's value, seconds.
    pub current: Estimate,
    /// The baseline period's value, seconds.
    pub baseline: Estimate,
}

/// Average resource use over the analysed period, ratios in `[0, 1]` (`None`: not measured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceUsage {
    /// Busy share of all CPUs.
    pub cpu: Option<f64>,
    /// Used share of RAM.
    pub memory: Option<f64>,
    /// Used share of the disk (the root mount in the adapters).
    pub disk: Option<f64>,
}

/// What [`identify_bottlenecks`] looks at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BottleneckInput {
    /// Summed time per stage.
    pub stages: Vec<StageTime>,
    /// Stages against their baselines.
    pub comparisons: Vec<StageComparison>,
    /// Average resource use.
    pub resources: ResourceUsage,
}

/// A bottleneck (the seeds' `{component, impact, recommendation}`) with the number it was
/// judged on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bottleneck {
    /// The stage or resource (`cpu`, `memory`, `disk`).
    pub component: String,
    /// Why it is one.
    pub kind: BottleneckKind,
    /// How much it costs.
    pub impact: Impact,
    /// The number judged: share of total time (0–1), conservative slowdown factor, or usage
    /// ratio (0–1).
    pub value: f64,
    /// What was found, in words with the numbers.
    pub message: String,
    /// What to do about it.
    pub recommendation: String,
}

/// Impact of a stage's share of the total time: high ≥ 0.5, medium ≥ 0.25, low ≥ 0.10.
pub const SHARE_CUTOFFS: [f64; 3] = [0.5, 0.25, 0.10];
/// Impact of a conservative slowdown factor: high ≥ 2, medium ≥ 1.5, low ≥ 1.2.
pub const SLOWDOWN_CUTOFFS: [f64; 3] = [2.0, 1.5, 1.2];
/// Impact of a resource usage ratio: high ≥ 0.90, medium ≥ 0.80, low ≥ 0.70.
pub const SATURATION_CUTOFFS: [f64; 3] = [0.90, 0.80, 0.70];

fn impact(value: f64, cutoffs: [f64; 3]) -> Option<Impact> {
    if value >= cutoffs[0] {
        Some(Impact::High)
    } else if value >= cutoffs[1] {
        Some(Impact::Medium)
    } else if value >= cutoffs[2] {
        Some(Impact::Low)
    } else {
        None
    }
}

/// Each stage's share of the summed time of all stages, largest first (stages with a
/// non-finite or negative time are ignored; an all-zero total gives no shares).
pub fn time_shares(stages: &[StageTime]) -> Vec<(String, f64)> {
    let ok = |s: &&StageTime| s.total_seconds.is_finite() && s.total_seconds >= 0.0;
    let total: f64 = stages.iter().filter(ok).map(|s| s.total_seconds).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut out: Vec<(String, f64)> = stages
        .iter()
        .filter(ok)
        .map(|s| (s.stage.clone(), s.total_seconds / total))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The conservative slowdown factor `current(1 − e_c) / (baseline(1 + e_b))`: the smallest
/// ratio the true values can have given both estimates' error bounds. `None` when a value is
/// not finite and positive.
pub fn slowdown(current: Estimate, baseline: Estimate) -> Option<f64> {
    let ok = |e: Estimate| {
        e.value.is_finite()
            && e.value > 0.0
            && e.relative_error.is_finite()
            && (0.0..1.0).contains(&e.relative_error)
    };
    (ok(current) && ok(baseline)).then(|| {
        current.value * (1.0 - current.relative_error)
            / (baseline.value * (1.0 + baseline.relative_error))
    })
}

/// Bottlenecks of `input`, by impact (high first), then kind (time share, slowdown,
/// saturation), then value (largest first). See the [module docs](super#bottlenecks) for the
/// rules; non-finite inputs are ignored.
pub fn identify_bottlenecks(input: &BottleneckInput) -> Vec<Bottleneck> {
    let mut out = Vec::new();
    for (stage, share) in time_shares(&input.stages) {
        if let Some(impact) = impact(share, SHARE_CUTOFFS) {
            out.push(Bottleneck {
                message: format!("{stage} takes {:.1}% of the total time", share * 100.0),
                recommendation: format!(
                    "Optimise {stage} first: it dominates the time spent across stages"
                ),
                component: stage,
                kind: BottleneckKind::TimeShare,
                impact,
                value: share,
            });
        }
    }
    for c in &input.comparisons {
        let Some(factor) = slowdown(c.current, c.baseline) else {
            continue;
        };
        if let Some(impact) = impact(factor, SLOWDOWN_CUTOFFS) {
            out.push(Bottleneck {
                component: c.stage.clone(),
                kind: BottleneckKind::Slowdown,
                impact,
                value: factor,
                message: format!(
                    "{} is at least {factor:.2}x slower than its baseline ({:.6} s vs {:.6} s)",
                    c.stage, c.current.value, c.baseline.value
                ),
                recommendation: format!(
                    "Look for what changed in {} since the baseline period",
                    c.stage
                ),
            });
        }
    }
    let r = input.resources;
    for (name, ratio, advice) in [
        (
            "cpu",
            r.cpu,
            "Optimise CPU-intensive operations or scale horizontally",
        ),
        (
            "memory",
            r.memory,
            "Reduce memory use (caches, buffers) or add memory",
        ),
        ("disk", r.disk, "Free disk space or add capacity"),
    ] {
        let Some(ratio) = ratio.filter(|v| v.is_finite()) else {
            continue;
        };
        if let Some(impact) = impact(ratio, SATURATION_CUTOFFS) {
            out.push(Bottleneck {
                component: name.to_string(),
                kind: BottleneckKind::Saturation,
                impact,
                value: ratio,
                message: format!("{name} usage averages {:.1}%", ratio * 100.0),
                recommendation: advice.to_string(),
            });
        }
    }
    let kind_order = |k: BottleneckKind| match k {
        BottleneckKind::TimeShare => 0,
        BottleneckKind::Slowdown => 1,
        BottleneckKind::Saturation => 2,
    };
    out.sort_by(|a, b| {
        b.impact
            .cmp(&a.impact)
            .then(kind_order(a.kind).cmp(&kind_order(b.kind)))
            .then(b.value.total_cmp(&a.value))
    });
    out
}
