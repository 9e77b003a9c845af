#!/usr/bin/env bash
# Builds the Go tools the integration tests run into a cache outside the work tree, keyed by version.
#
# Usage: build-tools.sh [--path] [TOOL...]
#   TOOL    kube-apiserver kube-controller-manager kubectl etcd csi-sanity csi-provisioner helm minio
#           csi-resizer csi-snapshotter snapshot-controller
#           kubelet kube-scheduler kube-proxy containerd containerd-shim-runc-v2 ctr pause coredns
#           (the kubelet nodes' tools)
#           (default: all of them; nodes.integration.test.ts, in npm test, needs the nodes' too)
#   --path  print the absolute path of each named tool's binary on stdout, one a line, after
#           building whatever is missing
#   e2e.test and agnhost (the Kubernetes e2e suite and the test program its pods run) are built
#   only when named.
#
# Binaries land in ${NACRE_TOOLS_DIR:-$HOME/.cache/nacre/tools}/<name>-<version>/<binary>; the
# versions come from the wrapper modules in go/ (one go.mod + go.sum each), so bumping a version
# there is the only change needed. A tool already in the cache is not rebuilt: a second run is a
# no-op. Progress goes to stderr. Env: NACRE_TOOLS_DIR, NACRE_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gomods="$here/go"
tools_dir=${NACRE_TOOLS_DIR:-$HOME/.cache/nacre/tools}
jobs=${NACRE_BUILD_JOBS:-2}
all_tools=(kube-apiserver kube-controller-manager kubectl etcd csi-sanity csi-provisioner helm minio
  csi-resizer csi-snapshotter snapshot-controller)
node_tools=(kubelet kube-scheduler kube-proxy containerd containerd-shim-runc-v2 ctr pause coredns)

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS='-mod=readonly -buildvcs=false'

log() { printf 'build-tools: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# modver WRAPPER MODULE: the version that go/WRAPPER/go.mod requires of MODULE.
modver() {
  local v
  v=$(awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v[0-9]/ { print $2; exit }' "$gomods/$1/go.mod")
  [[ -n $v ]] || die "go/$1/go.mod does not require $2"
  printf '%s' "$v"
}

# spec TOOL: sets wrapper, pkg, dir (cache folder name) and ldflags for TOOL.
spec() {
  local v
  case $1 in
  kube-apiserver | kube-controller-manager | kubectl | kubelet | kube-scheduler | kube-proxy)
    wrapper=k8s
    pkg=k8s.io/kubernetes/cmd/$1
    v=$(modver k8s k8s.io/kubernetes)
    dir=kubernetes-$v
    local minor=${v#v1.}
    minor=${minor%%.*}
    ldflags=''
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    ;;
  etcd)
    wrapper=k8s
    pkg=go.etcd.io/etcd/server/v3
    v=$(modver k8s "$pkg")
    dir=etcd-$v
    ldflags=''
    ;;
  containerd | containerd-shim-runc-v2 | ctr)
    wrapper=containerd
    pkg=github.com/containerd/containerd/v2/cmd/$1
    v=$(modver containerd github.com/containerd/containerd/v2)
    dir=containerd-$v
    ldflags="-X github.com/containerd/containerd/v2/version.Version=$v"
    ldflags+=" -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2"
    ;;
  coredns)
    # go/coredns/main.go picks the plugins: its hash is part of the cache folder's name.
    wrapper=coredns
    pkg=.
    v=$(modver coredns github.com/coredns/coredns)
    dir=coredns-$v-$(sha256sum <"$gomods/coredns/main.go" | cut -c1-8)
    ldflags="-X github.com/coredns/coredns/coremain.GitCommit=$v"
    ;;
  pause)
    # Our own program (go/pause/main.go): the content hash names its cache folder.
    wrapper=pause
    pkg=.
    v=$(cat "$gomods/pause/go.mod" "$gomods/pause/main.go" | sha256sum | cut -c1-12)
    dir=pause-$v
    ldflags=''
    ;;
  csi-sanity)
    wrapper=csi-sanity
    pkg=github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity
    v=$(modver csi-sanity github.com/kubernetes-csi/csi-test/v5)
    dir=csi-sanity-$v
    ldflags="-X main.VERSION=$v"
    ;;
  csi-provisioner)
    wrapper=provisioner
    pkg=github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner
    v=$(modver provisioner github.com/kubernetes-csi/external-provisioner/v6)
    dir=external-provisioner-$v
    ldflags="-X main.version=$v"
    ;;
  csi-resizer)
    wrapper=resizer
    pkg=github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer
    v=$(modver resizer github.com/kubernetes-csi/external-resizer/v2)
    dir=external-resizer-$v
    ldflags="-X main.version=$v"
    ;;
  csi-snapshotter | snapshot-controller)
    # The VolumeSnapshot CRDs go beside the binaries, into crd/ (see build).
    wrapper=snapshotter
    pkg=github.com/kubernetes-csi/external-snapshotter/v8/cmd/$1
    v=$(modver snapshotter github.com/kubernetes-csi/external-snapshotter/v8)
    dir=external-snapshotter-$v
    ldflags="-X main.version=$v"
    ;;
  helm)
    wrapper=helm
    pkg=helm.sh/helm/v3/cmd/helm
    v=$(modver helm helm.sh/helm/v3)
    dir=helm-$v
    ldflags="-X helm.sh/helm/v3/internal/version.version=$v -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    ;;
  e2e.test | agnhost)
    # The e2e suite's test binary (go test -c) and agnhost (its subPath specs run agnhost
    # mounttest), at the same Kubernetes version as the control plane.
    wrapper=e2e
    pkg=k8s.io/kubernetes/test/e2e
    [[ $1 == agnhost ]] && pkg=k8s.io/kubernetes/test/images/agnhost
    v=$(modver e2e k8s.io/kubernetes)
    dir=kubernetes-$v
    local minor=${v#v1.}
    minor=${minor%%.*}
    ldflags=''
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    ;;
  minio)
    wrapper=minio
    pkg=github.com/minio/minio
    v=$(modver minio "$pkg")
    dir=minio-$v
    # v0.0.0-20260212201848-7aac2a2c5b7c -> 2026-02-12T20:18:48Z, commit 7aac2a2c5b7c
    local ts=${v#v0.0.0-}
    ts=${ts%%-*}
    local when="${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}:${ts:10:2}:${ts:12:2}Z"
    ldflags="-X github.com/minio/minio/cmd.Version=$when -X github.com/minio/minio/cmd.ShortCommitID=${v##*-}"
    ldflags+=" -X github.com/minio/minio/cmd.CommitID=${v##*-} -X github.com/minio/minio/cmd.CopyrightYear=${ts:0:4}"
    ldflags+=" -X github.com/minio/minio/cmd.ReleaseTag=DEVELOPMENT.${when//:/-}"
    ;;
  *) die "unknown tool '$1' (known: ${all_tools[*]} ${node_tools[*]})" ;;
  esac
}

