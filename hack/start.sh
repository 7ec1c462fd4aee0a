#!/usr/bin/env bash
# `npm start`: builds the operator and runs it.
#   - KUBECONFIG set: runs against that cluster (the CRD must be installed:
#     `kubectl apply -k manifests/` or `kubectl apply -f crds/`).
#   - KUBECONFIG unset: starts (or reuses) the embedded local control plane
#     from hack/cluster.sh, installs crds/ and the admission policies of
#     manifests/ into it (as `kubectl apply -k manifests/` would), and runs
#     against it.
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
  # A ConfigPush may cause only what its author could (docs/authorization.md), and the apiserver sets the finalizer.
  node dist/src/cli/install-objects.js manifests/admission-policy.yaml manifests/finalizer-policy.yaml
  echo "configpush-operator: running on the embedded control plane; in another shell:" >&2
  echo "  export KUBECONFIG=$KUBECONFIG" >&2
  echo "  kubectl apply -f samples/configpush-secret.yaml && kubectl get cpush -A" >&2
fi
# Two `npm start`s on one machine: the first holds :8080 and :8081. For each
# endpoint address the user did not set (by flag or environment), use the
# default if it is free, else the next free port above it, and say which on
# stderr (src/cli/dev-addresses.ts). Only here, for local runs: the image and
# the manifests serve exactly :8080 and :8081, and an operator that cannot
# serve its address exits naming the flag to change.
wanted=()
for pair in metrics-address=:8080 health-address=:8081; do
  flag=${pair%%=*}
  env_name=CONFIGPUSH_${flag//-/_}
  env_name=${env_name^^}
  [ -n "${!env_name+set}" ] && continue
  for arg in "$@"; do
    case $arg in --"$flag" | --"$flag"=*) continue 2 ;; esac
  done
  wanted+=("--$pair")
done
if [ "${#wanted[@]}" -gt 0 ]; then
  mapfile -t picked < <(node dist/src/cli/dev-addresses.js "${wanted[@]}")
  [ "${#picked[@]}" -eq "${#wanted[@]}" ] || { echo "configpush-operator: could not pick the endpoint addresses" >&2; exit 1; }
  set -- "${picked[@]}" "$@"
fi
# The image's malloc arenas and node flags (Dockerfile ENV and ENTRYPOINT;
# test/unit/entrypoint.test.ts keeps them equal).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec node --optimize-for-size dist/src/main.js "$@"
