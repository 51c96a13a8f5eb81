#!/usr/bin/env bash
# Start-up cost of kvgen through npm: `kvgen --version` run as the native
# binary, through the JavaScript launcher (`node_modules/.bin/kvgen`, as
# installed with scripts off: pnpm, bun, --ignore-scripts), with the binary
# hard-linked over the launcher (the optional postinstall), and the same two
# through `npx`. The linux-x64 package is assembled from a static release
# build (`-C target-feature=+crt-static`), packed and installed offline, as
# tests/npm.rs does with a debug build. hyperfine (apt-get install
# hyperfine); prints the packages' sizes too.
#
#   benches/npm.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
if ! command -v hyperfine >/dev/null; then
  echo "benches/npm.sh needs hyperfine (apt-get install hyperfine)" >&2
  exit 1
fi
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/npm-static-release \
  cargo build --release --quiet --target x86_64-unknown-linux-gnu
bin=$PWD/target/npm-static-release/x86_64-unknown-linux-gnu/release/kvgen
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
work=$PWD/target/bench-npm
rm -rf "$work"
mkdir -p "$work"
node npm/assemble.js --version "$version" --out "$work/packages" "linux-x64=$bin"
for package in kvgen linux-x64; do
  (cd "$work/packages/$package" && npm pack --silent --pack-destination "$work/packages" >/dev/null)
done
tarballs=("$work/packages/kvgen-$version.tgz" "$work/packages/kvgen-linux-x64-$version.tgz")
for mode in launcher linked; do
  mkdir -p "$work/$mode"
  echo '{"name": "p", "private": true}' >"$work/$mode/package.json"
  scripts=()
  [ "$mode" = launcher ] && scripts=(--ignore-scripts)
  (cd "$work/$mode" && npm install --offline --no-audit --no-fund "${scripts[@]}" "${tarballs[@]}" >/dev/null)
done
echo "binary: $(stat -c %s "$bin") bytes"
for tarball in "${tarballs[@]}"; do
  echo "$(basename "$tarball"): $(stat -c %s "$tarball") bytes packed"
done
launcher=$(readlink -f "$work/launcher/node_modules/.bin/kvgen")
linked=$(readlink -f "$work/linked/node_modules/.bin/kvgen")
head -c 2 "$launcher" | grep -q '#!' || { echo "the launcher is not the JavaScript shim" >&2; exit 1; }
head -c 4 "$linked" | grep -q 'ELF' || { echo "the postinstall did not link the binary" >&2; exit 1; }
hyperfine -N --warmup 5 --runs "$runs" \
  -n "native binary" "$bin --version" \
  -n "launcher (node)" "$launcher --version" \
  -n "hard-linked" "$linked --version"
cd "$work/launcher"
hyperfine --warmup 3 --runs "$((runs / 4 > 10 ? runs / 4 : 10))" \
  -n "npx, launcher" "npx --no-install kvgen --version" \
  -n "npx, hard-linked" "cd $work/linked && npx --no-install kvgen --version"
