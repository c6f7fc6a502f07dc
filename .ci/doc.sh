#!/usr/bin/env bash
# Rustdoc with warnings denied (broken intra-doc links, missing docs); doc tests run in test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
