#!/usr/bin/env bash
# Assembles Nacre's container image without a Docker engine, as an OCI archive `ctr images import` takes.
#
# Usage: scripts/build-image-oci.sh [--name REF]
#   --name REF  the name containerd files the image under (default docker.io/library/nacre:<version>,
#               what the chart's default image "nacre:<appVersion>" means to the kubelet)
#
# The image is what the Dockerfile builds, from parts already on this machine: a Debian bookworm
# root file system (the packages the runtime needs, resolved by apt and fetched with apt-get
# download: libc, libstdc++, dash, coreutils, mount/umount, util-linux's nsenter, fuse3,
# ca-certificates), the project's Node 24 binary as /usr/local/bin/node, the production
# node_modules (npm install --omit=dev, as the Dockerfile), and /app: package.json, cmd, src, crds,
# proto/*.proto, minus what .dockerignore leaves out. Entrypoint nacre, user 65532:65532, /app.
#
# Four layers, each cached by its content under ${NACRE_IMAGE_CACHE:-$HOME/.cache/nacre/images}:
# the Debian base (key: package versions), node (its hash), node_modules (the lock), the app (always
# re-tarred: a few MB). The archive is <cache>/nacre-<version>-<key>.tar, key from the layers'
# digests; a second run with nothing changed prints the same path without writing anything.
# Archives and layers no run has used for a day are removed.
# Prints the archive's path on stdout; progress on stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${NACRE_IMAGE_CACHE:-$HOME/.cache/nacre/images}
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json" | head -n 1)
name=docker.io/library/nacre:$version
# The runtime's Debian packages; apt adds their dependencies.
packages=(base-files libc6 libstdc++6 dash coreutils mount util-linux fuse3 ca-certificates)
# Change it to rebuild every layer after a change to how they are assembled.
recipe=1

log() { printf 'build-image-oci: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

while (($#)); do
  case $1 in
  --name)
    name=${2:?--name needs a value}
    shift 2
    ;;
  -h | --help)
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 0
    ;;
  *) die "unknown argument $1" ;;
  esac
done
[[ -n $version ]] || die "no version in package.json"
node_bin="$root/node_modules/node/bin/node"
[[ -x $node_bin ]] || die "$node_bin is missing: run npm install (the node package brings Node 24)"
for f in proto/csi.proto proto/pluginregistration.proto; do
  [[ -f $root/$f ]] || die "$f is missing: run npm run proto"
done
for tool in apt-get dpkg-deb tar sha256sum npm; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done

