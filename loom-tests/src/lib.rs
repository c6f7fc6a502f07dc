//! Loom models of the tachymeter engine live in `tests/models.rs`; they compile only with
//! `--cfg loom` (run `loom-tests/run.sh`). Without it this crate is empty.
#![forbid(unsafe_code)]
