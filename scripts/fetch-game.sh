#!/usr/bin/env bash
# Fetch the demo's game again from the npm registry and check it is byte for byte the copy in
# assets/game-2048/ (which the binary embeds, so `bitflix demo` needs no network): the package
# game-2048 0.0.7 (MIT, Gabriele Cirulli's 2048), its tarball checked against the registry's
# sha1 as recorded here. Only the files the game needs to play are kept (the iOS icons under
# meta/ are left out: the page's links to them answer 404 in the sandbox, which browsers ignore).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack game-2048@0.0.7 >/dev/null)
echo "67fa2dceb3ce8b1709fd8444ac3fdf2b7e1df184  $tmp/game-2048-0.0.7.tgz" | sha1sum -c -
tar xzf "$tmp/game-2048-0.0.7.tgz" -C "$tmp"
for f in index.html favicon.ico LICENSE.txt lib/index.js style/main.css; do
  cmp "$tmp/package/$f" "assets/game-2048/$f"
done
echo "assets/game-2048 is the npm package's copy"
