#!/usr/bin/env bash
# Builds (or finds) the helm CLI the chart tests use, and prints the path of
# the binary on stdout. Everything else goes to stderr.
#
# Order of preference:
#   1. $CONFIGPUSH_BIN_CACHE/helm-<version>/helm from an earlier build
#      (default .cache/bin, git-ignored; CI points it outside the clone, like
#      hack/controlplane/build.sh);
#   2. a fresh build from the Go module proxy with the wrapper module here
#      (go.mod/go.sum pin helm and every dependency; see update-module.sh).
# A helm on PATH is deliberately not used: its version would be whatever the
# machine has, and the tests pin the one in go.mod.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The pinned versions, read from the wrapper module itself so there is one place to change.
helm_version="$(sed -n 's#^[[:space:]]*helm\.sh/helm/v3 \(v[^[:space:]]*\).*#\1#p' "$here/go.mod")"
client_go="$(sed -n 's#^[[:space:]]*k8s\.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$here/go.mod")"
[ -n "$helm_version" ] && [ -n "$client_go" ] || { echo "cannot read the helm or client-go version from $here/go.mod" >&2; exit 1; }

out="${CONFIGPUSH_BIN_CACHE:-$root/.cache/bin}/helm-${helm_version}"
if [ -x "$out/helm" ]; then
  echo "$out/helm"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build helm" >&2; exit 1; }
mkdir -p "$out.partial"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
started=$(date +%s)

# The same -X flags as helm's own Makefile: the version `helm version`
# prints, and the Kubernetes version `helm template`/`helm lint` assume
# without a cluster (client-go v0.N -> Kubernetes 1.N).
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=${client_go}"
done
echo "building helm ${helm_version} (first run only; takes a few minutes)..." >&2
(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$out.partial/helm" helm.sh/helm/v3/cmd/helm)

rm -rf "$out" && mv "$out.partial" "$out"
echo "helm built in $(( $(date +%s) - started ))s into $out" >&2
echo "$out/helm"
