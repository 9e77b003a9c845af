#!/usr/bin/env bash
# The e2e scenarios on kind: a FileSystem becomes Ready; a PVC of StorageClass nacre binds; a
# writer pod on one node and a reader pod on another share data; a striped file's stripes land on
# the nodes' local OSTs; deleting everything leaves no CR, PV, mount or OST object behind.
#
# Usage: e2e/kind/scenarios.sh   (after e2e/kind/up.sh)
set -euo pipefail
# shellcheck source=e2e/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need kubectl

ns=nacre-e2e
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o name | sed 's|node/||')
((${#workers[@]} >= 2)) || die "need two worker nodes, found ${#workers[@]}"

cleanup() {
  kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=5m >/dev/null || true
}
trap cleanup EXIT
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -

log "1. a FileSystem becomes Ready"
kubectl -n "$ns" apply -f - <<YAML
apiVersion: fsx.nacre.dev/v1alpha1
kind: FileSystem
metadata: { name: e2e }
spec:
  storageCapacity: 2400
  lustreConfiguration: { deploymentType: SCRATCH_2 }
YAML
kubectl -n "$ns" wait filesystem/e2e --for=condition=Ready --timeout=5m

log "2. a PVC of StorageClass nacre binds"
kubectl -n "$ns" apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: shared }
spec:
  accessModes: [ReadWriteMany]
  storageClassName: nacre
  resources: { requests: { storage: 2400Gi } }
YAML
kubectl -n "$ns" wait pvc/shared --for=jsonpath='{.status.phase}'=Bound --timeout=5m

pod() { # name node script
  local script
  script="          ${3//$'\n'/$'\n'          }"
  kubectl -n "$ns" apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: { name: $1 }
spec:
  nodeName: $2
  restartPolicy: Never
  containers:
    - name: c
      image: $NACRE_IMAGE
      imagePullPolicy: Never
      securityContext: { runAsUser: 0 }
      command: [sh, -c]
      args:
        - |
$script
      volumeMounts: [{ name: data, mountPath: /data }]
  volumes: [{ name: data, persistentVolumeClaim: { claimName: shared } }]
YAML
}

log "3. a writer on ${workers[0]} and a reader on ${workers[1]} share data (stripes over both nodes)"
pod writer "${workers[0]}" 'mkdir -p /data/striped && nacre lfs setstripe -c -1 -S 1M /data/striped && head -c 16M /dev/urandom > /data/striped/f && sha256sum /data/striped/f | cut -d" " -f1 > /data/sum && nacre lfs getstripe /data/striped/f'
kubectl -n "$ns" wait pod/writer --for=jsonpath='{.status.phase}'=Succeeded --timeout=5m
# shellcheck disable=SC2016 # expanded by the pod's shell
pod reader "${workers[1]}" 'test "$(sha256sum /data/striped/f | cut -d" " -f1)" = "$(cat /data/sum)" && echo same'
kubectl -n "$ns" wait pod/reader --for=jsonpath='{.status.phase}'=Succeeded --timeout=5m
[[ $(kubectl -n "$ns" logs reader) == same ]] || die "the reader saw other bytes than the writer wrote"

log "4. the stripes are on the nodes' own OSTs"
layout=$(kubectl -n "$ns" logs writer)
printf '%s\n' "$layout"
for node in "${workers[@]}"; do
  oss_pod=$(kubectl -n "$NACRE_NAMESPACE" get pods -l app.kubernetes.io/component=node \
    --field-selector "spec.nodeName=$node" -o name)
  objects=$(kubectl -n "$NACRE_NAMESPACE" exec "$oss_pod" -c oss -- find /var/lib/nacre/oss -type f | wc -l)
  ((objects > 0)) || die "no OST object on $node"
  log "$node holds $objects OST files"
done

log "5. deleting everything leaves nothing behind"
kubectl -n "$ns" delete pod writer reader --wait=true
kubectl -n "$ns" delete pvc shared --wait=true
kubectl -n "$ns" delete filesystem e2e --wait=true --timeout=5m
no_pv_left() {
  [[ -z $(kubectl get pv -o jsonpath="{range .items[?(@.spec.claimRef.namespace=='$ns')]}{.metadata.name}{end}") ]]
}
wait_for 300 no_pv_left
for node in "${workers[@]}"; do
  if docker exec "$node" grep -q fuse.nacre /proc/mounts; then die "a Nacre mount is left on $node"; fi
  left=$(docker exec "$node" find /var/lib/nacre/oss -mindepth 1 -maxdepth 1 -type d -name '*-OST*')
  [[ -z $left ]] || die "OSTs left on $node: $left"
done
log "all scenarios passed"
