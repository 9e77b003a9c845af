// The MDS's punch: cuts a file's OST objects to a size itself, for a truncate whose client never finished it.
import { FsError } from '../../lib/errors.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import { objectId, objectSize, readableCopies } from '../striping.ts';
import type { OssPool } from './ost-targets.ts';
import type { PunchObjects } from './size-settle.ts';

/**
 * Every readable copy of every stripe is cut to its share of `size` (a stale copy is rewritten
 * whole by its resync). Rejects when a copy cannot be reached: the punch stays pending.
 */
export function punchVia(mgs: MgsClient, fsname: string, pool: OssPool): PunchObjects {
  return async (ino, layout, size, signal) => {
    const targets = new Map((await mgs.getConfig(fsname, signal)).osts.map((t) => [t.index, t]));
    await Promise.all(
      layout.osts.flatMap((_, stripe) =>
        readableCopies(layout, stripe).map(async (ost) => {
          const t = targets.get(ost);
          if (!t) throw new FsError('ENODEV', `OST ${ost} is not in the file system's configuration`);
          const object = objectId(ino, stripe);
          await pool
            .get(t)
            .punch({ target: t.target, object, size: objectSize(layout, size, stripe) }, signal);
        }),
      ),
    );
  };
}
