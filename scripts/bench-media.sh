#!/usr/bin/env bash
# The media benchmark: both sample clips (shared/media, the first SECONDS of each, default 30, i.e.
# whole) at 4, 8, 16 and 32 kbit/s, video only: our encoder (size and frame rate chosen by
# measurement, libaom two-pass, CVPM) beside ffmpeg libx264 in MP4 and libaom-av1 one-pass in WebM,
# each at the source's size and rate and again at the size and frame rate ours chose, all given the
# byte count our stream reached. PSNR and SSIM by the same code for all five (media::quality:
# decoded video upscaled to the source's grid), and VMAF (v0.6.1) on the same grid when a vmaf tool
# is found (BITFLIX_VMAF, ../shared/vmaf/vmaf, PATH; the table says so when not).
# Prints a Markdown table (BENCHMARKS.md, "Media"). Usage: scripts/bench-media.sh [CPU_USED] [SECONDS]
# [CLIP [KBPS...]] (one clip and its rates, for a bounded run; default both clips at 4 8 16 32).
set -euo pipefail
cd "$(dirname "$0")/.."
cpu=${1:-4}; secs=${2:-30}
media_dir=${BITFLIX_MEDIA:-../shared/media}
[ -d "$media_dir" ] || media_dir=/work/shared/media
cargo build -q --release -p media --example bench_media
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_media
echo "# $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(ffmpeg -version | head -n1 | cut -d' ' -f1-3), cpu-used $cpu"
start=$(date +%s)
clips=(bigbuckbunny.mp4 carphone_pristine.mp4); rates=(4 8 16 32)
if [ $# -ge 3 ]; then clips=("$3"); shift 3; [ $# -eq 0 ] || rates=("$@"); fi
first=1
for clip in "${clips[@]}"; do
  if [ $first = 1 ]; then "$bin" "$cpu" "$secs" "$media_dir/$clip" "${rates[@]}"; first=0
  else "$bin" "$cpu" "$secs" "$media_dir/$clip" "${rates[@]}" | grep -v '^| clip\|^|---\|^# VMAF'; fi
done
echo "# $(( $(date +%s) - start )) s in all"
