# Sourced by tools/*/build.sh. go_build_if_stale NAME builds ./bin/NAME from
# the Go module in the current folder, unless the binary is newer than every
# .go, go.mod and go.sum file there. FORCE=1 rebuilds unconditionally.
go_build_if_stale() {
  local name=$1 bin=bin/$1 newer start
  if [[ -x $bin && ${FORCE:-0} != 1 ]]; then
    newer=$(find . -path ./bin -prune -o \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin" -print | head -n 1)
    if [[ -z $newer ]]; then
      echo "$name: $bin is up to date (skipped build)" >&2
      return 0
    fi
  fi
  start=$(date +%s)
  mkdir -p bin
  go build -trimpath -ldflags="-s -w" -o "$bin.tmp" .
  mv -f "$bin.tmp" "$bin"
  echo "$name: built $bin in $(( $(date +%s) - start ))s" >&2
}
