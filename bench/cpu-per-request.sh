#!/usr/bin/env bash
# Gateway CPU per request under wrk load, for quick A/B runs of node flags or configs:
#   bash bench/cpu-per-request.sh ["<node flags>"] [path] [config]
# Runs `protogate serve` (dist/; `npm run build` first) pinned to CPU 1 in front of the Go bench
# backend from the bench-peers copy (bash bench/peers.sh builds it) on CPU 0, warms up 4 s, then
# prints req/s, p99 and the gateway's utime+stime per request over DUR seconds (default 6).
# Alternate the variants and repeat: the machine is shared, single runs mean little.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${BENCH_PEERS_DIR:-$root/../bench-peers-run}"
flags="${1:-}"; path="${2:-/v1/items/abc}"; config="${3:-bench/bench-config.yaml}"; dur="${DUR:-6}"
cd "$root"
started_backend=''
if ! (exec 3<>/dev/tcp/127.0.0.1/50051) 2>/dev/null; then
  taskset -c 0 "$peers/build/bin/backend" -addr 127.0.0.1:50051 >/dev/null 2>&1 &
  started_backend=$!
  sleep 0.5
fi
# shellcheck disable=SC2086
taskset -c 1 node $flags bin/protogate.js serve --config "$config" --proto-path "$peers/proto" --proto bench.proto \
  --upstream bench.v1.ItemService=127.0.0.1:50051 --port 8094 --host 127.0.0.1 >/dev/null 2>&1 &
gateway=$!
trap 'kill $gateway 2>/dev/null; [ -n "$started_backend" ] && kill $started_backend 2>/dev/null; true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8094/v1/items/x && break; sleep 0.1; done
taskset -c 0 wrk -t2 -c32 -d4s "http://127.0.0.1:8094$path" >/dev/null
ticks() { awk '{print $14 + $15}' "/proc/$gateway/stat"; }
t0=$(ticks)
out=$(taskset -c 0 wrk -t2 -c32 -d"${dur}s" --latency "http://127.0.0.1:8094$path")
t1=$(ticks)
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p99=$(echo "$out" | awk '/ 99%/ {print $2}')
hz=$(getconf CLK_TCK)
echo "flags='$flags' req/s=$rps p99=$p99 cpu_us/req=$(echo "($t1 - $t0) * 1000000 / $hz / ($rps * $dur)" | bc -l | cut -c1-6) load=$(cut -d' ' -f1 /proc/loadavg)"
