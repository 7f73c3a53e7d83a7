#!/usr/bin/env bash
# Set up and run every check: formatting, lints, the whole test suite, and the fuzz targets.
# This is what CI runs (.ci/run calls it and nothing else).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests that need an external tool (ffmpeg, chromium) skip without it, saying so, unless CI is set:
# then a missing tool fails them (testkit::in_ci). This script installs them and is what CI runs.
export CI=1
bash scripts/setup.sh

step() { echo; echo "=== $* ($(date +%T))"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "clippy without the devnet (bitflix as a viewer and publisher for esplora: and core:, no kernel C++)"
cargo clippy --locked -p bitflix --no-default-features --all-targets -- -D warnings

# The browser end to end tests (crates/bitflix/tests/e2e_browser.rs, live_browser.rs, crates/server/tests/*browser.rs)
# run here: with CI=1 a missing chromium fails them. scripts/e2e-browser.sh runs just the demo's.
step "tests"
cargo test --locked --workspace -- --skip bitcoind_

step "the CLI without the devnet (what needs it names the feature)"
cargo test --locked -p bitflix --no-default-features --test cli

# A real Bitcoin Core built from source sits in ../shared/bitcoind beside the checkout (as for CI).
if [ -z "${BITCOIND_EXE:-}" ] && [ -x ../shared/bitcoind/bitcoind ]; then
  BITCOIND_EXE="$(cd ../shared/bitcoind && pwd)/bitcoind"
  export BITCOIND_EXE
fi
step "Bitcoin Core cross-checks (a real bitcoind from BITCOIND_EXE or PATH; each test says 'skipped: no bitcoind' where there is none)"
# --workspace keeps the features unified as in the step above, so nothing is rebuilt.
cargo test --locked --workspace --test bitcoind -- --nocapture --test-threads 1

step "fuzz targets (cargo fuzz build, then each target runs on generated inputs)"
bash scripts/fuzz-smoke.sh

step "all checks passed"
