//! The seeds' performance grade from average CPU and memory utilisation.

use serde::{Deserialize, Serialize};

/// The seeds' `performance_grade`: bands of average utilisation `(cpu% + memory%) / 2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Average utilisation below 30%.
    Excellent,
    /// 30% to below 50%.
    Good,
    /// 50% to below 70%.
    Fair,
    /// 70% or more.
    Poor,
}

impl Grade {
    /// The band of an average utilisation in percent; `None` if it is not finite.
    pub fn from_utilisation(percent: f64) -> Option<Grade> {
        if !percent.is_finite() {
            None
        } else if percent < 30.0 {
            Some(Grade::Excellent)
        } else if percent < 50.0 {
            Some(Grade::Good)
        } else if percent < 70.0 {
            Some(Grade::Fair)
        } else {
            Some(Grade::Poor)
        }
    }
}

/// The seeds' `_calculate_performance_grade(avg_cpu, avg_memory)`: the band of
/// `(avg_cpu_percent + avg_memory_percent) / 2` (percent, 0–100); `None` if either is not
/// finite.
pub fn grade(avg_cpu_percent: f64, avg_memory_percent: f64) -> Option<Grade> {
    Grade::from_utilisation((avg_cpu_percent + avg_memory_percent) / 2.0)
}
