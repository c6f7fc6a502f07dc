//! Recommendations from a documented rule table (see the [module docs](super#recommendations)).

use super::baseline::Regression;
use super::bottleneck::{Bottleneck, BottleneckKind, Impact, ResourceUsage};
use super::leak::LeakAssessment;
use serde::{Deserialize, Serialize};
use tachymeter_monitor::Priority;

/// What a recommendation is about (serialised as the seeds' `type` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationType {
    /// CPU above 80% (the seeds' rule).
    CpuOptimization,
    /// Memory above 85% (the seeds' rule).
    MemoryOptimization,
    /// Disk above 90%.
    DiskOptimization,
    /// Error rate above 1%.
    ErrorRate,
    /// Cache hit rate below 80%.
    CacheOptimization,
    /// A memory leak is suspected.
    MemoryLeak,
    /// A statistic rose significantly, by at least 10%, against its baseline.
    PerformanceRegression,
    /// A stage takes at least half of the time.
    StageOptimization,
    /// A stage is at least 1.5x slower than its baseline.
    StageSlowdown,
}

/// One recommendation (the seeds' `{type, priority, message, suggestion}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recommendation {
    /// What it is about.
    #[serde(rename = "type")]
    pub kind: RecommendationType,
    /// How urgent it is.
    pub priority: Priority,
    /// What was found, with the numbers.
    pub message: String,
    /// What to do.
    pub suggestion: String,
}

/// What the rules look at; leave out what was not measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Findings<'a> {
    /// Average resource use (ratios 0–1).
    pub resources: ResourceUsage,
    /// Errors per request (0–1).
    pub error_rate: Option<f64>,
    /// Cache hits per lookup (0–1).
    pub cache_hit_rate: Option<f64>,
    /// Period comparisons, by series name.
    pub regressions: &'a [(&'a str, Regression)],
    /// The memory-leak assessment.
    pub leak: Option<&'a LeakAssessment>,
    /// Bottlenecks (from [`identify_bottlenecks`](super::identify_bottlenecks)).
    pub bottlenecks: &'a [Bottleneck],
}

/// CPU ratio above which rule 1 fires (the seeds' 80%).
pub const CPU_HIGH: f64 = 0.80;
/// Memory ratio above which rule 2 fires (the seeds' 85%).
pub const MEMORY_HIGH: f64 = 0.85;
/// Disk ratio above which rule 3 fires (high above 0.95, the resource monitor's threshold).
pub const DISK_HIGH: f64 = 0.90;
/// Error rate above which rule 4 fires (high above 0.05, the inference monitor's threshold).
pub const ERROR_RATE_MEDIUM: f64 = 0.01;
/// Cache hit rate below which rule 5 fires (the inference monitor's 0.8; high below 0.5).
pub const CACHE_HIT_RATE_LOW: f64 = 0.80;
/// Relative increase from which a significant regression fires rule 7 (high from 0.5).
pub const REGRESSION_MIN_RELATIVE: f64 = 0.10;

/// The recommendations the rule table gives for `findings`, highest priority first (rule order
/// within a priority). Non-finite inputs match no rule.
pub fn recommendations(findings: &Findings<'_>) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let mut add = |kind, priority, message: String, suggestion: &str| {
        out.push(Recommendation {
            kind,
            priority,
            message,
            suggestion: suggestion.to_string(),
        });
    };
    let fin = |v: Option<f64>| v.filter(|v| v.is_finite());
    let r = findings.resources;
    if let Some(cpu) = fin(r.cpu).filter(|&c| c > CPU_HIGH) {
        add(
            RecommendationType::CpuOptimization,
            Priority::High,
            format!("High CPU utilization detected ({:.1}%)", cpu * 100.0),
            "Consider optimizing CPU-intensive operations or scaling horizontally",
        );
    }
    if let Some(mem) = fin(r.memory).filter(|&m| m > MEMORY_HIGH) {
        add(
            RecommendationType::MemoryOptimization,
            Priority::High,
            format!("High memory utilization detected ({:.1}%)", mem * 100.0),
            "Review memory usage patterns and consider memory optimization",
        );
    }
    if let Some(disk) = fin(r.disk).filter(|&d| d > DISK_HIGH) {
        add(
            RecommendationType::DiskOptimization,
            if disk > 0.95 {
                Priority::High
            } else {
                Priority::Medium
            },
            format!("Disk nearly full ({:.1}%)", disk * 100.0),
            "Free disk space (logs, caches, old data) or add capacity",
        );
    }
    if let Some(e) = fin(findings.error_rate).filter(|&e| e > ERROR_RATE_MEDIUM) {
        add(
            RecommendationType::ErrorRate,
            if e > 0.05 {
                Priority::High
            } else {
                Priority::Medium
            },
            format!("High error rate ({:.2}%)", e * 100.0),
            "Inspect the most frequent error kinds and their inputs; add retries or validation",
        );
    }
    if let Some(h) = fin(findings.cache_hit_rate).filter(|&h| h < CACHE_HIT_RATE_LOW) {
        add(
            RecommendationType::CacheOptimization,
            if h < 0.5 {
                Priority::High
            } else {
                Priority::Medium
            },
            format!("Low cache hit rate ({:.1}%)", h * 100.0),
            "Increase the cache size or its time-to-live, or review the cache keys",
        );
    }
    if let Some(leak) = findings.leak.filter(|l| l.suspected) {
        add(
            RecommendationType::MemoryLeak,
            Priority::High,
            format!(
                "Memory leak suspected: the resident floor grows {:.1} MiB/h",
                leak.growth_bytes_per_hour / 1024.0 / 1024.0
            ),
            "Profile allocations over time and look for caches or collections that only grow",
        );
    }
    for (series, reg) in findings.regressions {
        if reg.significant && reg.relative >= REGRESSION_MIN_RELATIVE {
            add(
                RecommendationType::PerformanceRegression,
                if reg.relative >= 0.5 {
                    Priority::High
                } else {
                    Priority::Medium
                },
                format!(
                    "{series} {:?} rose {:+.1}% against the baseline ({} -> {})",
                    reg.statistic,
                    reg.relative * 100.0,
                    reg.baseline,
                    reg.current
                ),
                "Compare the changes deployed between the two periods; profile the slow path",
            );
        }
    }
    for b in findings.bottlenecks {
        match (b.kind, b.impact) {
            (BottleneckKind::TimeShare, Impact::High) => add(
                RecommendationType::StageOptimization,
                Priority::Medium,
                b.message.clone(),
                &b.recommendation,
            ),
            (BottleneckKind::Slowdown, Impact::High | Impact::Medium) => add(
                RecommendationType::StageSlowdown,
                if b.impact == Impact::High {
                    Priority::High
                } else {
                    Priority::Medium
                },
                b.message.clone(),
                &b.recommendation,
            ),
            _ => {}
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.priority)); // stable: rule order within a priority
    out
}
