#!/usr/bin/env bash
# A committed content fetched over BitTorrent on loopback (BENCHMARKS.md "Commitments"): every
# byte read through the checks against the chain's root (torrent::Fetch::read), against librqbit
# fetching the same swarm from the same seed with no check of ours. RUNS runs of MB megabytes.
# Usage: scripts/bench-fetch.sh [MB] [RUNS]   (default 256 3)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-256}; runs=${2:-3}
cargo build -q --locked --workspace --example bench_fetch
bin=${CARGO_TARGET_DIR:-target}/debug/examples/bench_fetch
echo "# $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$runs"); do nice -n 10 "$bin" "$mb"; done
