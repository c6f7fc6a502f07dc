//! Metric kinds: one directory per kind.
#![deny(unsafe_code)]

pub(crate) mod counter;
pub(crate) mod events;
pub(crate) mod gauge;
pub(crate) mod histogram;
pub(crate) mod records;
