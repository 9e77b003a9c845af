// The MDS's side of a snapshot barrier on the OSTs: every OST of the file system frozen, activated or dropped through its OSS.
import { FsError } from '../../lib/errors.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import type { OssPool } from './ost-targets.ts';
import type { OstSnapshotOps } from './snapshots.ts';

/**
 * Each step goes to every OST in the MGS's configuration at once. A freeze or activation that an
 * OST does not answer fails the snapshot (EIO naming the OST): a point-in-time copy needs them all.
 */
export function ostSnapshotsVia(mgs: MgsClient, fsname: string, pool: OssPool): OstSnapshotOps {
  const each = async (
    signal: AbortSignal,
    what: string,
    call: (c: ReturnType<OssPool['get']>, target: string) => Promise<unknown>,
  ) => {
    const osts = (await mgs.getConfig(fsname, signal)).osts;
    const results = await Promise.allSettled(osts.map((t) => call(pool.get(t), t.target)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      const why = (results[failed] as PromiseRejectedResult).reason;
      throw new FsError('EIO', `${what} on ${osts[failed]!.target} failed: ${String(why)}`, { cause: why });
    }
  };
  return {
    freeze: (id, leaseMs, signal) =>
      each(signal, 'snapshot barrier', (c, target) => c.snapshotFreeze({ target, id, leaseMs }, signal)),
    activate: (id, signal) =>
      each(signal, 'snapshot', (c, target) => c.snapshotActivate({ target, id }, signal)),
    drop: (id, signal) =>
      each(signal, 'dropping a snapshot', (c, target) => c.snapshotDrop({ target, id }, signal)),
  };
}
