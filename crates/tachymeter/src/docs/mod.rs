//! Long-form documentation, kept out of the README (the way arc-swap keeps `docs::*`): each
//! module is one markdown file next to this one (`src/docs/*.md`), included as the module's
//! docs, so `cargo doc` carries it and its Rust code blocks run as doc tests.
//!
//! - [`guide`]: metric kinds and their statistics, units and float values, label families,
//!   record logs, time ranges, resets.
//! - [`guarantees`]: what recording never does, what is exact, what is approximate and by how
//!   much, memory per metric.
//! - [`limitations`]: what is not implemented, and the limits to design around.
//! - [`bad_input`]: what happens to bad values, settings, registrations and macro calls.
//! - [`performance`]: why the engine is built this way, and where its measured figures are.
//! - [`verification`]: how we know it is correct: the test suites, loom models, fuzzing, CI.
//!
//! Design notes (memory layout, orderings, how to add a metric kind) are in
//! [`implementation`](crate::implementation). The monitors, reports and exporters keep their
//! guides in their own crates (`tachymeter_monitor::docs`, `tachymeter_report::docs`,
//! `tachymeter_export::docs`).
#![allow(missing_docs)] // the modules' docs are the included markdown files

#[doc = include_str!("guide.md")]
pub mod guide {}

#[doc = include_str!("guarantees.md")]
pub mod guarantees {}

#[doc = include_str!("limitations.md")]
pub mod limitations {}

#[doc = include_str!("bad_input.md")]
pub mod bad_input {}

#[doc = include_str!("performance.md")]
pub mod performance {}

#[doc = include_str!("verification.md")]
pub mod verification {}

/// The top-level README's Rust code blocks, compiled and run as doc tests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../../README.md")]
pub struct Readme;
