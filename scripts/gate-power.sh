#!/usr/bin/env bash
# What the CI gate can see, measured: the gate of .ci/run (three trials of
# the ci workload and a counted pass, checked against a baseline) run again
# and again with a known cost added to every request a node serves
# (--inject-cpu: pure CPU work, a fixed number of instructions), and how
# many of those runs each figure fails. The table it prints is the one in
# docs/ci.md.
#
#     scripts/gate-power.sh [OUT_DIR] [RUNS]     (needs valgrind and strace)
#
# RUNS gate runs for each injected cost (default 10), twice as many with
# none (false alarms are rarer than misses, so they need more runs). The
# baseline is recorded first on this machine, as the committed one was.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/power}
runs=${2:-10}
mkdir -p "$out"
cargo build --release --quiet
# A copy, so that building meanwhile changes nothing under the runs.
bench="$out/geecache-bench"
cp target/release/geecache-bench "$bench"
figures="instructions_per_request cluster_instructions_per_request syscalls_per_request limit_fraction p99_over_two_hop hit_p99_over_one_hop"

# The first "instructions_per_request" of a result's counted pass: its run's.
instructions() {
    awk '/"counted": \{/ { counted = 1 }
         counted && /"instructions_per_request"/ { gsub(/[",]/, "", $2); print $2; exit }' "$1"
}

echo "measured $(date -u +'%Y-%m-%d %H:%M UTC') on $(nproc) cores, $(git rev-parse --short HEAD)" >&2
echo "== the baseline: 5 trials and a counted pass" >&2
"$bench" --workload ci --repeat 5 --count --no-progress --out "$out/baseline.json" >/dev/null
base=$(instructions "$out/baseline.json")

# What one unit costs per request: a counted pass with 100 units.
"$bench" --workload ci --deterministic --requests 2000 --no-calibrate --count \
    --inject-cpu 100 --no-progress --out "$out/unit.json" >/dev/null
per_unit=$(awk -v with="$(instructions "$out/unit.json")" -v base="$base" \
    'BEGIN { print (with - base) / 100 }')
echo "baseline: $base instructions per request; one unit adds $per_unit per request" >&2

printf '| injected | units | instructions added | gate runs |'
for figure in $figures; do printf ' %s |' "$figure"; done
printf ' any figure |\n|---|---|---|---|'
for figure in $figures; do printf -- '---|'; done
printf -- '---|\n'

for percent in 0 1 2 5 10 20; do
    # The fewest units that add at least this share: a 2% row adds 2% or a
    # little more, which a 2% threshold must catch.
    units=$(awk -v p="$percent" -v base="$base" -v unit="$per_unit" \
        'BEGIN { x = p / 100 * base / unit; n = int(x); if (n < x) n++; print n }')
    count=$runs
    if [ "$percent" = 0 ]; then count=$((runs * 2)); fi
    declare -A failed=()
    any=0
    added_sum=0
    for run in $(seq 1 "$count"); do
        result="$out/gate-$percent-$run.json"
        inject=()
        if [ "$units" -gt 0 ]; then inject=(--inject-cpu "$units"); fi
        "$bench" --workload ci --repeat 3 --count --no-progress "${inject[@]}" \
            --out "$result" >/dev/null 2>&1
        status=0
        "$bench" check --baseline "$out/baseline.json" "$result" --format json \
            >"$result.check" || status=$?
        if [ "$status" = 1 ]; then any=$((any + 1)); fi
        if [ "$status" -gt 1 ]; then echo "check failed ($status) on $result" >&2; exit 1; fi
        for figure in $(awk '/"key":/ { gsub(/[",]/, "", $2); key = $2 }
                /"verdict": "regression"/ { print key }' "$result.check"); do
            failed[$figure]=$(( ${failed[$figure]:-0} + 1 ))
        done
        added_sum=$(awk -v sum="$added_sum" -v with="$(instructions "$result")" -v base="$base" \
            'BEGIN { print sum + (with / base - 1) * 100 }')
        echo "injected $percent% run $run of $count: check exit $status" >&2
    done
    added=$(awk -v sum="$added_sum" -v n="$count" 'BEGIN { printf "%+.2f%%", sum / n }')
    printf '| %s%% | %s | %s | %s |' "$percent" "$units" "$added" "$count"
    for figure in $figures; do printf ' %s |' "${failed[$figure]:-0}"; done
    printf ' %s |\n' "$any"
    unset failed
done
