//! Analysis: being written.
