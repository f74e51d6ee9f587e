#!/usr/bin/env bash
# Runs ../shared/bench-peers (grpc-gateway, a handwritten Fastify + grpc-js proxy, limits) with
# protogate's row added, from a copy in ../bench-peers-run. Prints the Markdown tables.
# Knobs are bench-peers' own (ROUNDS, DURATION, ONLY, …); see its README.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
run="${BENCH_PEERS_DIR:-$root/../bench-peers-run}"
if [ ! -d "$run" ]; then
  cp -r ../shared/bench-peers "$run"
  chmod -R u+w "$run"
fi
npm run build >/dev/null
export PRODUCT_NAME=protogate
export PRODUCT_CMD="node bin/protogate.js serve --config bench/bench-config.yaml --proto-path $run/proto --proto bench.proto --upstream bench.v1.ItemService=\$BACKEND --port \$PORT --host 127.0.0.1"
exec bash "$run/run.sh"
