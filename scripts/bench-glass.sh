#!/usr/bin/env bash
# Glass-to-glass latency of a live stream on the devnet (BENCHMARKS.md "Live"): `bitflix live
# --source lavfi:clock` (the capture time burned into every frame) for GLASS_SECONDS (default
# 300) through the Core backend, `bitflix serve` over ZMQ, headless Chromium reading the time
# back from each frame it presents. Prints p50/p95 and the per-chunk breakdown; the whole record
# goes to target/artifacts/glass.json. Debug build (the test profile), as CI builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GLASS_SECONDS=${GLASS_SECONDS:-300}
cargo test --locked -q -p bitflix --test live_browser -- --ignored --nocapture glass_to_glass
