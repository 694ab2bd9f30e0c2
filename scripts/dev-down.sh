#!/usr/bin/env bash
# npm run dev:down: stops the background dev stack started by npm run dev:up and
# everything it started (control plane, Redis, services), then removes .dev state.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .dev/stack.pid ]; then echo "[vk] no dev stack is running"; exit 0; fi
pid="$(cat .dev/stack.pid)"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
fi
# Whatever is left in the stack's process group (it should be nothing) is killed.
if pgrep -g "$pid" >/dev/null 2>&1; then
  echo "[vk] some processes did not stop in 20 s; killing them" >&2
  pkill -KILL -g "$pid" || true
fi
rm -f .dev/stack.pid .dev/ready .dev/kubeconfig
echo "[vk] dev stack stopped"
