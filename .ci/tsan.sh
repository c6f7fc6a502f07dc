#!/usr/bin/env bash
# Opt-in (not part of .ci/run): the engine's integration tests under ThreadSanitizer. Needs a
# nightly toolchain with rust-src (for -Zbuild-std); exits 0 with a notice otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly rustc --version >/dev/null 2>&1 \
   || ! rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "notice: thread sanitizer needs a nightly toolchain with rust-src (rustup +nightly component add rust-src); skipped"
  exit 0
fi
export RUSTFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR=target/tsan
target=$(rustc -vV | sed -n 's/^host: //p')
cargo +nightly test -Zbuild-std --target "$target" -p tachymeter --test engine
