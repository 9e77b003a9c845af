// Binds the changelog RPCs to an MDT, and records the changes of the namespace RPCs (called inside their transactions).
import { FsError } from '../../lib/errors.ts';
import { int, str } from '../protocol/args.ts';
import type { ChangelogMethods } from '../protocol/changelog-messages.ts';
import type { SetAttrChanges } from '../types.ts';
import {
  type ChangeSubject,
  type ChangeType,
  changelogActive,
  clearChanges,
  deregisterUser,
  lastChange,
  nextChange,
  readChanges,
  recordChange,
  recordClose,
  recordOnInode,
  registerUser,
} from './changelog.ts';
import type { Attached, Impl } from './handler-types.ts';
import { coordinatorOf } from './hsm-coordinator.ts';
import { cred } from './mds-args.ts';
import { isRoot } from './perm.ts';

const user = (a: Parameters<Impl<'changelogRead'>>[0]) => str(a, 'user', 128);

export const changelogImpls: { [M in keyof ChangelogMethods]: Impl<M> } = {
  changelogRegister: (a, c) => {
    if (!isRoot(cred(a))) throw new FsError('EPERM', 'only root registers changelog users');
    const u = user(a);
    return c.mdt.mutate(c, undefined, undefined, () => registerUser(c.mdt.store.db, u));
  },
  changelogDeregister: (a, c) => {
    if (!isRoot(cred(a))) throw new FsError('EPERM', 'only root deregisters changelog users');
    const u = user(a);
    return c.mdt.mutate(c, undefined, undefined, () => {
      deregisterUser(c.mdt.store.db, u);
      return null;
    });
  },
  changelogRead: (a, c) => {
    const [u, limit] = [user(a), Math.min(int(a, 'limit', { min: 1 }), 10_000)];
    return c.mdt.read(() => readChanges(c.mdt.store.db, u, limit));
  },
  changelogWait: async (a, c, signal) => {
    const [after, waitMs] = [int(a, 'after', { min: -1 }), Math.min(int(a, 'waitMs', { min: 0 }), 25_000)];
    const db = c.mdt.store.db;
    // (A caller gone or a server stopping ends the wait too.)
    const deadline = AbortSignal.any([AbortSignal.timeout(waitMs), signal]);
    for (;;) {
      // Listening before looking, so a change between the two is not missed.
      const changed = nextChange(db, deadline);
      await c.mdt.commit.settled();
      const last = lastChange(db);
      if (last !== after || deadline.aborted) return last;
      if (!(await changed)) return lastChange(db);
    }
  },
  changelogClear: (a, c) => {
    const [u, upTo] = [user(a), int(a, 'upTo', { min: 0 })];
    return c.mdt.mutate(c, undefined, undefined, () => {
      clearChanges(c.mdt.store.db, u, upTo);
      return null;
    });
  },
};

/** Inside a namespace change's transaction: records it for the changelog's users. */
export function changed(c: Attached, type: ChangeType, subject: ChangeSubject): void {
  recordChange(c.mdt.store.db, type, subject, coordinatorOf(c.mdt).isAgent(c.client));
}

/** Inside a release's transaction: a handle open for writing closed (CLOSE). */
export function closed(c: Attached, handle: number): void {
  const h = c.mdt.store.getHandle(handle);
  if (h && (h.flags & 0o3) !== 0) recordClose(c.mdt.store.db, h.ino, coordinatorOf(c.mdt).isAgent(c.client));
}

/** Inside a setattr's transaction: SATTR when it set something an export carries (not atime alone). */
export function attrsSet(c: Attached, ino: number, ch: SetAttrChanges): void {
  // (A writer's set-ID kill rides on its CLOSE.)
  if ((ch.mode ?? ch.uid ?? ch.gid ?? ch.mtimeMs ?? ch.size) !== undefined)
    recordOnInode(c.mdt.store.db, 'SATTR', ino, coordinatorOf(c.mdt).isAgent(c.client));
}

/**
 * Inside a namespace change's transaction: runs `fn` and records the change of the entry `name` in
 * `parent` (the inode there before a removal, after anything else). `old`: a rename's old entry.
 */
export function recording<T>(
  c: Attached,
  type: ChangeType,
  parent: number,
  name: string,
  fn: () => T,
  old?: { oldParent: number; oldName: string },
): T {
  if (!changelogActive(c.mdt.store.db)) return fn();
  const removal = type === 'UNLNK' || type === 'RMDIR';
  const before = removal ? c.mdt.store.lookup(parent, name)?.ino : undefined;
  const r = fn();
  const ino = removal ? before : c.mdt.store.lookup(parent, name)?.ino;
  if (ino !== undefined) changed(c, type, { ino, parent, name, ...old });
  return r;
}
