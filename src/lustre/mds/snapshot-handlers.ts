// The MDS methods of point-in-time snapshots: create, list, drop (mds/snapshots.ts).
import { int, str } from '../protocol/args.ts';
import type { MdsMethod } from '../protocol/mds-messages.ts';
import type { Impl } from './handler-types.ts';

type SnapshotMethod = Extract<MdsMethod, 'snapshotCreate' | 'snapshotList' | 'snapshotDrop'>;

export const snapshotImpls: { [M in SnapshotMethod]: Impl<M> } = {
  snapshotCreate: (a, c, signal) => c.mdt.snapshots.create(str(a, 'id', 128), signal),
  snapshotList: async (a, c) =>
    c.mdt.snapshots.list(str(a, 'id', 128), int(a, 'cursor'), Math.min(int(a, 'limit', { min: 1 }), 4096)),
  snapshotDrop: async (a, c, signal) => {
    await c.mdt.snapshots.drop(str(a, 'id', 128), signal);
    return null;
  },
};
