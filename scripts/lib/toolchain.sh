# Sourced by scripts/*.sh. Installs what is missing, from the registries only:
# Node 24 from the npm registry's node-linux-<arch> package, npm dependencies,
# redis-server from Debian, and the control plane binary built with Go.
# Heavy set-up is cached under $VK_CACHE_DIR so a fresh checkout is quick.
# VK_OFFLINE=1: install nothing and download nothing (Go modules included);
# fail naming what is missing instead (the tests that start the dev stack run
# this way, so they never reach a registry).

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VK_CACHE_DIR="${VK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/virtual-kubelet-ts}"
VK_NODE_VERSION="24.21.0"   # Node 24 LTS; engines says >=22.19 (@kubernetes/client-node 2.x)
mkdir -p "$VK_CACHE_DIR"

log() { printf '[vk] %s\n' "$*" >&2; }
die() { printf '[vk] error: %s\n' "$*" >&2; exit 1; }

if [ "${VK_OFFLINE:-}" = 1 ]; then export GOPROXY=off; fi
# Called before anything that would download: fails in offline mode.
need_network() {
  if [ "${VK_OFFLINE:-}" = 1 ]; then die "offline (VK_OFFLINE=1), so not installing $*: run without VK_OFFLINE=1 once to install it"; fi
}

node_is_recent_enough() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}

ensure_node() {
  if node_is_recent_enough; then return; fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no Node.js package for $(uname -m); install Node >= 22.19 yourself" ;;
  esac
  local dir="$VK_CACHE_DIR/node-$VK_NODE_VERSION-$arch"
  if [ ! -x "$dir/node_modules/node-linux-$arch/bin/node" ]; then
    need_network "Node $VK_NODE_VERSION"
    command -v npm >/dev/null 2>&1 || die "npm is needed to install Node $VK_NODE_VERSION (apt-get install npm)"
    log "installing Node $VK_NODE_VERSION from the npm registry into $dir"
    mkdir -p "$dir"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$dir" "node-linux-$arch@$VK_NODE_VERSION" >&2
  fi
  export PATH="$dir/node_modules/node-linux-$arch/bin:$PATH"
  node_is_recent_enough || die "Node $VK_NODE_VERSION did not install correctly"
}

ensure_npm_deps() {
  cd "$REPO_ROOT"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    need_network "the npm dependencies"
    log "installing npm dependencies from package-lock.json"
    # Not `npm ci`: the lockfile cannot list msgpackr-extract's optional
    # per-platform binaries that the registry does not serve here, and npm ci
    # refuses such a lockfile; `npm install --no-save` follows the lock and
    # leaves it unchanged.
    npm install --no-save --no-audit --no-fund --loglevel=error >&2
  fi
}

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 && return
  need_network "redis-server"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing redis-server (Debian package)"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
  else
    die "redis-server is missing: install the Debian/Ubuntu package with: sudo apt-get install redis-server"
  fi
}

ensure_controlplane() {
  command -v go >/dev/null 2>&1 || die "Go >= 1.26 is needed to build the test control plane (tools/controlplane): install golang"
  bash "$REPO_ROOT/tools/controlplane/build.sh" >&2
}

# Benchmark peers (npm run bench only), built from the Go module proxy into
# $VK_CACHE_DIR/bin/<name>-<version>/ so that versions never mix.
VK_KWOK_VERSION="v0.8.0"

# kwok: sigs.k8s.io/kwok/cmd/kwok at $VK_KWOK_VERSION. Prints the binary's path.
ensure_kwok() {
  local dir="$VK_CACHE_DIR/bin/kwok-$VK_KWOK_VERSION"
  if [ ! -x "$dir/kwok" ]; then
    command -v go >/dev/null 2>&1 || die "Go is needed to build kwok for the benchmarks: install golang"
    log "building kwok $VK_KWOK_VERSION from the Go module proxy (a few minutes on 2 cores, once)"
    mkdir -p "$dir"
    GOBIN="$dir" go install "sigs.k8s.io/kwok/cmd/kwok@$VK_KWOK_VERSION" >&2
  fi
  # The standalone kwok runs no stage unless given some: use the "fast" stages
  # that kwokctl gives it by default, as shipped in the same module version.
  if [ ! -s "$dir/stages.yaml" ]; then
    local mod
    mod="$(go mod download -json "sigs.k8s.io/kwok@$VK_KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$mod/kustomize/stage" ] || die "kwok $VK_KWOK_VERSION module source not found in the Go module cache"
    local f
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf -- '---\n'; cat "$mod/kustomize/stage/$f"
    done > "$dir/stages.yaml.tmp"
    mv -f "$dir/stages.yaml.tmp" "$dir/stages.yaml"
  fi
  printf '%s\n' "$dir/kwok"
}

# The upstream virtual-kubelet peer: tools/upstream-vk (its node library at the
# version pinned in tools/upstream-vk/go.mod). Prints the binary's path.
ensure_upstream_vk() {
  command -v go >/dev/null 2>&1 || die "Go is needed to build the upstream virtual-kubelet peer: install golang"
  bash "$REPO_ROOT/tools/upstream-vk/build.sh" >&2
  printf '%s\n' "$REPO_ROOT/tools/upstream-vk/bin/upstream-vk"
}

ensure_all() {
  ensure_node
  ensure_npm_deps
  ensure_redis
  ensure_controlplane
}
