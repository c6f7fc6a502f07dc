#!/usr/bin/env bash
# Opt-in (not part of .ci/run): runs the unsafe code's tests and the engine's unit tests under
# miri. Needs a nightly toolchain with the miri component; exits 0 with a notice otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "notice: miri needs a nightly toolchain with the miri component (rustup +nightly component add miri); skipped"
  exit 0
fi
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}"
# The unsafe module, the shards and slots; proptests are too slow under miri.
cargo +nightly miri test -p tachymeter --lib -- shard_array:: shard:: slots:: registry::
