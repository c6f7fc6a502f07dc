#!/usr/bin/env bash
# Instruction-count gate for the hot paths (benches/scripts/callgrind.sh; limits in
# benches/callgrind-limits.txt), then the demo's instruction overhead per request
# (benches/scripts/demo-instructions.sh, limit in benches/callgrind-demo.txt). Deterministic,
# unlike timings on shared cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq valgrind
fi
bash benches/scripts/callgrind.sh
bash benches/scripts/demo-instructions.sh
