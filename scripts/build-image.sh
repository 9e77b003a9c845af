#!/usr/bin/env bash
# Builds the Nacre container image (one image for every role) with docker, or podman via DOCKER=podman.
#
# Usage: scripts/build-image.sh [IMAGE]   (default nacre:dev; NODE_IMAGE overrides the base image)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

image=${1:-nacre:dev}
docker=${DOCKER:-docker}
node_image=${NODE_IMAGE:-node:24-bookworm-slim}

if ! command -v "$docker" >/dev/null; then
  printf 'build-image: %s not found: install Docker (or set DOCKER=podman)\n' "$docker" >&2
  exit 1
fi
# The CSI spec version has one home: scripts/fetch-csi-proto.sh.
spec_version=$(sed -n 's/^SPEC_VERSION=//p' scripts/fetch-csi-proto.sh)
[[ -n $spec_version ]] || {
  printf 'build-image: no SPEC_VERSION in scripts/fetch-csi-proto.sh\n' >&2
  exit 1
}
kubelet_version=$(sed -n 's/^KUBELET_VERSION=//p' scripts/fetch-kubelet-proto.sh)
"$docker" build --build-arg "NODE_IMAGE=$node_image" --build-arg "CSI_SPEC_VERSION=$spec_version" \
  --build-arg "KUBELET_VERSION=$kubelet_version" \
  -t "$image" .
printf 'build-image: built %s\n' "$image" >&2
