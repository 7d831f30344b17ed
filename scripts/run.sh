#!/usr/bin/env sh
# The source document's run.sh, with `geecache-bench serve` as the server:
# three nodes on localhost:8001..8003, the API on localhost:9999 beside the
# third, then three concurrent requests for Tom, which the cluster answers
# with one slow-store search (the -vv node logs it). Every process stops when
# the script ends.
set -e
cd "$(dirname "$0")/.."
cargo build --release --quiet
server=./target/release/geecache-bench
trap 'kill 0' EXIT

$server serve --port 8001 -vv &
$server serve --port 8002 -vv &
$server serve --port 8003 --api -vv &

sleep 1

echo ">>> start test"
curl -s "http://localhost:9999/api?key=Tom" & first=$!
curl -s "http://localhost:9999/api?key=Tom" & second=$!
curl -s "http://localhost:9999/api?key=Tom" & third=$!
wait $first $second $third
echo
