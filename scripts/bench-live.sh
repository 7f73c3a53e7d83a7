#!/usr/bin/env bash
# The live publisher on the devnet (BENCHMARKS.md "Live"): the test pattern, accelerated (no
# real-time pacing, so the figures are the pipeline's, not the clock's), 24 kbit/s, 2 s chunks,
# 1 sat/vB. Per carrier with libaom, then SVT-AV1 against libaom on the envelope carrier: chunks,
# bytes, the rate reached, fees, the cost of one hour (from the builder that signs the stream),
# the time from ffmpeg closing a chunk's files to its last transaction accepted (p50, max), and
# the largest mempool backlog. SECONDS_OF_SOURCE (default 60) sets the length; BITFLIX_BIN runs
# that binary instead of building the release one. Last, one hour of stream with a single block
# at its end: how many chunks the mempool takes between two blocks (every one, or a backlog).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_OF_SOURCE:-60}
bin=${BITFLIX_BIN:-}
if [ -z "$bin" ]; then
  cargo build --locked --release -q -p bitflix
  bin="$PWD/target/release/bitflix"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-12s %-4s %7s %9s %7s %9s %13s %8s %8s %7s %6s\n' carrier enc chunks bytes kbit/s fee_sat sat_per_hour p50_ms max_ms wall_s backlog
run() {
  local carrier=$1 enc=$2 secs=${3:-$secs} every=${4:-30} out start end
  rm -rf "$tmp/d" "$tmp/c"
  start=$(date +%s.%N)
  out=$("$bin" --datadir "$tmp/d" --json live --source lavfi:testsrc2 --encoder "$enc" \
    --carrier "$carrier" --chain "devnet:$tmp/c" --feerate 1 --accelerated --duration "$secs" \
    --block-every "$every" 2>"$tmp/err") || { cat "$tmp/err" >&2; exit 1; }
  end=$(date +%s.%N)
  OUT="$out" python3 - "$carrier" "$enc" "$secs" "$start" "$end" <<'PY'
import json, os, sys
j = json.loads(os.environ["OUT"])
c, e, secs, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"{c:<12} {e:<4} {j['chunks']:>7} {j['payload_bytes']:>9} {j['payload_bytes']*8/secs/1000:>7.1f} {j['fee_sat']:>9} {j['cost_per_hour_sat']:>13} {j['latency_ms_p50']:>8.1f} {j['latency_ms_max']:>8.1f} {end-start:>7.2f} {j['max_backlog']:>6}")
PY
}
for c in envelope op-return op-return-80; do run "$c" aom; done
run envelope svt
echo "one hour, one block (envelope, libaom):"
run envelope aom 3600 3600
