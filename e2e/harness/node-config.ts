// The files a kubelet node runs from: containerd's config, the kubelet's KubeletConfiguration, the CNI network; every path under the node's dir.
import { join } from 'node:path';
import type { NodeAddressing } from './node-network.ts';

/**
 * Where one node keeps everything: below `dir` on the host; `root` is the node's own file system
 * as its processes see it: the same path on every node (so one DaemonSet fits all), bound in each
 * node's mount namespace to `<dir>/root`.
 */
export interface NodePaths {
  dir: string;
  /** `<dir>/root` on the host. */
  rootSource: string;
  /** The common path the node's processes see `rootSource` at. */
  root: string;
  /** The node's persistent mount namespace (a bind of nsfs). */
  mountNamespace: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  containerdConfig: string;
  cniConfDir: string;
  cniDataDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  podLogs: string;
}

/**
 * The kubelet's root dir as its node sees it: the usual path (the e2e suite looks there), bound in
 * each node's mount namespace to `<dir>/root/kubelet`; the host's own directory stays empty.
 */
export const KUBELET_DIR = '/var/lib/kubelet';

export function nodePaths(dir: string, root: string, mountNamespace: string): NodePaths {
  return {
    dir,
    rootSource: join(dir, 'root'),
    root,
    mountNamespace,
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd.sock'),
    containerdConfig: join(dir, 'containerd.toml'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniDataDir: join(dir, 'cni', 'ipam'),
    kubeletRoot: KUBELET_DIR,
    kubeletConfig: join(dir, 'kubelet.yaml'),
    podLogs: join(root, 'pod-logs'),
  };
}

/** The CNI network's name: per node, so the results libcni caches under /var/lib/cni can be told apart. */
export function cniNetworkName(addr: NodeAddressing, slot: number): string {
  return `nacre-s${slot}-n${addr.ordinal}`;
}

const toml = (s: string) => JSON.stringify(s);

/** containerd 2.x (config version 3): own root, state, sockets and CNI dirs; runc with cgroupfs; NRI off. */
export function containerdConfig(
  p: NodePaths,
  opts: { pauseImage: string; runc: string; cniBinDir: string },
): string {
  const cri = `plugins.'io.containerd.cri.v1.runtime'`;
  return `version = 3
root = ${toml(p.containerdRoot)}
state = ${toml(p.containerdState)}
temp = ${toml(join(p.dir, 'containerd', 'tmp'))}

[grpc]
  address = ${toml(p.containerdSocket)}

[ttrpc]
  address = ${toml(`${p.containerdSocket}.ttrpc`)}

[debug]
  level = "info"

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${toml(join(p.dir, 'containerd', 'opt'))}
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${toml(opts.pauseImage)}
  [${cri}]
    netns_mounts_under_state_dir = true
    enable_selinux = false
    # No CAP_SYS_RESOURCE here: runc cannot lower a container's oom_score_adj below containerd's own.
    restrict_oom_score_adj = true
    [${cri}.containerd]
      default_runtime_name = "runc"
      [${cri}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [${cri}.containerd.runtimes.runc.options]
          BinaryName = ${toml(opts.runc)}
          Root = ${toml(join(p.containerdState, 'runc'))}
          SystemdCgroup = false
    [${cri}.cni]
      bin_dirs = [${toml(opts.cniBinDir)}]
      conf_dir = ${toml(p.cniConfDir)}
      max_conf_num = 1
`;
}

/** A bridge (cni0 in the node's namespace, gateway .1 of its pod range) with host-local addresses, and portmap. */
export function cniConfig(p: NodePaths, addr: NodeAddressing, slot: number): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: cniNetworkName(addr, slot),
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: p.cniDataDir,
            ranges: [[{ subnet: addr.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * KubeletConfiguration for a cgroup v1 (hybrid) host: the cgroupfs driver under the node's own
 * cgroupRoot, no swap check, no kernel-default protection, eviction thresholds low enough that a
 * busy shared disk does not evict test pods, and every directory under the node's dir.
 */
export function kubeletConfig(
  p: NodePaths,
  addr: NodeAddressing,
  opts: { cgroupRoot: string; caFile: string; clusterDns: string },
): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${addr.ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: ${toml(opts.caFile)}
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
cgroupRoot: ${toml(opts.cgroupRoot)}
cgroupsPerQOS: true
enforceNodeAllocatable: []
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: false
podLogsDir: ${toml(p.podLogs)}
podCIDR: ${addr.podCidr}
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
clusterDNS: [${opts.clusterDns}]
maxPods: 40
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageMinimumGCAge: 8760h
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
evictionPressureTransitionPeriod: 10s
nodeStatusReportFrequency: 10s
syncFrequency: 10s
fileCheckFrequency: 10s
volumeStatsAggPeriod: 1m
containerRuntimeEndpoint: ${toml(`unix://${p.containerdSocket}`)}
imageServiceEndpoint: ${toml(`unix://${p.containerdSocket}`)}
`;
}
