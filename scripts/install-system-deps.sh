#!/usr/bin/env bash
# Installs the Debian packages the integration tests use, only those missing (apt-get update first).
#
# openssl makes the test cluster's certificates; fio and fuse3 exercise FUSE mounts; awscli talks to
# MinIO; iproute2 and util-linux give ip, nsenter, unshare, mount and flock; shellcheck checks the
# kind scripts; runc, containernetworking-plugins, busybox-static (the test image) and iptables
# (kube-proxy) serve the harness's kubelet nodes. Go (>= 1.26, for e2e/harness/build-tools.sh) is
# not a Debian package this recent and must already be installed.
set -euo pipefail

packages=(openssl fio fuse3 awscli iproute2 util-linux shellcheck runc containernetworking-plugins busybox-static iptables)

log() { printf 'install-system-deps: %s\n' "$*" >&2; }

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  log "not a Debian-like system: install ${packages[*]} yourself"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  log "all present (${packages[*]})"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || {
    log "missing ${missing[*]} and not root: run 'apt-get install ${missing[*]}' as root"
    exit 1
  }
  sudo=(sudo)
fi

log "installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
timeout 600 "${sudo[@]}" apt-get update -qq
timeout 1200 "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
log "installed ${missing[*]}"
