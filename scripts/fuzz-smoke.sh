#!/usr/bin/env bash
# Build every cargo-fuzz target and run each on generated inputs for a bounded time
# (FUZZ_SECONDS each, default 15). Long runs: `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET` in fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# cargo-fuzz passes the sanitizer flags that only a nightly compiler takes; the stable toolchain
# accepts them when told it is bootstrapping.
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-15}
cargo fuzz build -O
for t in $(cargo fuzz list); do
  echo "fuzz: $t for ${secs}s"
  mkdir -p "corpus/$t"
  cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E 'stat::number_of_executed_units|Done|ERROR|panicked' || true
  # A crash leaves an artifact and a non-zero exit; rerun to surface it as a failure.
  if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then
    echo "fuzz: $t crashed: $(ls artifacts/$t/crash-*)" >&2
    exit 1
  fi
done
