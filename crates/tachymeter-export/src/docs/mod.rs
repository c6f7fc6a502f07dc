//! Long-form documentation (the way arc-swap keeps `docs::*`): markdown files next to this one,
//! included as module docs, so `cargo doc` carries them and their Rust code blocks run as doc
//! tests.
//!
//! - [`guide`]: the `/metrics` endpoint (routes, content negotiation), its limits against
//!   hostile clients, the formats, and what is not implemented.
//! - [`fleet`]: what one process costs its collector per series (scrape and push), measured.
#![allow(missing_docs)] // the modules' docs are the included markdown files

#[doc = include_str!("guide.md")]
pub mod guide {}

#[doc = include_str!("fleet.md")]
pub mod fleet {}
