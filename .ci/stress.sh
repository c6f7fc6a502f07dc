#!/usr/bin/env bash
# The #[ignore]d stress tests, in release.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release -p tachymeter -p tachymeter-export -- --ignored