mkdir -p "$cache/layers" "$cache/debs"
work=$(mktemp -d "$cache/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
# layer_sha LAYER: a cached layer's digest, remembered beside it (hashing 100 MB takes a second).
layer_sha() {
  [[ -f $1.sha256 ]] || sha "$1" >"$1.sha256"
  cat "$1.sha256"
}
keyof() { printf '%s\n' "recipe=$recipe" "$@" | sha256sum | cut -c1-16; }

# tar_layer DIR OUT: a reproducible layer of DIR's contents (sorted, owner root, mtime 0).
tar_layer() {
  tar --create --file "$2.tmp" --directory "$1" --sort=name --mtime=@0 --owner=0 --group=0 \
    --numeric-owner --format=gnu .
  mv "$2.tmp" "$2"
}

# The Debian packages at the versions apt would install into an empty system.
resolve_packages() {
  : >"$work/status"
  apt-get -s -o Dir::State::status="$work/status" -o Debug::NoLocking=1 install \
    --no-install-recommends "${packages[@]}" 2>/dev/null | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' | sort
}
pins=$(resolve_packages || true)
if [[ -z $pins ]]; then
  log "apt has no package lists; running apt-get update"
  apt-get update -qq >&2
  pins=$(resolve_packages)
fi
[[ -n $pins ]] || die "apt could not resolve ${packages[*]}"

base_layer="$cache/layers/debian-$(keyof $pins).tar"
if [[ ! -f $base_layer ]]; then
  log "assembling the Debian base from $(wc -w <<<"$pins") packages ..."
  fetch="$work/debs"
  mkdir -p "$fetch"
  need=()
  for p in $pins; do
    deb=$(printf '%s' "${p%%=*}_${p#*=}_" | sed 's/:/%3a/g')
    compgen -G "$cache/debs/${deb}*.deb" >/dev/null || need+=("$p")
  done
  if ((${#need[@]})); then
    # Root's cache is out of reach of apt's _apt sandbox user: download as the caller.
    (cd "$fetch" && timeout 600 apt-get download -q -o APT::Sandbox::User="$(id -un)" "${need[@]}" >&2)
    mv "$fetch"/*.deb "$cache/debs/"
  fi
  rootfs="$work/base"
  # bookworm's merged /usr: the top-level directories are links into /usr.
  mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64} "$rootfs"/{etc,tmp,root,proc,sys,dev,run,var/tmp,home}
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$rootfs/$d"; done
  for p in $pins; do
    deb=$(printf '%s' "${p%%=*}_${p#*=}_" | sed 's/:/%3a/g')
    files=("$cache/debs/${deb}"*.deb)
    dpkg-deb --fsys-tarfile "${files[0]}" | tar -x --keep-directory-symlink -C "$rootfs"
  done
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  chmod 0700 "$rootfs/root"
  # What maintainer scripts would have made: users, the CA bundle, mtab, an empty fstab.
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  : >"$rootfs/etc/fstab"
  ln -sf ../proc/self/mounts "$rootfs/etc/mtab"
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/home/nonroot"
  chown 65532:65532 "$rootfs/home/nonroot"
  find "$rootfs/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat \
    >"$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/usr/share/{doc,man,info,locale} "$rootfs"/var/cache/* "$rootfs"/var/lib/dpkg
  tar_layer "$rootfs" "$base_layer"
  rm -rf "$rootfs"
fi

node_sha=$(sha "$node_bin")
node_layer="$cache/layers/node-$(keyof "$node_sha").tar"
node_version=$("$node_bin" --version)
if [[ ! -f $node_layer ]]; then
  log "node $node_version layer ..."
  mkdir -p "$work/node/usr/local/bin"
  install -m 0755 "$node_bin" "$work/node/usr/local/bin/node"
  tar_layer "$work/node" "$node_layer"
fi

# Keyed by the dependencies and the lock, not the rest of package.json (scripts change often).
deps=$("$node_bin" -p 'const p = require(process.argv[1]); JSON.stringify([p.dependencies, p.overrides])' \
  "$root/package.json")
deps_layer="$cache/layers/node-modules-$(keyof "$deps" "$(sha "$root/package-lock.json")").tar"
if [[ ! -f $deps_layer ]]; then
  log "production node_modules (npm install --omit=dev) ..."
  mkdir -p "$work/deps/app"
  cp "$root/package.json" "$root/package-lock.json" "$work/deps/app/"
  # npm install, not npm ci, as in the Dockerfile (the lock pins Biome's platform packages).
  (cd "$work/deps/app" && PATH="$(dirname "$node_bin"):$PATH" timeout 900 npm install --omit=dev --ignore-scripts --no-audit --no-fund \
    --cache "$work/npm-cache" >&2)
  rm -f "$work/deps/app/package.json" "$work/deps/app/package-lock.json"
  tar_layer "$work/deps" "$deps_layer"
fi

# The app: what the Dockerfile copies, without what .dockerignore leaves out (tests, fakes).
app="$work/app"
mkdir -p "$app/app/proto" "$app/usr/local/bin"
excludes=()
while read -r pattern; do
  excludes+=(--exclude="${pattern#\*\*/}")
done < <(grep -E '^\*\*/' "$root/.dockerignore")
tar -C "$root" -c "${excludes[@]}" package.json cmd src crds | tar -x -C "$app/app"
cp "$root/proto/csi.proto" "$root/proto/pluginregistration.proto" "$app/app/proto/"
printf '#!/bin/sh\nexec node /app/cmd/nacre.ts "$@"\n' >"$app/usr/local/bin/nacre"
chmod -R u+rwX,go+rX,go-w "$app"
chmod 0755 "$app/usr/local/bin/nacre"
tar_layer "$app" "$work/app.tar"

layers=("$base_layer" "$node_layer" "$deps_layer" "$work/app.tar")
digests=()
for l in "${layers[@]}"; do digests+=("$(layer_sha "$l")"); done
out="$cache/nacre-$version-$(keyof "$name" "${digests[@]}").tar"
# What this run uses is fresh; what no run used for a day goes (other checkouts may share the cache).
touch "${layers[@]:0:3}"
[[ -f $out ]] && touch "$out"
find "$cache" -maxdepth 2 \( -name 'nacre-*.tar' -o -name '*.tar.sha256' -o -path '*/layers/*.tar' \) \
  -mmin +1440 -delete 2>/dev/null || true
if [[ -f $out ]]; then
  log "up to date: $out"
  printf '%s\n' "$out"
  exit 0
fi

log "writing $out ($name) ..."
oci="$work/oci"
mkdir -p "$oci/blobs/sha256"
layer_json=() diff_ids=() docker_layers=()
for i in "${!layers[@]}"; do
  d=${digests[$i]}
  ln "${layers[$i]}" "$oci/blobs/sha256/$d" 2>/dev/null || cp "${layers[$i]}" "$oci/blobs/sha256/$d"
  layer_json+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "${layers[$i]}")}")
  diff_ids+=("\"sha256:$d\"")
  docker_layers+=("\"blobs/sha256/$d\"")
done
join() {
  local IFS=,
  printf '%s' "$*"
}
blob() { # blob FILE: moves FILE into blobs/ under its digest; prints the digest.
  local d
  d=$(sha "$1")
  mv "$1" "$oci/blobs/sha256/$d"
  printf '%s' "$d"
}
cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"User":"65532:65532","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_VERSION=${node_version#v}"],"Entrypoint":["nacre"],"WorkingDir":"/app","Labels":{"org.opencontainers.image.title":"nacre","org.opencontainers.image.version":"$version"}},"rootfs":{"type":"layers","diff_ids":[$(join "${diff_ids[@]}")]}}
EOF
config_size=$(stat -c %s "$work/config.json")
config_digest=$(blob "$work/config.json")
cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[$(join "${layer_json[@]}")]}
EOF
manifest_size=$(stat -c %s "$work/manifest.json")
manifest_digest=$(blob "$work/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
cat >"$oci/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_digest","size":$manifest_size,"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"${name##*:}"}}]}
EOF
# Docker's archive index too, for tools that read only that.
cat >"$oci/manifest.json" <<EOF
[{"Config":"blobs/sha256/$config_digest","RepoTags":["$name"],"Layers":[$(join "${docker_layers[@]}")]}]
EOF
tar --create --file "$out.tmp" --directory "$oci" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  oci-layout index.json manifest.json blobs
mv "$out.tmp" "$out"
log "built $out"
printf '%s\n' "$out"
