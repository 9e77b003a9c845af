// The kubelet nodes' network: a host bridge, one network namespace per node on a veth pair, routes to each node's pod range.
import { readdir } from 'node:fs/promises';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';

/** Where one node lives on the network. */
export interface NodeAddressing {
  /** 1-based. */
  ordinal: number;
  /** Named network namespace (/run/netns/<netns>). */
  netns: string;
  /** The veth end left on the host bridge (the node's end is eth0 in its namespace). */
  hostVeth: string;
  /** The node's address on the bridge: its InternalIP. */
  ip: string;
  /** The node's pod range, e.g. 10.214.1.0/24; the CNI bridge takes its .1. */
  podCidr: string;
}

/** A cluster's network: bridge `bridge` with `hostIp` on 10.213.<slot>.0/24, one NodeAddressing a node. */
export interface NodeNetwork {
  /** 0–31: picks the bridge, the subnets and the names, so that clusters side by side do not clash. */
  slot: number;
  bridge: string;
  hostIp: string;
  /** Every pod range of the slot: 10.214.<slot*8>.0/21. */
  clusterCidr: string;
  nodes: NodeAddressing[];
}

const MAX_NODES = 7;
const MAX_SLOTS = 32;
const IP_DEADLINE_MS = 15_000;
const runner = new ExecRunner();

/** The names and addresses of `count` nodes in `slot`; creates nothing. */
export function planNetwork(slot: number, count: number): NodeNetwork {
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES)
    throw new NacreError('InvalidArgument', `--nodes must be 1–${MAX_NODES}, not ${count}`);
  const nodes: NodeAddressing[] = [];
  for (let n = 1; n <= count; n++) {
    nodes.push({
      ordinal: n,
      netns: `nacre-s${slot}-n${n}`,
      hostVeth: `nacre-s${slot}n${n}`,
      ip: `10.213.${slot}.${10 + n}`,
      podCidr: `10.214.${slot * 8 + n}.0/24`,
    });
  }
  return {
    slot,
    bridge: `nacre-br${slot}`,
    hostIp: `10.213.${slot}.1`,
    clusterCidr: `10.214.${slot * 8}.0/21`,
    nodes,
  };
}

/** The lowest slot whose bridge does not exist yet. */
export async function freeSlot(): Promise<number> {
  const links = new Set(await readdir('/sys/class/net'));
  for (let slot = 0; slot < MAX_SLOTS; slot++) if (!links.has(`nacre-br${slot}`)) return slot;
  throw new NacreError('NoSlot', `all ${MAX_SLOTS} node-network slots are in use (ip link show type bridge)`);
}

async function ip(args: string[], signal?: AbortSignal): Promise<string> {
  const r = await runner.run('ip', args, { timeoutMs: IP_DEADLINE_MS, ...(signal ? { signal } : {}) });
  if (r.code !== 0) throw new NacreError('NetworkSetupFailed', `ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `ip` inside a node's namespace. */
function nsIp(netns: string, args: string[], signal?: AbortSignal): Promise<string> {
  return ip(['-n', netns, ...args], signal);
}

/**
 * Creates the bridge, and for each node its namespace, veth pair, addresses and routes (another
 * node's pod range via that node). Forwarding is turned on inside the node namespaces only.
 */
export async function createNetwork(net: NodeNetwork, signal?: AbortSignal): Promise<void> {
  await ip(['link', 'add', net.bridge, 'type', 'bridge'], signal);
  await ip(['addr', 'add', `${net.hostIp}/24`, 'dev', net.bridge], signal);
  await ip(['link', 'set', net.bridge, 'up'], signal);
  for (const node of net.nodes) {
    await ip(['netns', 'add', node.netns], signal);
    await ip(
      ['link', 'add', node.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns],
      signal,
    );
    await ip(['link', 'set', node.hostVeth, 'master', net.bridge, 'up'], signal);
    await nsIp(node.netns, ['link', 'set', 'lo', 'up'], signal);
    await nsIp(node.netns, ['addr', 'add', `${node.ip}/24`, 'dev', 'eth0'], signal);
    await nsIp(node.netns, ['link', 'set', 'eth0', 'up'], signal);
    await nsIp(node.netns, ['route', 'add', 'default', 'via', net.hostIp], signal);
    await sysctlIn(node.netns, 'net.ipv4.ip_forward', '1', signal);
    // The host answers pods (the API server) through the node that holds them.
    await ip(['route', 'add', node.podCidr, 'via', node.ip, 'dev', net.bridge], signal);
  }
  for (const node of net.nodes) {
    for (const other of net.nodes) {
      if (other !== node) await nsIp(node.netns, ['route', 'add', other.podCidr, 'via', other.ip], signal);
    }
  }
}

async function sysctlIn(netns: string, key: string, value: string, signal?: AbortSignal): Promise<void> {
  const r = await runner.run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `${key}=${value}`], {
    timeoutMs: IP_DEADLINE_MS,
    ...(signal ? { signal } : {}),
  });
  if (r.code !== 0)
    throw new NacreError('NetworkSetupFailed', `sysctl ${key} in ${netns}: ${r.stderr.trim()}`);
}

/**
 * Removes the namespaces (their veths go with them) and the bridge (its routes go with it).
 * Whatever is already gone is not an error, so a half-made network can be removed too.
 */
export async function removeNetwork(net: NodeNetwork): Promise<void> {
  const existing = new Set(await readdir('/run/netns').catch(() => [] as string[]));
  const gone = (err: unknown) =>
    err instanceof NacreError && /Cannot find device|No such device|No such file/.test(err.message);
  const remove = (args: string[]) =>
    ip(args).catch((err: unknown) => {
      if (!gone(err)) throw err;
      return '';
    });
  for (const node of net.nodes) {
    if (existing.has(node.netns)) await remove(['netns', 'delete', node.netns]);
    // Deleting the namespace deletes the pair; a veth whose namespace never came is removed here.
    const links = new Set(await readdir('/sys/class/net'));
    if (links.has(node.hostVeth)) await remove(['link', 'delete', node.hostVeth]);
  }
  const links = new Set(await readdir('/sys/class/net'));
  if (links.has(net.bridge)) await remove(['link', 'delete', net.bridge]);
}

/** What is left of `net` on this machine: namespaces and links by name (empty when all is gone). */
export async function networkLeftovers(net: NodeNetwork): Promise<string[]> {
  const netns = new Set(await readdir('/run/netns').catch(() => [] as string[]));
  const links = new Set(await readdir('/sys/class/net'));
  return [
    ...net.nodes.filter((n) => netns.has(n.netns)).map((n) => `netns ${n.netns}`),
    ...net.nodes.filter((n) => links.has(n.hostVeth)).map((n) => `link ${n.hostVeth}`),
    ...(links.has(net.bridge) ? [`link ${net.bridge}`] : []),
  ];
}
