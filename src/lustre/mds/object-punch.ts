// The MDS's punch: cuts a file's OST objects to a size itself, for a truncate whose client never finished it.
import { FsError } from '../../lib/errors.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import { objectId, objectSize, readableCopies } from '../striping.ts';
import { copyDown } from './copy-down.ts';
import type { OssPool } from './ost-targets.ts';
import type { PunchObjects } from './size-settle.ts';

/**
 * Every readable copy of every stripe is cut to its share of `size` (a stale copy is rewritten
 * whole by its resync). A mirrored copy that is down (unreachable, or its target missing on a live
 * server) is returned for the caller to record stale, so its resync rewrites it from the cut copy;
 * a stripe with no copy cut rejects: the punch stays pending.
 */
export function punchVia(mgs: MgsClient, fsname: string, pool: OssPool): PunchObjects {
  return async (ino, layout, size, signal) => {
    const targets = new Map((await mgs.getConfig(fsname, signal)).osts.map((t) => [t.index, t]));
    const stripes = await Promise.all(
      layout.osts.map(async (_, stripe) => {
        const object = objectId(ino, stripe);
        const copies = readableCopies(layout, stripe);
        const results = await Promise.allSettled(
          copies.map(async (ost) => {
            const t = targets.get(ost);
            if (!t) throw new FsError('ENODEV', `OST ${ost} is not in the file system's configuration`);
            await pool
              .get(t)
              .punch({ target: t.target, object, size: objectSize(layout, size, stripe) }, signal);
          }),
        );
        const failed = results.flatMap((r, i) =>
          r.status === 'rejected' ? [{ ost: copies[i]!, err: r.reason }] : [],
        );
        const hard = failed.find((f) => !copyDown(f.err));
        if (hard) throw hard.err;
        if (failed.length === copies.length && failed.length > 0) throw failed[0]!.err;
        return failed.map((f) => ({ stripe, ost: f.ost }));
      }),
    );
    return { down: stripes.flat() };
  };
}
