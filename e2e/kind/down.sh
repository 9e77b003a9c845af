#!/usr/bin/env bash
# Uninstalls the chart (checking that nothing it made is left) and deletes the kind cluster.
set -euo pipefail
# shellcheck source=e2e/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need kind kubectl helm

if helm status nacre -n "$NACRE_NAMESPACE" >/dev/null 2>&1; then
  helm uninstall nacre -n "$NACRE_NAMESPACE" --wait --timeout 5m
  left=$(kubectl get all,secrets,configmaps,serviceaccounts,roles,rolebindings -n "$NACRE_NAMESPACE" \
    -l app.kubernetes.io/instance=nacre -o name)
  [[ -z $left ]] || die "left behind by helm uninstall: $left"
fi
kind delete cluster --name "$KIND_CLUSTER"
