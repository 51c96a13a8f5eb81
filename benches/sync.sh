#!/usr/bin/env bash
# Whole-process timing of `kvgen sync` and `kvgen sync --check` on the
# sample Worker with every module generated (create, all five cache
# patterns, flags, session and bulk: 14 generated files, kvgen.toml and a
# kvgen.lock holding every base), release build, median over many runs;
# then a command that changes the design (`kvgen cache swr --dry-run`) on
# the same project.
#
#   benches/sync.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release --quiet
bin=$PWD/target/release/kvgen
work=target/bench-sync
rm -rf "$work"
cp -r examples/hello-worker "$work"
for args in "create users" "cache" "flags" "session" "bulk --binding USERS"; do
  # shellcheck disable=SC2086
  "$bin" -C "$work" $args >/dev/null
done
"$bin" -C "$work" sync --check >/dev/null

median() {
  local name=$1
  shift
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --shell=none --warmup 20 --runs "$runs" --export-json "target/bench-$name.json" \
      "$*" >/dev/null
    python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.2f" % (r["median"] * 1000))' "target/bench-$name.json"
  else
    local times=()
    for _ in $(seq "$runs"); do
      local start end
      start=$(date +%s%N)
      "$@" >/dev/null
      end=$(date +%s%N)
      times+=($(( (end - start) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f\n", a[int((NR+1)/2)]/1000}'
  fi
}

echo "kvgen.lock: $(wc -c <"$work/kvgen.lock") bytes; generated files: $(find "$work/src/kv" -type f | wc -l)"
echo "kvgen sync:              median $(median sync "$bin" -C "$work" sync) ms over $runs runs"
echo "kvgen sync --check:      median $(median sync-check "$bin" -C "$work" sync --check) ms"
echo "kvgen cache swr --dry-run: median $(median sync-cache "$bin" -C "$work" cache swr --dry-run) ms"
