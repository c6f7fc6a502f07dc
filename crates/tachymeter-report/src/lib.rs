//! Analysis and reports over tachymeter's snapshots and history (the seeds' analyzers,
//! reports and Grafana dashboards).
//!
//! This layer reads published snapshots and the engine's time ranges only, on the caller's
//! thread: it never touches a recording thread. It sits beside the monitors
//! (`tachymeter-monitor`), above the engine (`tachymeter`), and below the CLI.
//!
//! - [`analysis`]: trends with a significance test, stability scores, bottlenecks,
//!   recommendations, grades, memory-leak detection, baselines and period comparison.
//! - [`grafana`]: a Grafana dashboard generated from a snapshot's metrics.
//! - [`report`]: performance reports over a range, a session or a snapshot document, their
//!   comparison, dashboard data, and exports to JSON (schema documented), CSV and HTML.
//! - [`web`]: a live web dashboard at `/` of the metrics endpoint, with a versioned JSON API
//!   (`/api/v1/...`).
//! - [`docs::guide`]: the guide to all three, with examples and the CLI commands.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod docs;
pub mod grafana;
pub mod report;
pub mod web;
