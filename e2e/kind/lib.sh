# Shared settings and helpers of the kind scripts (sourced, not run).
# shellcheck shell=bash

KIND_CLUSTER=${KIND_CLUSTER:-nacre}
NACRE_IMAGE=${NACRE_IMAGE:-nacre:e2e}
NACRE_NAMESPACE=${NACRE_NAMESPACE:-nacre-system}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export KUBECONFIG=${KUBECONFIG:-$REPO_ROOT/.kind/kubeconfig}

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() {
  log "$*"
  exit 1
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found: install it first (see e2e/kind/README.md)"
  done
}

# Waits until a command succeeds, or fails after $1 seconds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for: $*"
    sleep 2
  done
}
