#!/usr/bin/env bash
# Runs the same demo (same seed) RUNS times (default 10) and checks its overhead figure against itself: every
# run's 95% confidence interval should contain the median of the RUNS point estimates. Prints
# one line per run and the verdict. Use it to judge the demo's "instrumentation overhead" line
# on a given machine (README "Overhead").
#
#   benches/scripts/overhead-runs.sh [RUNS] [DEMO_ARGS...]     # default: 10 --duration 5s
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
RUNS="${1:-10}"; shift || true
ARGS=("$@"); [ ${#ARGS[@]} -gt 0 ] || ARGS=(--duration 5s)
(cd "$ROOT" && cargo build --quiet --release -p tachymeter-cli --bin tachymeter)
BIN="$TARGET_DIR/release/tachymeter"
OUT="$(mktemp)"; trap 'rm -f "$OUT"' EXIT
for i in $(seq 1 "$RUNS"); do
    line="$("$BIN" demo --fault off --listen off --no-tui "${ARGS[@]}" | grep '^instrumentation overhead:')"
    # "instrumentation overhead: +1.2% (95% CI -0.4…+2.9%) = ..."
    echo "$line" | sed -E 's/^instrumentation overhead: ([-+0-9.]+)% \(95% CI ([-+0-9.]+)…([-+0-9.]+)%\).* = ([-+0-9.]+) ns per request.*/\1 \2 \3 \4/' >>"$OUT"
    echo "run $i: ${line#instrumentation overhead: }"
done
# Median of the point estimates (column 1), then count the intervals (columns 2, 3) holding it.
med="$(cut -d' ' -f1 "$OUT" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
awk -v med="$med" '{ if ($2 <= med && med <= $3) inside++ }
END {
    printf "median of the %d point estimates: %+.2f%%; %d of %d intervals contain it\n", NR, med, inside, NR
    exit (inside == NR) ? 0 : 1
}' "$OUT"
