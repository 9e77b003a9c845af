#!/usr/bin/env bash
# Creates the kind cluster, builds and loads the Nacre image, and installs the chart as a user would.
#
# Usage: e2e/kind/up.sh   (env: KIND_CLUSTER, NACRE_IMAGE, NACRE_NAMESPACE, KUBECONFIG)
set -euo pipefail
# shellcheck source=e2e/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need docker kind kubectl helm

mkdir -p "$(dirname "$KUBECONFIG")"
if ! kind get clusters | grep -qx "$KIND_CLUSTER"; then
  log "creating kind cluster $KIND_CLUSTER"
  kind create cluster --name "$KIND_CLUSTER" --config "$REPO_ROOT/e2e/kind/kind-config.yaml" \
    --kubeconfig "$KUBECONFIG" --wait 120s
fi

log "building $NACRE_IMAGE"
"$REPO_ROOT/scripts/build-image.sh" "$NACRE_IMAGE"
kind load docker-image --name "$KIND_CLUSTER" "$NACRE_IMAGE"

repo=${NACRE_IMAGE%:*}
tag=${NACRE_IMAGE##*:}
log "installing the chart into $NACRE_NAMESPACE"
helm upgrade --install nacre "$REPO_ROOT/charts/nacre" -n "$NACRE_NAMESPACE" --create-namespace \
  --set image.repository="$repo" --set image.tag="$tag" --set image.pullPolicy=Never \
  --set node.osts.size=2G --wait --timeout 10m
kubectl -n "$NACRE_NAMESPACE" get pods -o wide
