#!/usr/bin/env bash
# Runs the loom models (loom-tests/tests/models.rs) over the real engine source.
# Budget: ~2 min build + < 3 min models on 2 cores (measured: see tachymeter::docs::verification,
# crates/tachymeter/src/docs/verification.md, "Loom models").
# Only this crate is built with --cfg loom (into its own target dir, so the normal build's
# artifacts are not invalidated).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg loom -C debug-assertions=on"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}"
cargo test -p tachymeter-loom-tests --release --test models -- --test-threads=2 "$@"
