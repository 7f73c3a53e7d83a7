#!/usr/bin/env bash
# The interactive player's switch (BENCHMARKS.md "Interactive films"): twenty decisions in
# headless Chromium, each switch's frame gap against the gaps between frames inside the clips of
# the same run. The test profile (debug): what is measured is the browser's player; the gateway
# serves fragments muxed once. Needs ffmpeg and chromium (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo test -p server --test story_browser -- --ignored --nocapture switch_stall_benchmark 2>&1 | grep -E "^switches:|test result"
