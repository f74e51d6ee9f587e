#!/usr/bin/env bash
# Starts the conformance testee (test/conformance/testee.ts) from any working directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [ -z "${PROTOGATE_CONFORMANCE_PROTOS:-}" ]; then
  PROTOGATE_CONFORMANCE_PROTOS="$(bash "$repo/../shared/conformance/run.sh" --protos-dir)"
  export PROTOGATE_CONFORMANCE_PROTOS
fi
cd "$repo"
exec node --import tsx "$here/testee.ts"
