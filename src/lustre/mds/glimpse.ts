// The MDS's glimpse: a file's size from its OST objects, asked of the OSS servers the MGS names.
import { FsError } from '../../lib/errors.ts';
import type { Glimpse } from '../mds/evict-glimpse.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import { fileOffset } from '../striping.ts';
import type { OssPool } from './ost-targets.ts';

/**
 * The largest object end over the stripes of `layout`, each stripe from its first copy that
 * answers (stale copies skipped). EIO when a stripe has no copy that answers.
 */
export function glimpseVia(mgs: MgsClient, fsname: string, pool: OssPool): Glimpse {
  return async (ino, layout, signal) => {
    const targets = new Map((await mgs.getConfig(fsname, signal)).osts.map((t) => [t.index, t]));
    const ends = await Promise.all(
      layout.osts.map(async (primary, stripe) => {
        const stale = layout.stale?.find((s) => s.stripe === stripe)?.ost;
        const mirror = layout.mirrors?.[stripe];
        const copies = (mirror === undefined ? [primary] : [primary, mirror]).filter((o) => o !== stale);
        let last: unknown;
        for (const ost of copies) {
          const t = targets.get(ost);
          if (!t) continue;
          try {
            const attr = await pool.get(t).getattr({ target: t.target, object: `${ino}.${stripe}` }, signal);
            const size = attr?.size ?? 0;
            return size === 0 ? 0 : fileOffset(layout, stripe, size - 1) + 1;
          } catch (err) {
            last = err;
          }
        }
        throw new FsError('EIO', `no copy of object ${ino}.${stripe} answered`, { cause: last });
      }),
    );
    return Math.max(0, ...ends);
  };
}
