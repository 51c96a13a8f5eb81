#!/usr/bin/env bash
# Whole-process timing of kvgen on the JavaScript fixture Worker with every
# module (create, all five cache patterns, flags, session, bulk, ratelimit,
# counter, config, prefs): `kvgen sync` and `kvgen create demo --dry-run`
# writing JavaScript (`lang = "js"`, the TypeScript templates converted by
# src/js.rs) against the same design written as TypeScript (`--lang ts`), so
# the difference is what the conversion costs. Release build, hyperfine
# (Debian's package: apt-get install hyperfine).
#
#   benches/javascript.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
if ! command -v hyperfine >/dev/null; then
  echo "benches/javascript.sh needs hyperfine (apt-get install hyperfine)" >&2
  exit 1
fi
cargo build --release --quiet
bin=$PWD/target/release/kvgen
for lang in js ts; do
  work=target/bench-javascript-$lang
  rm -rf "$work"
  cp -r tests/fixtures/projects/javascript-worker "$work"
  "$bin" -C "$work" --lang "$lang" create users >/dev/null
  "$bin" -C "$work" cache aside write-through swr invalidate warm --cron "0 * * * *" >/dev/null
  for args in flags session "bulk --binding USERS" "ratelimit API --limit 100 --period 60" \
    counter config prefs; do
    # shellcheck disable=SC2086
    "$bin" -C "$work" $args >/dev/null
  done
  echo "$lang: $(ls "$work/src/kv" | wc -l) modules, $(cat "$work"/src/kv/* | wc -c) bytes"
done
hyperfine -N --warmup 20 --runs "$runs" \
  -n "sync, JavaScript" "$bin -C target/bench-javascript-js sync" \
  -n "sync, TypeScript" "$bin -C target/bench-javascript-ts sync" \
  -n "create --dry-run, JavaScript" "$bin -C target/bench-javascript-js create demo --dry-run" \
  -n "create --dry-run, TypeScript" "$bin -C target/bench-javascript-ts create demo --dry-run"
