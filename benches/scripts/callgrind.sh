#!/usr/bin/env bash
# Instruction-count gate for tachymeter's hot paths (STYLE.md §21: on shared cores, gate on
# instructions, not time). Builds `hotpath` (benches/src/bin/hotpath.rs) in release, runs each hot
# path N times under callgrind with collection toggled on for that path's `#[inline(never)]`
# function only, prints instructions per record and compares them with
# benches/callgrind-limits.txt. Exits 1 if any path exceeds its limit, 2 on a usage error.
#
# Counts are deterministic for a given compiler, crate graph and valgrind (the loop's own
# black_box/counter overhead, ~2-3 instructions, is included in every path and in the floor).
# Wall time: ~10 s of valgrind after the build.
#
#   benches/scripts/callgrind.sh            # check against the limits
#   benches/scripts/callgrind.sh --update   # rewrite the limits as measured × 1.25 (rounded up)
#
# Updating the limits: only after an intended change to a hot path (or a toolchain bump) that
# moves the counts. Run with --update, review `git diff benches/callgrind-limits.txt` (the old and
# new measured values are in the comments), and commit the file with the change that moved them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LIMITS="$ROOT/benches/callgrind-limits.txt"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
N="${N:-100000}"
PATHS=(counter counter-local histogram histogram-local histogram-f64 gauge timer floor-padded-store)
MODE="${1:-check}"
case "$MODE" in check | --update) ;; *) echo "usage: $0 [--update]" >&2; exit 2 ;; esac

if ! command -v valgrind >/dev/null 2>&1; then
    echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
fi

(cd "$ROOT" && cargo build --quiet --release -p tachymeter-benches --bin hotpath)
BIN="$TARGET_DIR/release/hotpath"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

declare -A MEASURED
for p in "${PATHS[@]}"; do
    fn="hotpath::bench_${p//-/_}"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$p" --toggle-collect="$fn" \
        "$BIN" "$p" "$N" >"$OUT/log.$p" 2>&1
    ir="$(awk '/Collected :/ {print $NF}' "$OUT/log.$p")"
    if [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
        echo "callgrind.sh: no instructions collected for $fn (symbol renamed or inlined?)" >&2
        cat "$OUT/log.$p" >&2
        exit 1
    fi
    MEASURED[$p]="$(awk -v ir="$ir" -v n="$N" 'BEGIN { printf "%.2f", ir / n }')"
done

if [ "$MODE" = "--update" ]; then
    {
        echo "# Instructions per record (callgrind), checked by benches/scripts/callgrind.sh."
        echo "# limit = ceil(measured x 1.25). Regenerate with: benches/scripts/callgrind.sh --update"
        echo "# $(rustc -V), N=$N"
        echo "# path               limit   # measured"
        for p in "${PATHS[@]}"; do
            limit="$(awk -v m="${MEASURED[$p]}" 'BEGIN { l = m * 1.25; printf "%d", (l == int(l)) ? l : int(l) + 1 }')"
            printf '%-20s %6s   # measured %s\n' "$p" "$limit" "${MEASURED[$p]}"
        done
    } >"$LIMITS"
    echo "callgrind.sh: wrote $LIMITS"
fi

status=0
printf '%-20s %12s %8s  %s\n' path instr/record limit verdict
for p in "${PATHS[@]}"; do
    limit="$(awk -v p="$p" '$1 == p { print $2 }' "$LIMITS")"
    if [ -z "$limit" ]; then
        verdict="NO LIMIT (add it to $(basename "$LIMITS"))"
        status=1
    elif awk -v m="${MEASURED[$p]}" -v l="$limit" 'BEGIN { exit !(m > l) }'; then
        verdict="REGRESSION"
        status=1
    else
        verdict="ok"
    fi
    printf '%-20s %12s %8s  %s\n' "$p" "${MEASURED[$p]}" "${limit:--}" "$verdict"
done
# record_f64 (float seconds into a seconds histogram) must cost at most 1.3x record(u64).
ratio="$(awk -v f="${MEASURED[histogram-f64]}" -v h="${MEASURED[histogram]}" 'BEGIN { printf "%.2f", f / h }')"
if awk -v r="$ratio" 'BEGIN { exit !(r > 1.30) }'; then
    echo "histogram-f64 / histogram = $ratio > 1.30: REGRESSION"
    status=1
else
    echo "histogram-f64 / histogram = $ratio (limit 1.30): ok"
fi
if [ "$status" -eq 0 ]; then
    echo "callgrind.sh: all ${#PATHS[@]} hot paths within limits"
else
    echo "callgrind.sh: instruction-count regression (see above)" >&2
fi
exit "$status"
