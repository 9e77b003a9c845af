// Where new targets go: the MDT on the least loaded MDS, OSTs round-robin over OSS servers with room.
import { FsError, NacreError } from '../../lib/errors.ts';
import type { ServerInfo, TargetConfig } from '../protocol/mgs-messages.ts';

export function ostName(fsname: string, index: number): string {
  return `${fsname}-OST${index.toString(16).padStart(4, '0')}`;
}

export function mdtName(fsname: string): string {
  return `${fsname}-MDT0000`;
}

/** A target's entry in a file-system config, served by `server`. */
export function targetConfig(
  target: string,
  index: number,
  server: ServerInfo,
  capacityBytes: number,
): TargetConfig {
  const t: TargetConfig = {
    target,
    index,
    server: server.name,
    address: server.address,
    host: server.host,
    capacityBytes,
  };
  if (server.localAddress) t.localAddress = server.localAddress;
  return t;
}

/**
 * `servers` with their hosts taken in turn (each host's servers in the given order), so a
 * round-robin over the result visits every node before a node's second server.
 */
export function interleaveHosts(servers: readonly ServerInfo[]): ServerInfo[] {
  const byHost = new Map<string, ServerInfo[]>();
  for (const s of servers) byHost.set(s.host, [...(byHost.get(s.host) ?? []), s]);
  const groups = [...byHost.values()];
  const out: ServerInfo[] = [];
  for (let i = 0; out.length < servers.length; i++) for (const g of groups) if (g[i]) out.push(g[i]!);
  return out;
}

/**
 * Picks a server for each of `count` OSTs of `capacityBytes`: round-robin over `servers` (nodes
 * in turn, see interleaveHosts) starting after `after` (the server of the file system's last OST),
 * skipping those whose remaining capacity is too small, so consecutive OSTs land on different
 * nodes, or at least servers, whenever two have room. Capacity given to earlier OSTs of the same
 * call counts. ENOSPC if some OST fits nowhere.
 */
export function placeOsts(
  given: readonly ServerInfo[],
  count: number,
  capacityBytes: number,
  after?: string,
): ServerInfo[] {
  const servers = interleaveHosts(given);
  if (servers.length === 0)
    throw new NacreError('InsufficientServers', 'no OSS server is registered and alive');
  const remaining = servers.map((s) => s.capacityBytes);
  let cursor = after === undefined ? 0 : servers.findIndex((s) => s.name === after) + 1;
  const out: ServerInfo[] = [];
  for (let i = 0; i < count; i++) {
    let picked = -1;
    for (let j = 0; j < servers.length && picked < 0; j++) {
      const k = (cursor + j) % servers.length;
      if (remaining[k]! >= capacityBytes) picked = k;
    }
    if (picked < 0) {
      throw new FsError(
        'ENOSPC',
        `no OSS server has ${capacityBytes} bytes left for OST ${i + 1} of ${count} (largest: ${Math.max(...remaining)})`,
      );
    }
    remaining[picked]! -= capacityBytes;
    out.push(servers[picked]!);
    cursor = (picked + 1) % servers.length;
  }
  return out;
}

/** The MDS serving the fewest MDTs (by name on ties). */
export function pickMds(servers: readonly ServerInfo[], mdtCount: (name: string) => number): ServerInfo {
  const sorted = [...servers].sort(
    (a, b) => mdtCount(a.name) - mdtCount(b.name) || a.name.localeCompare(b.name),
  );
  const mds = sorted[0];
  if (!mds) throw new NacreError('InsufficientServers', 'no MDS server is registered and alive');
  return mds;
}
