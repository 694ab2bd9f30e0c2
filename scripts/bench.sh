#!/usr/bin/env bash
# npm run bench: benchmarks against the real parts (not part of npm test).
# So far: the node-agent's steady-state cost. The pod burst/steady/delete
# benchmarks of the benchmarks issue are not written yet.
source "$(dirname "$0")/lib/toolchain.sh"
ensure_all
cd "$REPO_ROOT"
node bench/node-agent-steady.ts "$@"
