#!/usr/bin/env bash
# Time to first frame in headless Chromium, cold and warm gateway, against a static file baseline
# in the same process: crates/bitflix/examples/bench_ttff.rs (its comment says how). N runs of
# each (default 5); prints the medians and their ratios to the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --locked --release -p bitflix
cargo run -q --locked --release -p bitflix --example bench_ttff -- "${1:-5}"
