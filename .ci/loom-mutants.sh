#!/usr/bin/env bash
# Proves every loom model can fail: applies each deliberate protocol break in
# loom-tests/mutants.py to a copy of the workspace and requires its model to fail.
# Budget: ~1 min build + ~15 s per mutant on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 loom-tests/mutants.py
