#!/usr/bin/env bash
# npm run dev          the whole stack in the foreground; Ctrl-C stops everything.
# npm run dev:up       the same in the background (logs in .dev/dev.log); npm run dev:down stops it.
source "$(dirname "$0")/lib/toolchain.sh"
ensure_all
cd "$REPO_ROOT"
mkdir -p .dev

if [ "${1:-}" = "--background" ]; then
  if [ -f .dev/stack.pid ] && kill -0 "$(cat .dev/stack.pid)" 2>/dev/null; then
    die "the dev stack already runs (pid $(cat .dev/stack.pid)); npm run dev:down stops it"
  fi
  rm -f .dev/ready
  # setsid: the stack gets its own process group, so dev:down can stop all of it.
  setsid node scripts/dev-stack.ts >.dev/dev.log 2>&1 < /dev/null &
  echo $! > .dev/stack.pid
  for _ in $(seq 1 600); do
    [ -f .dev/ready ] && { cat .dev/ready; exit 0; }
    kill -0 "$(cat .dev/stack.pid)" 2>/dev/null || { tail -n 30 .dev/dev.log >&2; die "the dev stack exited during start-up (see .dev/dev.log)"; }
    sleep 0.2
  done
  die "the dev stack did not become ready in 120 s (see .dev/dev.log)"
fi

exec node scripts/dev-stack.ts
