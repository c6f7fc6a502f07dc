//! Long-form documentation (the way arc-swap keeps `docs::*`): markdown files next to this one,
//! included as module docs, so `cargo doc` carries them and their Rust code blocks run as doc
//! tests.
//!
//! - [`guide`]: every monitor with an example (inference, endpoints, caches, profiler,
//!   serialization, queries, response-time targets, business metrics, custom metrics,
//!   operations, resources), alerting, and configuration.
#![allow(missing_docs)] // the modules' docs are the included markdown files

#[doc = include_str!("guide.md")]
pub mod guide {}
