# syntax=docker/dockerfile:1
# One image for every Nacre role: controller, node plugin, MGS, MDS, OSS and FSx API. Node 24 runs
# the TypeScript sources as they are (type stripping); only production dependencies are installed.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG GO_IMAGE=golang:1.26-bookworm

# csi.proto from the CSI spec Go module (scripts/fetch-csi-proto.sh pins the version; the build
# script passes it): the CSI services load it at run time.
FROM ${GO_IMAGE} AS csi-proto
ARG CSI_SPEC_VERSION=v1.13.0
WORKDIR /proto
RUN dir=$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json \
      "github.com/container-storage-interface/spec@${CSI_SPEC_VERSION}" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
  && cp "$dir/csi.proto" /proto/csi.proto
# The kubelet's plugin-registration proto (scripts/fetch-kubelet-proto.sh pins the version): the node
# plugin serves it to register itself with the kubelet.
ARG KUBELET_VERSION=v0.37.2
RUN dir=$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "k8s.io/kubelet@${KUBELET_VERSION}" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
  && cp "$dir/pkg/apis/pluginregistration/v1/api.proto" /proto/pluginregistration.proto

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: see README (the lock pins Biome's Linux-only platform packages).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# fuse3 and util-linux/mount for the node role (FUSE mounts, mount -i, umount, nsenter).
RUN apt-get update \
  && apt-get install -y --no-install-recommends fuse3 util-linux mount ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY cmd ./cmd
COPY src ./src
COPY crds ./crds
COPY --from=csi-proto /proto/csi.proto ./proto/csi.proto
COPY --from=csi-proto /proto/pluginregistration.proto ./proto/pluginregistration.proto
RUN printf '#!/bin/sh\nexec node /app/cmd/nacre.ts "$@"\n' > /usr/local/bin/nacre \
  && chmod 0755 /usr/local/bin/nacre \
  && nacre --version
# Non-root by default; the chart runs the node plugin and the node's OSS as root (mounts, hostPath).
USER 65532:65532
ENTRYPOINT ["nacre"]
