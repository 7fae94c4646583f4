#!/usr/bin/env bash
# Needle-lookup throughput on a generated archive of about 540,000 events (about 650 MB of
# JSON in 2,700 gzip files), next to the floor of inflating the same files with stock zlib
# (Python's zlib module, one process per core). Medians of 5 runs. A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench-data/archive-540k
BIN=target/release/trailscan
GEN=target/release/trailscan-fixtures
[ -d "$DATA" ] || "$GEN" bench "$DATA" --events 540000 --seed 1
cores=$(nproc)
file=$(find "$DATA/" -name '*.json.gz' | sort | sed -n 1500p)
needle=$(python3 -c 'import gzip,json,sys; print(json.load(gzip.open(sys.argv[1]))["Records"][100]["eventID"])' "$file")
raw=$(python3 - "$DATA" <<'PY'
import glob, gzip, sys
print(sum(len(gzip.open(f).read()) for f in glob.glob(sys.argv[1] + "/**/*.json.gz", recursive=True)))
PY
)
files=$(find "$DATA/" -name '*.json.gz' | wc -l)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
floor() {
python3 - "$DATA" "$cores" <<'PY'
import glob, sys, time, zlib
from multiprocessing import Pool
def inflate(path):
    with open(path, "rb") as f:
        return len(zlib.decompress(f.read(), zlib.MAX_WBITS | 16))
files = sorted(glob.glob(sys.argv[1] + "/**/*.json.gz", recursive=True))
t = time.time()
with Pool(int(sys.argv[2])) as p:
    sum(p.map(inflate, files, chunksize=16))
print(time.time() - t)
PY
}
find "$DATA/" -name '*.json.gz' -exec cat {} + >/dev/null  # warm the page cache
lookup=(lookup-events -q --source "$DATA" --lookup-attributes "AttributeKey=EventId,AttributeValue=$needle")
t_floor=$(for _ in 1 2 3 4 5; do floor; done | median)
t_n=$(for _ in 1 2 3 4 5; do time_of "$BIN" "${lookup[@]}"; done | median)
t_1=$(for _ in 1 2 3 4 5; do time_of "$BIN" "${lookup[@]}" --threads 1; done | median)
rss=$(/usr/bin/time -f %M "$BIN" "${lookup[@]}" 2>&1 >/dev/null | tail -1)
printf 'archive: %s files, %.0f MB raw JSON, 540000 events; %s cores\n' "$files" "$(echo "$raw/1000000" | bc -l)" "$cores"
printf 'stock zlib inflate floor (%s procs): %.3f s\n' "$cores" "$t_floor"
printf 'needle lookup, %s threads:  %.3f s = %.0f MB/s raw, %.0f events/s, %.2fx the floor, peak RSS %s KB\n' \
    "$cores" "$t_n" "$(echo "$raw/1000000/$t_n" | bc -l)" "$(echo "540000/$t_n" | bc -l)" "$(echo "$t_n/$t_floor" | bc -l)" "$rss"
printf 'needle lookup, 1 thread:    %.3f s (%.2fx speed-up with %s threads)\n' "$t_1" "$(echo "$t_1/$t_n" | bc -l)" "$cores"
