#!/usr/bin/env bash
# Concurrent viewers (BENCHMARKS.md "Gateway: concurrent viewers"): CLIENTS keep-alive clients
# reading random 64 KiB - 1 MiB ranges of 20 films of 10 MiB on loopback for SECONDS a run, against
# `bitflix serve`'s router (server::serve, its index on disk) and against Debian's nginx serving the
# same bytes from plain files (sendfile on), one worker each, ROUNDS times in turn.
# Usage: scripts/bench-viewers.sh [SECONDS] [CLIENTS] [ROUNDS]   (default 20 200 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}; clients=${2:-200}; rounds=${3:-3}
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "no nginx: run scripts/setup.sh" >&2; exit 1; }
cargo build -q --locked --release -p server --example bench_viewers
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_viewers
echo "# $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $( (nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
nice -n 10 "$bin" "$secs" "$clients" "$rounds" 1
