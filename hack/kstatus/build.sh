#!/usr/bin/env bash
# Builds (or finds) the kstatus checker: a small Go program on
# sigs.k8s.io/cli-utils' pkg/kstatus/status (the library Flux and kpt wait
# with), pinned by go.mod and go.sum here. Prints the binary's path on
# stdout; everything else goes to stderr.
#
# The binary is cached in $CONFIGPUSH_BIN_CACHE (default .cache/bin) under a
# folder named by the cli-utils version and a hash of main.go, go.mod and
# go.sum, so a change to any of them builds a new one and a cached one is
# reused as is (no Go invocation at all).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

version="$(awk '$1 == "sigs.k8s.io/cli-utils" { print $2 }' "$here/go.mod")"
[ -n "$version" ] || { echo "hack/kstatus/go.mod does not require sigs.k8s.io/cli-utils" >&2; exit 1; }
digest="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
out="${CONFIGPUSH_BIN_CACHE:-$root/.cache/bin}/kstatus-cli-utils-${version}-${digest}"
if [ -x "$out/kstatus" ]; then
  echo "$out/kstatus"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the kstatus checker (hack/kstatus)" >&2; exit 1; }
mkdir -p "$out"
started=$(date +%s)
echo "building the kstatus checker on sigs.k8s.io/cli-utils ${version}..." >&2
# -mod=readonly: go.mod and go.sum are complete; a build never edits them.
# A temporary name, then a rename: a concurrent build or a killed one never
# leaves a half-written binary at the cached path.
partial="$out/kstatus.partial.$$"
(cd "$here" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
  go build -trimpath -ldflags "-s -w" -o "$partial" .)
mv -f "$partial" "$out/kstatus"
echo "kstatus checker built in $(( $(date +%s) - started ))s into $out" >&2
echo "$out/kstatus"
