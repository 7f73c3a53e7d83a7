#!/usr/bin/env bash
# End to end in a real browser: `bitflix demo` (devnet, encode, publish, index, serve) and its film's
# watch page in headless Chromium, driven over the DevTools protocol: the poster is there, the film
# decodes and plays (crates/bitflix/tests/e2e_browser.rs). Saves a screenshot to
# target/artifacts/watch.png.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then echo "e2e: FAILED: chromium missing (scripts/setup.sh installs it)"; exit 1; fi
CI=${CI:-1} cargo test --locked -q --workspace --test e2e_browser -- --nocapture
echo "e2e: screenshot in target/artifacts/watch.png"
