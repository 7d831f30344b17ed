#!/usr/bin/env sh
# A soak: does the tool hold over a long run? On the default 3-node cluster
# with caches small enough to evict all along (1MiB a node, zipf over
# 100,000 keys, no store delay), it measures the closed loop's throughput
# for 10 s, then runs MINUTES of an open loop at half that rate and MINUTES
# of a closed loop, each with one-minute intervals. Each run's summary says
# its resident memory at the start, the end and the peak, how it grew per
# hour after the first fifth, and the open files and sockets before the run
# and after its cluster stopped; its series gives throughput and p99 minute
# by minute. The script fails if a run left files open. Not part of CI: it
# takes 2 x MINUTES.
#
#     scripts/soak.sh [MINUTES] [RESULTS_DIR]      (default 10, results/soak)
set -eu
cd "$(dirname "$0")/.."
minutes=${1:-10}
out=${2:-results/soak}
case $minutes in
'' | *[!0-9]* | 0) echo "soak: MINUTES must be a whole number above 0, not '$minutes'" >&2; exit 2 ;;
esac
mkdir -p "$out"
cargo build --release --quiet
bench=./target/release/geecache-bench
workload="$out/soak.json"
cat >"$workload" <<EOF
{
  "name": "soak",
  "keys": 100000,
  "distribution": { "kind": "zipf", "exponent": 1.0 },
  "duration": "${minutes}m",
  "time_limit": "$((minutes * 2 + 5))m",
  "warmup_requests": 200000,
  "concurrency": 64,
  "value_size": 100,
  "interval": "1m",
  "slowdb": { "latency": { "kind": "none" } },
  "cluster": { "nodes": 3, "cache_bytes": "1MiB" }
}
EOF
date -u +"soak of 2 x $minutes minutes, started %Y-%m-%d %H:%M UTC on $(nproc) cores"

echo "== the limit: a 10 s closed loop"
$bench --workload "$workload" --duration 10s --interval 1s --no-calibrate --no-progress \
    --out "$out/limit.json" | grep -E '^requests'
limit=$(sed -n 's/^ *"throughput_rps": \([0-9.]*\),*$/\1/p' "$out/limit.json" | head -n 1)
rate=$(awk "BEGIN { printf \"%d\", $limit / 2 }")

leaked=0
soak() {
    name=$1
    shift
    $bench --workload "$workload" --no-calibrate --no-progress --series --out "$out/$name.json" "$@" \
        | tee "$out/$name.txt"
    if grep -q 'MORE THAN BEFORE' "$out/$name.txt"; then leaked=1; fi
    intervals=$(grep -c '"start_secs"' "$out/$name.json" || true)
    echo "result file: $(wc -c <"$out/$name.json") bytes with $intervals intervals"
}

echo "== $minutes minutes of an open loop at $rate req/s, half the limit"
soak open --rate "$rate"
echo "== $minutes minutes of a closed loop"
soak closed

if [ "$leaked" -ne 0 ]; then
    echo "soak: a run left files open (see MORE THAN BEFORE above)" >&2
    exit 1
fi
