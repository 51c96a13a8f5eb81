#!/usr/bin/env bash
# Whole-process benchmark of `kvgen export --local` on a namespace of
# 1,000,000 keys (values of 512 to 1535 bytes, about 1 GB) in the layout
# miniflare keeps for `wrangler dev`: the SQLite table `_mf_entries` (WAL)
# and one blob file per value. Prints the median wall time over several
# runs, the throughput of values in MB/s and the peak memory (max RSS).
#
#   benches/export_local.sh [RUNS] [KEYS]     (default 5 runs, 1000000 keys)
#
# The state is generated once, deterministically, under target/bench-export/
# (about 4.5 GB on disk: a file per value). GNU time comes from Debian's
# packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
keys=${2:-1000000}
cargo build --release --quiet
bin=$PWD/target/release/kvgen
work=$PWD/target/bench-export/$keys
mkdir -p "$work"

if [ ! -x /usr/bin/time ]; then
  echo "installing time…" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq time >&2
fi

printf 'name = "bench"\nmain = "src/index.ts"\n\n[[kv_namespaces]]\nbinding = "USERS"\nid = "0123456789abcdef0123456789abcdef"\n' > "$work/wrangler.toml"
if [ ! -f "$work/.ready" ]; then
  echo "generating $keys keys under $work…" >&2
  python3 - "$work" "$keys" <<'EOF'
import hashlib, hmac, os, random, sqlite3, sys
work, keys = sys.argv[1], int(sys.argv[2])
unique = "miniflare-KVNamespaceObject"
ns = "0123456789abcdef0123456789abcdef"
key = hashlib.sha256(unique.encode()).digest()
name_hmac = hmac.new(key, ns.encode(), hashlib.sha256).digest()[:16]
check = hmac.new(key, name_hmac, hashlib.sha256).digest()[:16]
kv = os.path.join(work, ".wrangler/state/v3/kv")
db_dir = os.path.join(kv, unique)
blobs = os.path.join(kv, ns, "blobs")
os.makedirs(db_dir, exist_ok=True)
os.makedirs(blobs, exist_ok=True)
db = sqlite3.connect(os.path.join(db_dir, (name_hmac + check).hex() + ".sqlite"))
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS _mf_entries (key TEXT PRIMARY KEY, blob_id TEXT NOT NULL, expiration INTEGER, metadata TEXT)")
db.execute("CREATE INDEX IF NOT EXISTS _mf_entries_expiration_idx ON _mf_entries(expiration)")
rng = random.Random(1)
alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "
text = bytes(alphabet[rng.randrange(len(alphabet))] for _ in range(4096))
rows = []
for i in range(keys):
    blob = "%080x" % i
    size = 512 + rng.randrange(1024)
    start = rng.randrange(2048)
    with open(os.path.join(blobs, blob), "wb") as f:
        f.write(text[start:start + size])
    meta = '{"n":%d}' % i if i % 10 == 0 else None
    rows.append(("user:%07d" % i, blob, None, meta))
    if len(rows) == 10000:
        db.executemany("INSERT OR REPLACE INTO _mf_entries VALUES (?,?,?,?)", rows)
        rows.clear()
db.executemany("INSERT OR REPLACE INTO _mf_entries VALUES (?,?,?,?)", rows)
db.commit()
db.close()
EOF
  touch "$work/.ready"
fi
bytes=$(find "$work/.wrangler/state/v3/kv/0123456789abcdef0123456789abcdef/blobs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

times=() peaks=()
for _ in $(seq "$runs"); do
  # A cold page cache is not what is measured: the first run warms it.
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$bin" -C "$work" export --local --binding USERS >/dev/null 2>/dev/null
  line=$(tail -1 "$work/time.txt")
  times+=("${line% *}")
  peaks+=("${line#* }")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
peak=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -1)
awk -v b="$bytes" -v s="$median" -v k="$peak" -v n="$keys" -v r="$runs" 'BEGIN {
  printf "namespace: %d keys, %.1f MB of values; median of %d runs\n", n, b / 1e6, r;
  printf "kvgen export --local  %6.2f s  %7.1f MB/s of values  peak %6.1f MiB\n", s, b / 1e6 / s, k / 1024;
}'
