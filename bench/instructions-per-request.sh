#!/usr/bin/env bash
# Instructions per request of the whole gateway process, counted by valgrind (callgrind), which
# a busy shared machine does not disturb (reproducible to ~0.2 %):
#   bash bench/instructions-per-request.sh N1 N2 ["<node flags>"]
# Runs `protogate serve` (dist/) under valgrind twice, sending N1 then N2 GETs (32 at a time,
# bench/fixed-load.ts) to the Go bench backend, and prints (Ir(N2) − Ir(N1)) / (N2 − N1): startup
# and JIT warm-up cancel out only over many requests: keep N2 − N1 ≥ 6,000 (a few hundred give
# noise, even negative counts). Slow (~50× under valgrind): 500 and 20500 take ~5 minutes.
# Counts understate memory-bound work (GC), so confirm a GC change with bench/cpu-per-request.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${BENCH_PEERS_DIR:-$root/../bench-peers-run}"
cd "$root"
started_backend=''
if ! (exec 3<>/dev/tcp/127.0.0.1/50051) 2>/dev/null; then
  "$peers/build/bin/backend" -addr 127.0.0.1:50051 >/dev/null 2>&1 &
  started_backend=$!
  sleep 0.5
fi
trap '[ -n "$started_backend" ] && kill $started_backend 2>/dev/null; true' EXIT
instructions() {
  local out; out=$(mktemp)
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file="$out" --smc-check=all-non-file node $2 bin/protogate.js serve \
    --config bench/bench-config.yaml --proto-path "$peers/proto" --proto bench.proto \
    --upstream bench.v1.ItemService=127.0.0.1:50051 --port 8095 --host 127.0.0.1 >/dev/null 2>&1 &
  local gateway=$!
  for _ in $(seq 600); do curl -s -o /dev/null http://127.0.0.1:8095/v1/items/x && break; sleep 0.5; done
  node --import tsx bench/fixed-load.ts 8095 "$1" 32 >/dev/null
  kill -INT $gateway; wait $gateway || true
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
  rm -f "$out"
}
first=$(instructions "$1" "${3:-}")
second=$(instructions "$2" "${3:-}")
echo "instructions per request: $(( (second - first) / ($2 - $1) ))  (Ir $first at $1 requests, $second at $2; flags '${3:-}')"
