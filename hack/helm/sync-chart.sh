#!/usr/bin/env bash
# Copies the files the Helm chart renders from into charts/configpush-operator/,
# byte for byte, so the chart and the kustomize install have one source:
#   crds/configpush.io_configpushes.yaml -> crds/ (Helm installs crds/ first)
#   manifests/kustomization.yaml and the files its resources list
#                                        -> files/manifests/ (rbac rules, the
#                                           resource list, and files with no
#                                           template of their own)
#   monitoring/prometheus-rule.yaml, monitoring/grafana-dashboard.json
#                                        -> files/monitoring/
# Usage: hack/helm/sync-chart.sh           update the copies
#        hack/helm/sync-chart.sh --check   exit 1 and name each copy that differs
#                                          (test/e2e/helm-chart.test.ts runs this)
# CHART_DIR overrides the chart (the test points it at a scratch copy).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chart="${CHART_DIR:-$root/charts/configpush-operator}"
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# source destination pairs
pairs=("$root/crds/configpush.io_configpushes.yaml" "$chart/crds/configpush.io_configpushes.yaml")
# The files manifests/kustomization.yaml lists (../crds is the chart's crds/),
# and the kustomization itself: the chart reads its resource list.
mapfile -t resources < <(awk '/^resources:/ { on = 1; next } /^[^[:space:]#-]/ { on = 0 } on && /^[[:space:]]*- / { print $2 }' "$root/manifests/kustomization.yaml")
[ "${#resources[@]}" -gt 0 ] || { echo "no resources found in manifests/kustomization.yaml" >&2; exit 1; }
wanted=(kustomization.yaml)
for r in "${resources[@]}"; do
  [ "$r" = ../crds ] && continue
  case "$r" in
    */*|*[!A-Za-z0-9._-]*) echo "manifests/kustomization.yaml lists $r: the chart takes only files in manifests/ itself" >&2; exit 1 ;;
  esac
  wanted+=("$r")
done
for f in "${wanted[@]}"; do pairs+=("$root/manifests/$f" "$chart/files/manifests/$f"); done
for f in prometheus-rule.yaml grafana-dashboard.json; do pairs+=("$root/monitoring/$f" "$chart/files/monitoring/$f"); done

stale=0
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  src="${pairs[i]}" dst="${pairs[i+1]}"
  if cmp -s "$src" "$dst"; then continue; fi
  if $check; then
    echo "out of date: ${dst#"$chart/"} differs from ${src#"$root/"}" >&2
    stale=1
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
    echo "updated ${dst#"$chart/"}" >&2
  fi
done
# A file the kustomization no longer lists must not linger in the chart.
# Membership is a loop, not `printf | grep -q`: under pipefail, grep -q exits at
# its match and printf's next line dies on the closed pipe, so a listed file
# would be called stale now and then (it was, in CI).
is_wanted() {
  local w
  for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}
for f in "$chart"/files/manifests/*; do
  [ -e "$f" ] || continue
  name="$(basename "$f")"
  is_wanted "$name" && continue
  if $check; then echo "stale: files/manifests/$name is not in manifests/kustomization.yaml" >&2; stale=1
  else rm "$f"; echo "removed files/manifests/$name" >&2; fi
done
if $check && [ "$stale" -ne 0 ]; then
  echo "run hack/helm/sync-chart.sh to update the chart's copies" >&2
  exit 1
fi
