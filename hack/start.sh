#!/usr/bin/env bash
# `npm start`: builds the operator and runs it.
#   - KUBECONFIG set: runs against that cluster (the CRD must be installed:
#     `kubectl apply -k manifests/` or `kubectl apply -f crds/`).
#   - KUBECONFIG unset: starts (or reuses) the embedded local control plane
#     from hack/cluster.sh, installs crds/ into it, and runs against it.
# ~/.kube/config is deliberately NOT picked up implicitly: a bare `npm start`
# should never start writing to whatever cluster a shell happens to point at.
# Extra arguments go to the operator, e.g. `npm start -- --workers 8`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -z "${KUBECONFIG:-}" ]; then
  bash hack/cluster.sh up >/dev/null
  export KUBECONFIG="${CLUSTER_DIR:-$root/.cache/cluster}/kubeconfig"
  embedded=1
fi

npm run --silent build
if [ "${embedded:-0}" = 1 ]; then
  node dist/src/cli/install-crds.js crds
  echo "configpush-operator: running on the embedded control plane; in another shell:" >&2
  echo "  export KUBECONFIG=$KUBECONFIG" >&2
  echo "  kubectl apply -f samples/configpush-secret.yaml && kubectl get cpush -A" >&2
fi
# The image's node flags (Dockerfile ENTRYPOINT; test/unit/entrypoint.test.ts keeps them equal).
exec node --optimize-for-size dist/src/main.js "$@"
