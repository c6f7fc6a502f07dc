#!/usr/bin/env bash
# The loom models (loom-tests/run.sh). Budget: ~1.5 min build + ~2 s models on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash loom-tests/run.sh
