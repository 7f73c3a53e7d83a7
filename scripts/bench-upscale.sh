#!/usr/bin/env bash
# The viewer-side upscaler (BENCHMARKS.md "Viewer-side upscaler (issue 14)"): Big Buck Bunny
# (720p; the upscaler was trained on carphone only, scripts/upscale-train.py) downscaled to 180
# and 144 lines, clean and through libaom-av1 at a low rate; every 10th frame upscaled back to
# 1280x720 by the player's shader in headless Chromium (SwiftShader) and by ffmpeg's bicubic
# (the baseline) and the canvas's drawImage; Y-PSNR against the 720p source, and VMAF when
# ../shared/vmaf/vmaf is there. Needs ffmpeg and chromium (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
clip=assets/bigbuckbunny.mp4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sel="select=not(mod(n\,10))"
q=(-v error -y)
mkdir -p "$tmp/ref"
ffmpeg "${q[@]}" -i "$clip" -vf "$sel" -fps_mode passthrough "$tmp/ref/%03d.png"
n=$(ls "$tmp/ref" | wc -l)
case_dir() { # name, source of the low-res frames (a file), filter before the selection
  local d="$tmp/frames/$1"
  mkdir -p "$d/lr" "$d/bic"
  ffmpeg "${q[@]}" -i "$2" -vf "$3$sel" -fps_mode passthrough "$d/lr/%03d.png"
  for f in "$d"/lr/*.png; do
    ffmpeg "${q[@]}" -i "$f" -vf scale=1280:720:flags=bicubic "$d/bic/$(basename "$f")"
  done
  ln -s "$tmp/ref" "$d/ref"
  echo "$n" > "$d/n"
}
case_dir clean-180 "$clip" "scale=320:180,"
case_dir clean-144 "$clip" "scale=256:144,"
for spec in 180:320:48 144:256:24; do
  IFS=: read -r h w kbps <<<"$spec"
  ffmpeg "${q[@]}" -i "$clip" -vf "scale=$w:$h" -an -c:v libaom-av1 -b:v "${kbps}k" -cpu-used 6 -row-mt 1 "$tmp/av1-$h.mkv"
  case_dir "av1-$h-${kbps}k" "$tmp/av1-$h.mkv" ""
done
vmaf=../shared/vmaf/vmaf
save=()
[ -x "$vmaf" ] && save=(BITFLIX_UPSCALE_SAVE=1)
env BITFLIX_UPSCALE_FRAMES="$tmp/frames" "${save[@]}" cargo test -p server --test upscale -- --ignored --nocapture upscale_psnr_benchmark 2>&1 | grep -E -A4 "^upscale:|test result|panicked"
score() { # the mean VMAF of a distorted y4m against ref.y4m
  "$vmaf" -r "$tmp/ref.y4m" -d "$1" --json -o "$tmp/vmaf.json" -q >/dev/null 2>&1
  python3 -c 'import json, sys; print("%.2f" % json.load(open(sys.argv[1]))["pooled_metrics"]["vmaf"]["mean"])' "$tmp/vmaf.json"
}
if [ -x "$vmaf" ]; then
  ffmpeg "${q[@]}" -framerate 25 -i "$tmp/ref/%03d.png" -pix_fmt yuv420p "$tmp/ref.y4m"
  for d in "$tmp"/frames/*/; do
    for f in "$d"out/*.png.b64; do base64 -d "$f" > "${f%.b64}"; done
    ffmpeg "${q[@]}" -framerate 25 -i "$d/out/%03d.png" -pix_fmt yuv420p "$tmp/shader.y4m"
    ffmpeg "${q[@]}" -framerate 25 -i "$d/bic/%03d.png" -pix_fmt yuv420p "$tmp/bic.y4m"
    s=$(score "$tmp/shader.y4m")
    b=$(score "$tmp/bic.y4m")
    echo "vmaf: $(basename "$d"): bicubic $b, shader $s"
  done
fi
