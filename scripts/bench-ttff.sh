#!/usr/bin/env bash
# Time to first frame in headless Chromium (real time, no virtual clock): the watch page of the demo
# film (served verified from the chain index) against a baseline page in the same script that plays
# the same bytes (the gateway's WebM) from a static file server. Prints the median of N runs of each (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p bitflix
bin=target/release/bitflix; n=${1:-5}
dir=$(mktemp -d); port=$((20000 + RANDOM % 20000)); sport=$((port + 1))
"$bin" demo --datadir "$dir/demo" --no-open --listen "127.0.0.1:$port" >"$dir/demo.log" 2>&1 &
pid=$!
mkdir -p "$dir/static"
cat >"$dir/static/index.html" <<'HTML'
<!doctype html><title>x</title><video id=v autoplay muted playsinline src="film.webm"></video>
<script>const v=document.getElementById('v');v.requestVideoFrameCallback(()=>{document.title='ttff='+performance.now().toFixed(0);});</script>
HTML
(cd "$dir/static" && python3 -m http.server "$sport" --bind 127.0.0.1 >/dev/null 2>&1) &
spid=$!
trap 'kill $pid $spid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do curl -sf "127.0.0.1:$port/api/catalog" >/dev/null 2>&1 && break; sleep 0.5; done
id=$(curl -sf "127.0.0.1:$port/api/catalog" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
# The baseline plays exactly the bytes the gateway serves (the rewrapped WebM), from a static server.
curl -sf "127.0.0.1:$port/api/content/$id/file" -o "$dir/static/film.webm"
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --autoplay-policy=no-user-gesture-required --timeout=4000 --dump-dom)
measure() { timeout 60 chromium "${flags[@]}" --user-data-dir="$(mktemp -d -p "$dir")" "$1" 2>/dev/null | grep -o 'ttff=[0-9]*' | cut -d= -f2; }
ours=(); base=()
for _ in $(seq 1 "$n"); do
  ours+=("$(measure "http://127.0.0.1:$port/watch/$id")")
  base+=("$(measure "http://127.0.0.1:$sport/index.html")")
done
median() { printf '%s\n' "$@" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "none"}'; }
mo=$(median "${ours[@]}"); mb=$(median "${base[@]}")
echo "time to first frame, median of $n (ms from navigation): bitflix watch page $mo (runs: ${ours[*]}), static file baseline $mb (runs: ${base[*]})"
