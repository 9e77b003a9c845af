// The MDS's glimpse: a file's size from its OST objects, asked of the OSS servers the MGS names.
import { FsError } from '../../lib/errors.ts';
import type { Glimpse } from '../mds/evict-glimpse.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import { glimpseLayout, objectId } from '../striping.ts';
import type { OssPool } from './ost-targets.ts';

/**
 * The largest object end over the stripes of `layout`, each stripe from its first copy that
 * answers (stale copies skipped). EIO when a stripe has no copy that answers.
 */
export function glimpseVia(mgs: MgsClient, fsname: string, pool: OssPool): Glimpse {
  return async (ino, layout, signal) => {
    const targets = new Map((await mgs.getConfig(fsname, signal)).osts.map((t) => [t.index, t]));
    return glimpseLayout(layout, {
      sizeOf: async (ost, stripe) => {
        const t = targets.get(ost);
        if (!t) throw new FsError('ENODEV', `OST ${ost} is not in the file system's configuration`);
        const attr = await pool.get(t).getattr({ target: t.target, object: objectId(ino, stripe) }, signal);
        return attr?.size ?? 0;
      },
      passOver: () => {},
      noCopy: (stripe, last) =>
        new FsError('EIO', `no copy of object ${objectId(ino, stripe)} answered`, { cause: last }),
    });
  };
}
