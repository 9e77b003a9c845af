# syntax=docker/dockerfile:1
# One image for every Nacre role: controller, node plugin, MGS, MDS, OSS and FSx API. Node 24 runs
# the TypeScript sources as they are (type stripping); only production dependencies are installed.
ARG NODE_IMAGE=node:24-bookworm-slim

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
RUN printf '#!/bin/sh\nexec node /app/cmd/nacre.ts "$@"\n' > /usr/local/bin/nacre \
  && chmod 0755 /usr/local/bin/nacre \
  && nacre --version
# Non-root by default; the chart runs the node plugin and the node's OSS as root (mounts, hostPath).
USER 65532:65532
ENTRYPOINT ["nacre"]
