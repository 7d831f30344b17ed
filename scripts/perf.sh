#!/usr/bin/env sh
# The performance table of benches/README.md, measured side by side in one
# go on this machine: the driver against wrk on the bare one-hop server, then
# the zipf workload on 3 nodes with no slow-store delay and a cache that holds
# the key space, hot cache off and on. Each run measures the one-hop and
# two-hop servers first (its calibration), so every ratio it reports is of
# figures taken minutes apart on the same machine.
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
    $bench --workload zipf --nodes 3 --slowdb-latency none --requests 500000 \
        --warmup 300000 --hot-cache "$hot" --no-progress --out "$out/zipf-hot-$hot.json"
done

echo "== hot cache off against on"
$bench compare "$out/zipf-hot-off.json" "$out/zipf-hot-on.json"
