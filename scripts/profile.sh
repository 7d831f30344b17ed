#!/usr/bin/env sh
# Where the instructions of a request go: the counted pass of a workload
# (ci by default: deterministic, one request in flight, 2,000 measured
# requests) run under callgrind once for its figures and twice more by
# function, once inside the nodes' connection tasks and once inside the
# driver's request tasks. Prints, for each side, the instructions per
# request by group (HTTP, cache lookup, ring, singleflight, stats, hash
# maps, buffers, alloc/free, copies, clock reads, syscall wrappers, the
# runtime, the slow store, the driver's loop) for the run and the bare
# one-hop and two-hop servers, the run's excess over the bare hops, and the
# run's top functions. The result JSON (counted.profile) lists more.
#
#     scripts/profile.sh [RESULTS_DIR] [RUN FLAGS...]   (valgrind and strace)
#     scripts/profile.sh results/profile --workload zipf --requests 5000
set -e
cd "$(dirname "$0")/.."
out=${1:-results/profile}
[ $# -gt 0 ] && shift
mkdir -p "$out"
cargo build --release --quiet
if [ $# -eq 0 ]; then
    set -- --workload ci --requests 2000
fi
./target/release/geecache-bench "$@" --deterministic --no-calibrate --no-progress \
    --count --profile --out "$out/profile.json"
echo "profile: $out/profile.json (counted.profile: the top functions of every section)"
