// The MDS's project-quota RPCs (lfs project, setquota, quota, and write grants), bound like the other MdsMethods.
import { type Args, bool, int } from '../protocol/args.ts';
import type { QuotaGrant } from '../types.ts';
import type { Attached, Impl } from './handler-types.ts';
import { cred, ino, intIn } from './mds-args.ts';
import { PROJID_MAX } from './projects.ts';

/** For open and create replies: `{ grant }` when no block limit applies to the file, so its writer need not ask. */
export function openGrant(c: Attached, ino: number): { grant?: QuotaGrant } {
  const g = c.mdt.ns.projects.unlimited(ino);
  return g ? { grant: g } : {};
}

const nil = (_done: unknown): null => null;
const projectId = (a: Args) => intIn(a, 'projectId', 0, PROJID_MAX);

export const quotaImpls: {
  getProject: Impl<'getProject'>;
  setProject: Impl<'setProject'>;
  setQuota: Impl<'setQuota'>;
  getQuota: Impl<'getQuota'>;
  quotaGrant: Impl<'quotaGrant'>;
} = {
  getProject: (a, c) => {
    const i = ino(a);
    return c.mdt.read(() => {
      const p = c.mdt.ns.projects.project(i);
      return { projectId: p.projid, inherit: p.inherit };
    });
  },
  setProject: (a, c) => {
    const [who, i, id, inherit] = [cred(a), ino(a), projectId(a), bool(a, 'inherit')];
    return c.mdt.mutate(c, int(a, 'xid'), who, (op) => {
      c.mdt.ns.projects.setProject(op.cred, i, id, inherit);
      op.fx.inode(i, true);
      return null;
    });
  },
  setQuota: (a, c) => {
    const limits = {
      blockHardLimitBytes: int(a, 'blockHardLimitBytes'),
      inodeHardLimit: int(a, 'inodeHardLimit'),
    };
    const id = projectId(a);
    return c.mdt.mutate(c, int(a, 'xid'), undefined, () => nil(c.mdt.ns.projects.setQuota(id, limits)));
  },
  getQuota: (a, c) => {
    const id = projectId(a);
    return c.mdt.read(() => c.mdt.ns.projects.quota(id));
  },
  quotaGrant: (a, c) => {
    const [i, end] = [ino(a), int(a, 'end')];
    return c.mdt.mutate(c, undefined, undefined, () => c.mdt.ns.projects.grant(c.client, i, end));
  },
};
