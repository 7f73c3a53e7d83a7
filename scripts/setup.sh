#!/usr/bin/env bash
# Install everything BitFlix needs to build, run and test on a fresh Debian 12 machine (as root).
# Idempotent: packages already present are not fetched again.
set -euo pipefail

pkgs=(
  # libbitcoinkernel (Bitcoin Core's validation engine) is built from source by its -sys crate
  # with CMake and a C++ compiler, against Boost's headers. Its FFI is hand-written (no bindgen),
  # so no clang/libclang is needed.
  cmake libboost-dev g++ pkg-config
  # The media crate runs the ffmpeg and ffprobe programs (libaom-av1, libopus, codec2); no crate
  # links the libav* libraries, so their -dev packages are not needed.
  ffmpeg
  # End-to-end tests play the film in a real browser.
  chromium
  # Tests that kill processes and read logs.
  procps curl
  # The gateway behind a real HTTP cache (crates/server/tests/cache.rs) and the viewers benchmark
  # against plain files (scripts/bench-viewers.sh). Debian 12's nginx package is built with the
  # slice module; nginx-light only adds an echo module to it.
  nginx
  # The real Bitcoin Core in ../shared/bitcoind (the bitcoind tests) needs these at run time.
  libzmq5 libsqlite3-0
  # libtorrent (Rasterbar 2.0), an independent BitTorrent v2 implementation: crates/cvp/tests/
  # pieces.rs checks cvp::pieces' roots and piece layers against its create_torrent.
  python3-libtorrent
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # No service is started by the install (the tests run nginx themselves, as the test user, on a
  # free port): Debian's nginx would otherwise start on port 80 and fail the install where that
  # port is taken. policy-rc.d is Debian's switch for this; one already there is left alone.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    guard=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [ -z "$guard" ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$status" -eq 0 ] || exit "$status"
fi

# VMAF (bitflix encode's report, the media benchmark): Netflix's `vmaf` tool, which Debian does
# not package, is looked for in $BITFLIX_VMAF, then ../shared/vmaf/vmaf beside the checkout, then
# PATH. Build it from https://github.com/Netflix/vmaf (libvmaf: meson setup build
# -Dbuilt_in_models=true && ninja -C build; the tool is build/tools/vmaf). Without it VMAF is
# reported as not measured.
[ -n "${BITFLIX_VMAF:-}" ] || [ -x "$(dirname "$0")/../../shared/vmaf/vmaf" ] || command -v vmaf >/dev/null \
  || echo "setup: no vmaf tool (optional: VMAF is not measured without it; see scripts/setup.sh)"

command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }
echo "setup: ok ($(ffmpeg -version | head -n1 | cut -d' ' -f1-3); $(cargo --version))"
