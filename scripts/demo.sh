#!/usr/bin/env bash
# The main job: set up, build, and run the BitFlix demo on the embedded devnet.
# Extra arguments go to `bitflix demo` (e.g. --listen 127.0.0.1:8080 --no-open).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p bitflix
exec ./target/release/bitflix demo "$@"