# build TOOL: builds TOOL into the cache unless it is there already.
build() {
  local wrapper pkg dir ldflags
  spec "$1"
  # A test binary is linked by go test -c, everything else by go build.
  local gocmd=(build)
  [[ $1 == e2e.test ]] && gocmd=(test -c)
  local dest="$tools_dir/$dir"
  [[ -x $dest/$1 ]] && return 0
  mkdir -p "$dest"
  local tmp="$dest/.$1.partial.$$"
  log "building $1 ($dir) from go/$wrapper ..."
  local start=$SECONDS
  if ! (cd "$gomods/$wrapper" && nice -n 10 go "${gocmd[@]}" -p "$jobs" \
    -ldflags "-s -w $ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "go build of $1 failed"
  fi
  mv -f "$tmp" "$dest/$1"
  if [[ $wrapper == snapshotter ]]; then
    # The snapshot.storage.k8s.io CRDs, from the snapshotter's client module at the same version.
    local client
    client=$(cd "$gomods/$wrapper" && go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@${dir#external-snapshotter-}" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$dest/crd"
    install -m 0644 "$client"/config/crd/snapshot.storage.k8s.io_*.yaml "$dest/crd/"
  fi
  log "built $1 in $((SECONDS - start))s -> $dest/$1"
}

print_paths=false
tools=()
for arg in "$@"; do
  case $arg in
  --path) print_paths=true ;;
  -h | --help)
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 0
    ;;
  -*) die "unknown option $arg" ;;
  *) tools+=("$arg") ;;
  esac
done
((${#tools[@]})) || tools=("${all_tools[@]}" "${node_tools[@]}")

missing=()
for t in "${tools[@]}"; do
  spec "$t"
  [[ -x $tools_dir/$dir/$t ]] || missing+=("$t")
done

if ((${#missing[@]})); then
  command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed to build ${missing[*]})"
  mkdir -p "$tools_dir"
  # One builder at a time: other runs wait here, then find their tools built.
  exec {lock}>"$tools_dir/.build.lock"
  if ! flock -n "$lock"; then
    log "another build-tools.sh is building; waiting for it ..."
    flock "$lock"
  fi
  for t in "${missing[@]}"; do build "$t"; done
  exec {lock}>&-
fi

if $print_paths; then
  for t in "${tools[@]}"; do
    spec "$t"
    printf '%s\n' "$tools_dir/$dir/$t"
  done
fi
