#!/usr/bin/env bash
# The demo's instrumentation overhead in instructions: the stable figure behind the demo's
# timed "instrumentation overhead" line (timings on shared cores move by several percent
# between runs; instruction counts do not).
#
# Builds the `tachymeter` binary in release and runs `tachymeter overhead-probe plain|live N`
# under callgrind, counting only the loop (`tachymeter::probe_plain` / `tachymeter::probe_live`:
# N of the demo's requests on one thread, without and with instrumentation, after a warm-up).
# Prints instructions per request for each, the extra instructions per request and per
# recording call, and fails if the extra per request exceeds the limit in
# benches/callgrind-demo.txt (written with --update as ceil(measured x 1.25)).
# Wall time: ~15 s of valgrind after the build.
#
#   benches/scripts/demo-instructions.sh            # check against the limit
#   benches/scripts/demo-instructions.sh --update   # rewrite the limit
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LIMITS="$ROOT/benches/callgrind-demo.txt"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
N="${N:-2000}"
MODE="${1:-check}"
case "$MODE" in check | --update) ;; *) echo "usage: $0 [--update]" >&2; exit 2 ;; esac
command -v valgrind >/dev/null 2>&1 || { echo "demo-instructions.sh: valgrind is not installed" >&2; exit 2; }

(cd "$ROOT" && cargo build --quiet --release -p tachymeter-cli --bin tachymeter)
BIN="$TARGET_DIR/release/tachymeter"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

declare -A IR
for mode in plain live; do
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$mode" \
        --toggle-collect="tachymeter::probe_$mode" "$BIN" overhead-probe "$mode" "$N" \
        >"$OUT/out.$mode" 2>"$OUT/log.$mode"
    ir="$(awk '/Collected :/ {print $NF}' "$OUT/log.$mode")"
    if [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
        echo "demo-instructions.sh: nothing collected for tachymeter::probe_$mode" >&2
        cat "$OUT/log.$mode" >&2
        exit 1
    fi
    IR[$mode]="$ir"
done
records="$(sed -n 's/.*records_per_request=\([0-9.]*\).*/\1/p' "$OUT/out.live")"
# Both runs must have served the same requests (same seed, same checksum).
if [ "$(sed 's/.*checksum=//' "$OUT/out.plain")" != "$(sed 's/.*checksum=//' "$OUT/out.live")" ]; then
    echo "demo-instructions.sh: plain and live runs served different requests" >&2
    exit 1
fi
read -r plain live extra per_record < <(awk -v p="${IR[plain]}" -v l="${IR[live]}" -v n="$N" -v r="$records" \
    'BEGIN { printf "%.1f %.1f %.1f %.2f\n", p / n, l / n, (l - p) / n, (l - p) / n / r }')
pct="$(awk -v p="$plain" -v e="$extra" 'BEGIN { printf "%.2f", 100 * e / p }')"
echo "demo request (N=$N, 1 thread): plain $plain, instrumented $live instructions per request"
echo "instrumentation: +$extra instructions per request (+$pct%) = $per_record per record at $records records per request"

if [ "$MODE" = "--update" ]; then
    limit="$(awk -v m="$extra" 'BEGIN { l = m * 1.25; printf "%d", (l == int(l)) ? l : int(l) + 1 }')"
    {
        echo "# Extra instructions per demo request from instrumentation (callgrind), checked by"
        echo "# benches/scripts/demo-instructions.sh. limit = ceil(measured x 1.25)."
        echo "# $(rustc -V), N=$N"
        printf 'demo-request-extra %6s   # measured %s (plain %s, %s records per request)\n' "$limit" "$extra" "$plain" "$records"
    } >"$LIMITS"
    echo "demo-instructions.sh: wrote $LIMITS"
fi
limit="$(awk '$1 == "demo-request-extra" { print $2 }' "$LIMITS")"
if awk -v m="$extra" -v l="$limit" 'BEGIN { exit !(m > l) }'; then
    echo "demo-instructions.sh: +$extra > limit $limit: REGRESSION" >&2
    exit 1
fi
echo "demo-instructions.sh: +$extra within the limit $limit"
