#!/usr/bin/env bash
# Instruction-count gate for the hot paths (benches/scripts/callgrind.sh; limits in
# benches/callgrind-limits.txt). Deterministic, unlike timings on shared cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq valgrind
fi
bash benches/scripts/callgrind.sh
