#!/usr/bin/env bash
# Builds tools/upstream-vk/bin/upstream-vk (the upstream virtual-kubelet node
# library, version pinned in go.mod, from the Go module proxy). Skips the build
# when the binary is newer than main.go, go.mod and go.sum. FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ../../scripts/lib/go-build.sh
go_build_if_stale upstream-vk
