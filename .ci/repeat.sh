#!/usr/bin/env bash
# The engine's integration tests, 10 runs in a row, so that a flaky test cannot land again
# (one once failed a new user's first `cargo test` about 25 times in 60). Builds once.
# Budget: ~30 s on 2 cores after the test build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${REPEAT_RUNS:-10}"
cargo test -p tachymeter --tests --no-run --quiet
for i in $(seq 1 "$runs"); do
  if ! out=$(cargo test -p tachymeter --tests --quiet 2>&1); then
    echo "$out"
    echo "repeat.sh: run $i of $runs failed"
    exit 1
  fi
done
echo "repeat.sh: $runs runs of the engine integration tests passed"
