#!/usr/bin/env bash
# Whole-process timing of `kvgen sync` and `kvgen sync --check` on the
# sample Worker with every module generated (create, all five cache
# patterns, flags, session and bulk, and typed keys: six patterns on two
# namespaces, three types), release build, median over many runs; then
# commands that change the design (`kvgen cache swr --dry-run`, `kvgen key
# add … --dry-run`) on the same project.
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
cat >>"$work/kvgen.toml" <<'EOF'

[namespaces.CACHE.keys.post]
pattern = "post:{id}"
value = "Post"
ttl = 600
cache_ttl = 60

[namespaces.CACHE.keys.profile]
pattern = "user:{id}:profile"
value = "string"

[namespaces.USERS.keys.user]
pattern = "user:{id}"
value = "User"

[namespaces.USERS.keys.avatar]
pattern = "avatar:{kind}-{id}"
value = "bytes"

[namespaces.USERS.keys.settings]
pattern = "settings:{team}:{name}"
value = "json"

[namespaces.USERS.keys.session]
pattern = "session:{token}"
value = "string"
ttl = 86400

[types.Post]
id = "string"
title = "string"
tags = "string[]"
views = "integer?"
status = "'draft' | 'published'"
author = "Author"

[types.Author]
name = "string"
age = "integer?"

[types.User]
name = "string"
authors = "Author[]"
EOF
"$bin" -C "$work" sync >/dev/null
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
echo "kvgen key add --dry-run:   median $(median key-add "$bin" -C "$work" key add USERS extra 'extra:{id}' --dry-run) ms"
