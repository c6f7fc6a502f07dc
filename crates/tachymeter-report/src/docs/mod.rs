//! Long-form documentation (the way arc-swap keeps `docs::*`): markdown files next to this one,
//! included as module docs, so `cargo doc` carries them and their Rust code blocks run as doc
//! tests.
//!
//! - [`guide`]: analysis (trends, stability, bottlenecks, leaks, regressions), reports (HTML,
//!   JSON, CSV, comparison) and Grafana dashboards, with the CLI commands that produce them.
#![allow(missing_docs)] // the modules' docs are the included markdown files

#[doc = include_str!("guide.md")]
pub mod guide {}
