#!/usr/bin/env bash
# Build every cargo-fuzz target and run each on generated inputs for a bounded time
# (FUZZ_SECONDS each, default 15; an input that runs longer than FUZZ_TIMEOUT, default 10 s, is a
# finding). Fails on any finding: cargo-fuzz's own non-zero exit, or any artifact libFuzzer wrote
# during the run (crash-, oom-, timeout-, leak-, slow-unit-...). Shows the stats lines; on a
# failure, the error lines, the artifacts and where the whole log is.
# Long runs: `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET` in fuzz/.
# Checking the script itself: FUZZ_SMOKE_PROVE=crash|oom|timeout|leak runs only the smoke_selftest
# target, on an input that makes that finding on purpose; the script must then fail.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# cargo-fuzz passes the sanitizer flags that only a nightly compiler takes; the stable toolchain
# accepts them when told it is bootstrapping.
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-15}
unit_timeout=${FUZZ_TIMEOUT:-10}
prove=${FUZZ_SMOKE_PROVE:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log="$tmp/log"

cargo fuzz build -O

# Run target $1 on the corpus directories that follow; fail on a non-zero exit or a new artifact.
run_target() {
  local t=$1 status=0 before new
  shift
  mkdir -p "artifacts/$t"
  before=$(LC_ALL=C ls -A "artifacts/$t")
  echo "fuzz: $t for ${secs}s"
  cargo fuzz run -O "$t" "$@" -- -max_total_time="$secs" -timeout="$unit_timeout" \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E 'stat::number_of_executed_units|^Done' "$log" || true
  new=$(LC_ALL=C comm -13 <(echo "$before") <(LC_ALL=C ls -A "artifacts/$t"))
  if [ "$status" -ne 0 ] || [ -n "$new" ]; then
    cp "$log" "artifacts/$t.log"
    grep -E -A1 'panicked at' "$log" >&2 || true
    grep -E 'ERROR: |SUMMARY: |Test unit written|^error' "$log" >&2 || true
    echo "fuzz: $t FAILED: cargo fuzz exited with $status; new artifacts:" \
      "${new:+$(echo "$new" | sed "s|^|fuzz/artifacts/$t/|" | tr '\n' ' ')}(whole log: fuzz/artifacts/$t.log)" >&2
    return 1
  fi
}

if [ -n "$prove" ]; then
  case "$prove" in crash | oom | timeout | leak) ;; *) echo "FUZZ_SMOKE_PROVE: crash, oom, timeout or leak" >&2; exit 2 ;; esac
  rm -rf artifacts/smoke_selftest # a finding made again must show as new
  mkdir "$tmp/seed"
  printf '%s' "$prove" >"$tmp/seed/$prove"
  run_target smoke_selftest "$tmp/seed"
  exit 0
fi

for t in $(cargo fuzz list | grep -vx smoke_selftest); do
  mkdir -p "corpus/$t"
  run_target "$t" "corpus/$t" "seeds/$t"
done
