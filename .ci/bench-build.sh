#!/usr/bin/env bash
# Builds every benchmark (criterion benches and the hotpath/memory binaries) without running them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p tachymeter-benches --no-run
