#!/usr/bin/env sh
# The performance table of benches/README.md, measured side by side in one
# go on this machine: the driver against wrk on the bare one-hop server, then
# the zipf workload on 3 nodes with no slow-store delay and a cache that holds
# the key space, hot cache off and on. Each run measures the one-hop and
# two-hop servers first (its calibration), so every ratio it reports is of
# figures taken minutes apart on the same machine. Last, the cost of the
# cluster series: the hot-cache-off run with 100ms intervals against 1m ones.
#
#     scripts/perf.sh [RESULTS_DIR]      (wrk: apt-get install wrk)
set -e
cd "$(dirname "$0")/.."
out=${1:-results/perf}
mkdir -p "$out"
cargo build --release --quiet
bench=./target/release/geecache-bench
date -u +"measured %Y-%m-%d %H:%M UTC on $(nproc) cores"

echo "== driver against wrk on the one-hop server"
$bench driver-check --concurrency 64 --duration 5s --rounds 3

for hot in off on; do
    echo "== zipf, 3 nodes, 16MiB per node, no store delay, hot cache $hot"
    $bench --workload zipf --nodes 3 --cache-bytes 16MiB --slowdb-latency none --requests 500000 \
        --warmup 300000 --hot-cache "$hot" --no-progress --out "$out/zipf-hot-$hot.json"
done

echo "== hot cache off against on"
$bench compare "$out/zipf-hot-off.json" "$out/zipf-hot-on.json"

echo "== cost of the cluster series: 100ms intervals (every node read ten times a second) against 1m ones (no reading during the run), alternating"
for round in 1 2 3; do
    for interval in 100ms 1m; do
        $bench --workload zipf --nodes 3 --cache-bytes 16MiB --slowdb-latency none --requests 300000 \
            --warmup 300000 --interval "$interval" --no-calibrate --no-progress \
            --out "$out/series-$interval-$round.json" |
            awk -v interval="$interval" '/^requests/ { for (i = 1; i < NF; i++) if ($i == "throughput") print interval, $(i + 1) }'
    done
done | awk '
    { rate[$1] = rate[$1] " " $2; print "interval " $1 ": " $2 " req/s" }
    END {
        for (interval in rate) {
            n = split(rate[interval], values, " ")
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (values[j] < values[i]) { t = values[i]; values[i] = values[j]; values[j] = t }
            median[interval] = values[int((n + 1) / 2)]
        }
        printf "median: 100ms %d req/s, 1m %d req/s: with the series / without = %.3f\n", median["100ms"], median["1m"], median["100ms"] / median["1m"]
    }'
