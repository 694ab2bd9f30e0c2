#!/usr/bin/env bash
# Builds tools/upstream-vk/bin/upstream-vk (the upstream virtual-kubelet node
# library, version pinned in go.mod, from the Go module proxy). Skips the build
# when the binary is newer than main.go, go.mod and go.sum. FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bin=bin/upstream-vk
if [[ -x $bin && ${FORCE:-0} != 1 ]]; then
  newer=$(find . -path ./bin -prune -o \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin" -print | head -n 1)
  if [[ -z $newer ]]; then
    echo "upstream-vk: $bin is up to date (skipped build)" >&2
    exit 0
  fi
fi
start=$(date +%s)
mkdir -p bin
go build -trimpath -ldflags="-s -w" -o "$bin.tmp" .
mv -f "$bin.tmp" "$bin"
echo "upstream-vk: built $bin in $(( $(date +%s) - start ))s" >&2
