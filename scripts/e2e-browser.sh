#!/usr/bin/env bash
# End to end in a real browser: run the demo (devnet, publish, index, serve), open the watch page in
# headless Chromium, and require a decoded video (videoWidth > 0) whose currentTime advances (the
# player writes them into the video element's data-report attribute).
# Saves a screenshot to target/artifacts/watch.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BITFLIX_BIN:-target/debug/bitflix}
[ -x "$bin" ] || cargo build -q -p bitflix
if ! command -v chromium >/dev/null; then echo "e2e: FAILED: chromium missing (scripts/setup.sh installs it)"; exit 1; fi
dir=$(mktemp -d); port=$((20000 + RANDOM % 20000))
"$bin" demo --datadir "$dir/demo" --no-open --listen "127.0.0.1:$port" >"$dir/demo.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do curl -sf "127.0.0.1:$port/api/catalog" >/dev/null 2>&1 && break; sleep 0.5; done
id=$(curl -sf "127.0.0.1:$port/api/catalog" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --autoplay-policy=no-user-gesture-required)
title=$(timeout 120 chromium "${flags[@]}" --user-data-dir="$dir/p1" --virtual-time-budget=8000 --dump-dom \
  "http://127.0.0.1:$port/watch/$id" 2>/dev/null | grep -o 'data-report="w=[^"]*"' | head -n 1 || true)
mkdir -p target/artifacts
timeout 120 chromium "${flags[@]}" --user-data-dir="$dir/p2" --virtual-time-budget=4000 --window-size=1000,800 \
  --screenshot="$PWD/target/artifacts/watch.png" "http://127.0.0.1:$port/watch/$id" >/dev/null 2>&1 || true
echo "e2e: watch page reports ${title:-nothing}"
if [[ "$title" =~ w=([0-9]+)\ t=([0-9.]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[2]//./}" -gt 0 ]; then
  echo "e2e: 1 passed, 0 failed (screenshot: target/artifacts/watch.png)"
else
  echo "e2e: 0 passed, 1 failed"; cat "$dir/demo.log"; exit 1
fi
