// File layouts: validating striping policies and placing a new file's stripes (and replicas) on OSTs.
import { FsError } from '../../lib/errors.ts';
import type { Layout, LayoutPolicy } from '../types.ts';

/** An OST as the MDS sees it when placing stripes. */
export interface OstInfo {
  index: number;
  /** Target name, e.g. "fs1-OST0003". */
  target: string;
  /** The node the OST's server runs on (compared with the client's host for local-first placement). */
  host: string;
  /** The OSS process serving it; replicas go to a different one. */
  server: string;
  availBytes?: number;
}

export const STRIPE_UNIT = 64 * 1024;
export const MAX_STRIPE_SIZE = 4 * 1024 * 1024 * 1024;
export const MAX_STRIPE_COUNT = 2000;
export const DEFAULT_POLICY: LayoutPolicy = { stripeSize: 1024 * 1024, stripeCount: 1, stripeOffset: -1 };

/** OSTs with less than this share of the emptiest OST's free space are used only when needed. */
const FREE_SPACE_TIER = 0.8;

/** Throws EINVAL unless `p` is a usable policy. */
export function checkPolicy(p: LayoutPolicy): void {
  if (!Number.isSafeInteger(p.stripeSize) || p.stripeSize <= 0 || p.stripeSize % STRIPE_UNIT !== 0) {
    throw new FsError('EINVAL', `stripeSize must be a positive multiple of ${STRIPE_UNIT}`);
  }
  if (p.stripeSize > MAX_STRIPE_SIZE) throw new FsError('EINVAL', 'stripeSize is larger than 4 GiB');
  const c = p.stripeCount;
  if (!Number.isSafeInteger(c) || (c !== -1 && (c < 1 || c > MAX_STRIPE_COUNT))) {
    throw new FsError('EINVAL', `stripeCount must be -1 or 1..${MAX_STRIPE_COUNT}`);
  }
  if (!Number.isSafeInteger(p.stripeOffset) || p.stripeOffset < -1) {
    throw new FsError('EINVAL', 'stripeOffset must be -1 or an OST index');
  }
}

/** The OST objects a file's layout owns, as (OST index, object id) pairs. */
export function layoutObjects(ino: number, layout: Layout): { ost: number; object: string }[] {
  const out: { ost: number; object: string }[] = [];
  for (let i = 0; i < layout.osts.length; i++) {
    const object = `${ino}.${i}`;
    out.push({ ost: layout.osts[i]!, object });
    const mirror = layout.mirrors?.[i];
    if (mirror !== undefined) out.push({ ost: mirror, object });
  }
  return out;
}

/**
 * Places stripes. With stripeOffset -1 it goes round-robin over the OSTs, starting each file where
 * the previous one stopped, taking first the OSTs with at least 80% of the best free space, and,
 * with localFirst, first the OSTs on the creating client's host. With replicas 2 each stripe gets a
 * mirror on an OST of another server. ENOSPC when there are no OSTs (or no second server for
 * replicas); EINVAL for a stripeOffset naming no OST. The cursor lives in memory only.
 */
export class LayoutAllocator {
  readonly #replicas: number;
  #cursor = 0;

  constructor(replicas: number) {
    this.#replicas = replicas;
  }

  allocate(policy: LayoutPolicy, clientHost: string, osts: readonly OstInfo[]): Layout {
    const sorted = [...osts].sort((a, b) => a.index - b.index);
    const n = sorted.length;
    if (n === 0) throw new FsError('ENOSPC', 'the file system has no OSTs');
    const count = policy.stripeCount === -1 ? n : Math.min(policy.stripeCount, n);
    let chosen: OstInfo[];
    if (policy.stripeOffset >= 0) {
      const start = sorted.findIndex((o) => o.index === policy.stripeOffset);
      if (start < 0) throw new FsError('EINVAL', `no OST with index ${policy.stripeOffset}`);
      chosen = Array.from({ length: count }, (_, i) => sorted[(start + i) % n]!);
    } else {
      const rotated = rotate(sorted, this.#cursor % n);
      this.#cursor = (this.#cursor + count) % n;
      chosen = preferred(rotated, policy.localFirst === true ? clientHost : undefined).slice(0, count);
    }
    const layout: Layout = {
      stripeSize: policy.stripeSize,
      stripeCount: count,
      osts: chosen.map((o) => o.index),
    };
    if (this.#replicas > 1) layout.mirrors = this.#mirrors(chosen, sorted);
    return layout;
  }

  #mirrors(primaries: OstInfo[], sorted: OstInfo[]): number[] {
    const used = new Map<number, number>();
    for (const p of primaries) used.set(p.index, (used.get(p.index) ?? 0) + 1);
    const order = preferred(rotate(sorted, this.#cursor % sorted.length), undefined);
    return primaries.map((p) => {
      let best: OstInfo | undefined;
      for (const o of order) {
        if (o.server === p.server) continue;
        if (!best || (used.get(o.index) ?? 0) < (used.get(best.index) ?? 0)) best = o;
      }
      if (!best) throw new FsError('ENOSPC', 'no OST on a second server for the replica');
      used.set(best.index, (used.get(best.index) ?? 0) + 1);
      return best.index;
    });
  }
}

function rotate<T>(list: readonly T[], by: number): T[] {
  return [...list.slice(by), ...list.slice(0, by)];
}

/** Orders OSTs: local host first (if given), then well-filled before nearly full, keeping round-robin order within. */
function preferred(order: OstInfo[], localHost: string | undefined): OstInfo[] {
  const known = order.map((o) => o.availBytes).filter((a): a is number => a !== undefined);
  const best = known.length > 0 ? Math.max(...known) : 0;
  const roomy = (o: OstInfo) => o.availBytes === undefined || o.availBytes >= best * FREE_SPACE_TIER;
  const rank = (o: OstInfo) => (localHost !== undefined && o.host !== localHost ? 2 : 0) + (roomy(o) ? 0 : 1);
  const tight = (o: OstInfo) => (roomy(o) ? 0 : -(o.availBytes ?? 0));
  return order
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o) - rank(b.o) || tight(a.o) - tight(b.o) || a.i - b.i)
    .map((x) => x.o);
}
