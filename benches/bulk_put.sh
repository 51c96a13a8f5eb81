#!/usr/bin/env bash
# Whole-process benchmark of `kvgen bulk put` on a 1,000,000-entry NDJSON
# file (about 145 MB), next to `jq -c -s 'map({key, value})'` on the same
# file: the median wall time over several runs of each, the throughput in
# MB/s (input bytes / median time) and the peak memory (max RSS).
#
#   benches/bulk_put.sh [RUNS]        (default 5 runs of each)
#
# Installs jq (and GNU time) from Debian's packages when missing. The input is
# generated once, deterministically, under target/bench-bulk/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=$PWD/target/release/kvgen
work=$PWD/target/bench-bulk
mkdir -p "$work"

# jq, and GNU time for the peak memory, from Debian's packages if missing.
missing=()
command -v jq >/dev/null 2>&1 || missing+=(jq)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}…" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

input=$work/users.ndjson
if [ ! -f "$input" ]; then
  echo "generating $input…" >&2
  # 1,000,000 entries: a key of 12 bytes and a value of 90 to 130 bytes.
  awk 'BEGIN {
    srand(1);
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ";
    n = length(chars);
    for (i = 0; i < 1000000; i++) {
      len = 90 + int(rand() * 41);
      v = "";
      for (j = 0; j < len; j++) v = v substr(chars, 1 + int(rand() * n), 1);
      printf "{\"key\":\"user:%07d\",\"value\":\"%s\"}\n", i, v;
    }
  }' > "$input.tmp"
  mv "$input.tmp" "$input"
fi
bytes=$(stat -c %s "$input")

# A Worker with one KV binding for the printed commands.
project=$work/worker
mkdir -p "$project"
printf 'name = "bench"\nmain = "src/index.ts"\n\n[[kv_namespaces]]\nbinding = "USERS"\n' > "$project/wrangler.toml"

# Runs "$@" $runs times; prints "median_seconds peak_kib".
measure() {
  local times=() peaks=()
  for _ in $(seq "$runs"); do
    rm -rf "$project/kv-bulk" "$work/jq.json"
    local line
    line=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null; } 2>&1 | tail -1)
    times+=("${line% *}")
    peaks+=("${line#* }")
  done
  local median peak
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  peak=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -1)
  echo "$median $peak"
}

read -r kvgen_s kvgen_kib < <(measure "$bin" -C "$project" bulk put "$input")
entries=$("$bin" -C "$project" bulk put "$input" --json --force | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
read -r jq_s jq_kib < <(measure sh -c "jq -c -s 'map({key, value})' '$input' > '$work/jq.json'")

awk -v b="$bytes" -v ks="$kvgen_s" -v kk="$kvgen_kib" -v js="$jq_s" -v jk="$jq_kib" -v n="$entries" -v r="$runs" 'BEGIN {
  printf "input: %d entries, %.1f MB; median of %d runs each\n", n, b / 1e6, r;
  printf "kvgen bulk put  %6.2f s  %7.1f MB/s  peak %6.1f MiB\n", ks, b / 1e6 / ks, kk / 1024;
  printf "jq -c -s        %6.2f s  %7.1f MB/s  peak %6.1f MiB\n", js, b / 1e6 / js, jk / 1024;
  printf "kvgen is %.1fx faster than jq\n", js / ks;
}'
