#!/usr/bin/env bash
# Whole-process timing of `kvgen create demo --dry-run` on the sample Worker,
# with a release build: the median wall time over many runs, and the peak
# memory (max RSS) of one run. Uses hyperfine when installed.
#
#   benches/create_dry_run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release --quiet
bin=target/release/kvgen
args=(-C examples/hello-worker create demo --dry-run)

if command -v hyperfine >/dev/null 2>&1; then
  hyperfine --shell=none --warmup 20 --runs "$runs" --export-json target/bench-create.json \
    "$bin ${args[*]}" >/dev/null
  median_ms=$(python3 -c 'import json; r = json.load(open("target/bench-create.json"))["results"][0]; print("%.2f" % (r["median"] * 1000))')
else
  times=()
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$bin" "${args[@]}" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  median_ms=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}')
fi
peak_kb=$(/usr/bin/time -f '%M' "$bin" "${args[@]}" 2>&1 >/dev/null | tail -1)
echo "kvgen create demo --dry-run: median ${median_ms} ms over ${runs} runs, peak RSS ${peak_kb} KiB"

# The same command writing its files, kvgen.toml and kvgen.lock among them
# (a fresh copy of the sample each run):
# staging, the journal, the lock and the renames included.
if command -v hyperfine >/dev/null 2>&1; then
  work=target/bench-create-work
  hyperfine --shell=none --warmup 5 --runs "$((runs / 4 + 1))" --export-json target/bench-create-write.json \
    --prepare "sh -c 'rm -rf $work && cp -r examples/hello-worker $work'" \
    "$bin -C $work create demo" >/dev/null
  write_ms=$(python3 -c 'import json; r = json.load(open("target/bench-create-write.json"))["results"][0]; print("%.2f" % (r["median"] * 1000))')
  echo "kvgen create demo (writing 7 files): median ${write_ms} ms"
fi
