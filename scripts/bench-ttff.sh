#!/usr/bin/env bash
# Time to first frame in headless Chromium (real time, no virtual clock), in a fresh browser profile
# each run: the demo film's watch page (the MSE player: manifest, init segment, first fragment,
# all verified from the chain index) against a baseline page in the same script that plays the
# same film (the gateway's whole WebM) with a plain <video> from a static file server.
#   cold: a gateway started fresh for each run (nothing muxed or cached in it);
#   warm: the same gateway again (its mux cache holds the film).
# Prints the median of N runs of each (default 5). The figure is the page's own
# performance.now() at the first requestVideoFrameCallback, from navigation.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p bitflix
bin=target/release/bitflix; n=${1:-5}
dir=$(mktemp -d); port=$((20000 + RANDOM % 20000)); sport=$((port + 1))
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" demo --datadir "$dir/demo" --no-open --no-serve >"$dir/demo.log" 2>&1
chain="devnet:$dir/demo/devnet"
serve() { # start a fresh gateway; wait until it answers
  "$bin" serve --datadir "$dir/demo" --chain "$chain" --listen "127.0.0.1:$port" >>"$dir/serve.log" 2>&1 &
  gw=$!; pids+=("$gw")
  for _ in $(seq 1 200); do curl -sf "127.0.0.1:$port/api/catalog" | grep -q '"id"' && return; sleep 0.05; done
  echo "bench-ttff: the gateway did not start"; cat "$dir/serve.log"; exit 1
}
stop() { kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; }
mkdir -p "$dir/static"
cat >"$dir/static/index.html" <<'HTML'
<!doctype html><title>x</title><video id=v autoplay muted playsinline src="film.webm"></video>
<script>const v=document.getElementById('v');v.requestVideoFrameCallback(()=>{document.title='ttff='+performance.now().toFixed(0);});</script>
HTML
(cd "$dir/static" && exec python3 -m http.server "$sport" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
serve
id=$(curl -sf "127.0.0.1:$port/api/catalog" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
# The baseline plays the film the gateway serves, as one WebM file from a static server.
curl -sf "127.0.0.1:$port/api/content/$id/file" -o "$dir/static/film.webm"
stop
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --autoplay-policy=no-user-gesture-required --timeout=4000 --dump-dom)
measure() { timeout 60 chromium "${flags[@]}" --user-data-dir="$(mktemp -d -p "$dir")" "$1" 2>/dev/null | grep -o 'ttff=[0-9]*' | head -n 1 | cut -d= -f2; }
cold=(); warm=(); base=()
for _ in $(seq 1 "$n"); do
  serve
  cold+=("$(measure "http://127.0.0.1:$port/watch/$id")")
  warm+=("$(measure "http://127.0.0.1:$port/watch/$id")")
  stop
  base+=("$(measure "http://127.0.0.1:$sport/index.html")")
done
median() { printf '%s\n' "$@" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "none"}'; }
mc=$(median "${cold[@]}"); mw=$(median "${warm[@]}"); mb=$(median "${base[@]}")
echo "time to first frame, median of $n (ms from navigation): cold gateway $mc (runs: ${cold[*]}), warm gateway $mw (runs: ${warm[*]}), static file baseline $mb (runs: ${base[*]})"
python3 -c "c,w,b=$mc,$mw,$mb; print(f'ratio to the baseline: cold {c/b:.2f}x, warm {w/b:.2f}x')" 2>/dev/null || true
