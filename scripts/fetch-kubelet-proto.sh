#!/usr/bin/env bash
# Takes the kubelet's plugin-registration api.proto from the k8s.io/kubelet Go module at a pinned version.
#
# Usage: fetch-kubelet-proto.sh [--if-possible]
#   --if-possible  when Go is not installed, say so and exit 0 (as fetch-csi-proto.sh does)
#
# proto/pluginregistration.proto is a build output (git ignores it): `nacre node --registration-dir`
# serves its Registration service so the kubelet registers the driver without node-driver-registrar.
# Nothing is done when the file is there at the pinned version.
set -euo pipefail

KUBELET_MODULE=k8s.io/kubelet
KUBELET_VERSION=v0.37.2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
proto="$root/proto/pluginregistration.proto"
stamp="// Fetched by scripts/fetch-kubelet-proto.sh from $KUBELET_MODULE@$KUBELET_VERSION"

[[ -f $proto ]] && [[ $(head -n 1 "$proto") == "$stamp" ]] && exit 0
if ! command -v go >/dev/null 2>&1; then
  if [[ ${1:-} == --if-possible ]]; then
    echo "fetch-kubelet-proto: go is not installed; proto/pluginregistration.proto not fetched" >&2
    exit 0
  fi
  echo "fetch-kubelet-proto: go is needed to fetch $KUBELET_MODULE@$KUBELET_VERSION from the module proxy" >&2
  exit 1
fi
dir=$(cd "$root" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$KUBELET_MODULE@$KUBELET_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
src="$dir/pkg/apis/pluginregistration/v1/api.proto"
if [[ -z $dir || ! -f $src ]]; then
  echo "fetch-kubelet-proto: go mod download gave no $src" >&2
  exit 1
fi
{
  printf '%s\n' "$stamp"
  cat "$src"
} >"$proto.tmp"
mv "$proto.tmp" "$proto"
