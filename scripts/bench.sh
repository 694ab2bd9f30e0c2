#!/usr/bin/env bash
# npm run bench: benchmarks against the real parts (not part of npm test).
#   npm run bench                  pod benchmark, full: bursts of 1,000 and 10,000 pods,
#                                  steady 20/50/100 pods/s, delete; ours with 1/2/4 pod-workers
#                                  beside the limit, kwok and upstream virtual-kubelet
#   npm run bench -- --quick       the same with 1,000 pods, 1 and 2 workers (< 5 minutes)
#   npm run bench -- node-agent-steady [--seconds 65]   the node-agent's steady-state cost
#   npm run bench -- kubelet-api [...]                  kubelet-api logs/stats figures (bench/kubelet-api.ts)
#   npm run bench -- --help        every flag of the pod benchmark (the others take --help too)
# Other flags go to bench/pod-bench.ts.
source "$(dirname "$0")/lib/toolchain.sh"
ensure_all
cd "$REPO_ROOT"
case "${1:-}" in
  node-agent-steady|kubelet-api) name="$1"; shift; exec node "bench/$name.ts" "$@" ;;
esac
# --help needs no peers: answer it before building them.
for a in "$@"; do case "$a" in -h|--help) exec node bench/pod-bench.ts --help ;; esac; done
# Peers: built once from the Go module proxy and cached; a peer that does not
# build is reported as not measured, the rest of the bench still runs.
VK_BENCH_KWOK="$(ensure_kwok)" || { log "kwok did not build: it will be missing from the results"; VK_BENCH_KWOK=""; }
VK_BENCH_UPSTREAM_VK="$(ensure_upstream_vk)" || { log "upstream virtual-kubelet did not build: it will be missing from the results"; VK_BENCH_UPSTREAM_VK=""; }
export VK_BENCH_KWOK VK_BENCH_UPSTREAM_VK
export VK_BENCH_KWOK_STAGES="$(dirname "${VK_BENCH_KWOK:-/nonexistent/x}")/stages.yaml"
export VK_BENCH_KWOK_VERSION="$VK_KWOK_VERSION"
exec node bench/pod-bench.ts "$@"
