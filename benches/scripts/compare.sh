#!/usr/bin/env bash
# The heavy peer comparison, on demand: runs the `compare` bench with short criterion settings,
# runs the `memory` binary, and writes benches/RESULTS.md through scripts/report.py (python3,
# stdlib only): generated, never edited by hand, stamped with the commit measured
# (`git rev-parse --short HEAD`, `-dirty` when tracked files had uncommitted changes at the
# start of the run) and the date. How to read it: benches/README.md.
#
# Wall time on 2 shared cores: ~100 benchmarks × (warm-up + measurement + analysis) plus the
# flush grid: measured 250-285 s after the build (the first build of the peers takes a few more
# minutes). Fewer groups with a criterion filter (a regex over "group/function"):
#
#   benches/scripts/compare.sh                             # all groups
#   benches/scripts/compare.sh '^(counter|histogram)/'     # 1- and 2-thread counter + histogram
#   WARMUP=1 MEASURE=3 SAMPLES=30 benches/scripts/compare.sh   # longer, steadier
#
# Only results written by this run are reported (older criterion directories are ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CRITERION_HOME="$TARGET_DIR/criterion"
WARMUP="${WARMUP:-0.5}"
MEASURE="${MEASURE:-1.5}"
SAMPLES="${SAMPLES:-20}"
FILTER="${1:-}"
SETTINGS="--warm-up-time $WARMUP --measurement-time $MEASURE --sample-size $SAMPLES"

cd "$ROOT"
command -v python3 >/dev/null 2>&1 || { echo "compare.sh: python3 is required for the report" >&2; exit 2; }

# The stamp is taken before the build, so it names the sources that were built and measured.
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no-commit")"
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    COMMIT="$COMMIT-dirty"
fi
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"

# Build first so that the start stamp excludes compile time and a build failure stops early.
cargo bench --quiet -p tachymeter-benches --bench compare --no-run
cargo build --quiet --release -p tachymeter-benches --bin memory

STATS="$TARGET_DIR/criterion-pool-stats.tsv"
: >"$STATS"
export TACHYMETER_BENCH_STATS="$STATS"

START="$(date +%s)"
# shellcheck disable=SC2086 # SETTINGS is a list of flags
cargo bench --quiet -p tachymeter-benches --bench compare -- $SETTINGS ${FILTER:+"$FILTER"}

MEMORY="$(mktemp)"
trap 'rm -f "$MEMORY"' EXIT
"$TARGET_DIR/release/memory" >"$MEMORY"

python3 "$ROOT/benches/scripts/report.py" \
    --criterion "$CRITERION_HOME" \
    --since "$START" \
    --memory "$MEMORY" \
    --lock "$ROOT/Cargo.lock" \
    --settings "$SETTINGS${FILTER:+, filter '$FILTER'}" \
    --stats "$STATS" \
    --commit "$COMMIT" \
    --date "$DATE" \
    --out "$ROOT/benches/RESULTS.md"
echo "compare.sh: done in $(($(date +%s) - START)) s"
