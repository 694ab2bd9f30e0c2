#!/usr/bin/env bash
# Builds tools/controlplane/bin/controlplane. Skips the build when the binary
# is newer than every .go, go.mod and go.sum file in this folder.
# FORCE=1 bash build.sh rebuilds unconditionally.
# A cold build (empty Go build cache) compiles ~2,500 Kubernetes packages:
# expect 12-20 minutes on 2 cores; a warm rebuild takes 15-50 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ../../scripts/lib/go-build.sh
go_build_if_stale controlplane
