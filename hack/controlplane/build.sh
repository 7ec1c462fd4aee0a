#!/usr/bin/env bash
# Builds (or finds) kube-apiserver and etcd, and prints the folder that holds
# both on stdout. Everything else goes to stderr.
#
# Order of preference:
#   1. KUBEBUILDER_ASSETS, when it points at a folder with both binaries
#      (the controller-runtime envtest convention);
#   2. $CONFIGPUSH_BIN_CACHE/<kube>-<etcd>/ from an earlier build
#      (default .cache/bin, git-ignored; CI points it outside the clone so
#      a fresh clone on the same machine reuses it);
#   3. a fresh build from the Go module proxy with the wrapper modules here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../versions.env
source "$root/hack/versions.env"

if [ -n "${KUBEBUILDER_ASSETS:-}" ] \
   && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
  echo "using control-plane binaries from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS" >&2
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

out="${CONFIGPUSH_BIN_CACHE:-$root/.cache/bin}/kube-${KUBE_VERSION}-etcd-${ETCD_VERSION}"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the control plane (or set KUBEBUILDER_ASSETS)" >&2; exit 1; }
mkdir -p "$out.partial"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
started=$(date +%s)

minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=${KUBE_VERSION} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor}"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
echo "building kube-apiserver ${KUBE_VERSION} (first run only; takes several minutes)..." >&2
(cd "$here/kube-apiserver" && go build -trimpath -ldflags "$kube_ldflags" \
  -o "$out.partial/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)

echo "building etcd ${ETCD_VERSION}..." >&2
(cd "$here/etcd" && go build -trimpath \
  -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}" \
  -o "$out.partial/etcd" go.etcd.io/etcd/server/v3)

rm -rf "$out" && mv "$out.partial" "$out"
echo "control plane built in $(( $(date +%s) - started ))s into $out" >&2
echo "$out"
