// Binds the HSM RPCs to an MDT, and the HSM side of open: wait for a restore of a released file, mark an archived file dirty when opened for writing.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, int, num, optStr, str } from '../protocol/args.ts';
import type { HsmMethods } from '../protocol/hsm-messages.ts';
import {
  HS_RELEASED,
  type HsmReplacement,
  hsmGet,
  hsmMarkDirty,
  hsmRelease,
  hsmReplace,
  hsmRestored,
  hsmSet,
} from './hsm.ts';
import { coordinatorOf } from './hsm-coordinator.ts';
import { blocksFor } from './inodes.ts';
import { cred, ino, intIn } from './mds-args.ts';
import type { Caller, Mdt } from './mdt.ts';

interface Attached extends Caller {
  mdt: Mdt;
}

type HsmImpl<M extends keyof HsmMethods> = (a: Args, c: Attached) => Promise<HsmMethods[M]['result']>;

/** How long an open waits for a restore before the client's attempt deadline would end it. */
const OPEN_RESTORE_WAIT_MS = 25_000;
const O_ACCMODE = 0o3;
const O_TRUNC = 0o1000;

function optInt(a: Args, key: string): number | undefined {
  return a[key] === undefined || a[key] === null ? undefined : int(a, key, { min: 0 });
}

export const hsmImpls: { [M in keyof HsmMethods]: HsmImpl<M> } = {
  hsmState: (a, c) => {
    const i = ino(a);
    return c.mdt.read(() => {
      c.mdt.ns.inode(i);
      return { ...hsmGet(c.mdt.store.db, i), open: c.mdt.store.openCount(i) > 0 };
    });
  },
  hsmSet: (a, c) => {
    const [i, set, clear] = [ino(a), int(a, 'set', { min: 0 }), int(a, 'clear', { min: 0 })];
    const archiveId = optInt(a, 'archiveId');
    const location = a['location'] === null ? null : optStr(a, 'location', 4096);
    const change = {
      set,
      clear,
      ...(archiveId !== undefined && { archiveId }),
      ...(location !== undefined && { location }),
    };
    return c.mdt.mutate(c, int(a, 'xid'), cred(a), (op) => hsmSet(c.mdt.ns, op, i, change));
  },
  hsmRelease: (a, c) => {
    const i = ino(a);
    return c.mdt.mutate(c, int(a, 'xid'), cred(a), (op) => hsmRelease(c.mdt.ns, op, i));
  },
  hsmReplace: (a, c) => {
    const i = ino(a);
    const r = asArgs(a['replacement']);
    const id = (k: string) => (r[k] === undefined ? undefined : intIn(r, k, 0, 0xffffffff));
    const replacement: HsmReplacement = {
      size: int(r, 'size', { min: 0 }),
      atimeMs: num(r, 'atimeMs'),
      mtimeMs: num(r, 'mtimeMs'),
      location: str(r, 'location', 4096),
      archiveId: int(r, 'archiveId', { min: 0 }),
    };
    const [mode, uid, gid] = [id('mode'), id('uid'), id('gid')];
    if (mode !== undefined) replacement.mode = mode;
    if (uid !== undefined) replacement.uid = uid;
    if (gid !== undefined) replacement.gid = gid;
    return c.mdt.mutate(c, int(a, 'xid'), cred(a), (op) => hsmReplace(c.mdt.ns, op, i, replacement));
  },
  hsmRestore: async (a, c) => {
    const i = ino(a);
    await c.mdt.read(() => c.mdt.ns.inode(i));
    await coordinatorOf(c.mdt).restore(i, OPEN_RESTORE_WAIT_MS);
    return c.mdt.read(() => hsmGet(c.mdt.store.db, i));
  },
  hsmAgentPoll: async (a, c) => {
    const timeoutMs = Math.min(int(a, 'timeoutMs', { min: 0 }), 25_000);
    return (await coordinatorOf(c.mdt).poll(c.client, timeoutMs)) ?? null;
  },
  hsmRestoreDone: async (a, c) => {
    const i = ino(a);
    const error = a['error'] === null ? null : (optStr(a, 'error', 4096) ?? null);
    const mtimeMs = a['mtimeMs'] === null ? null : (optInt(a, 'mtimeMs') ?? null);
    if (!coordinatorOf(c.mdt).isAgent(c.client))
      throw new FsError('EPERM', 'only an HSM agent ends restores');
    const state = await c.mdt.mutate(c, int(a, 'xid'), undefined, (op) => {
      const cur = hsmGet(c.mdt.store.db, i);
      if (error !== null || !(cur.flags & HS_RELEASED)) return cur;
      const row = c.mdt.ns.inode(i);
      row.blocks = blocksFor(row.size);
      if (mtimeMs !== null) row.mtime = mtimeMs;
      c.mdt.store.updateInode(row);
      op.fx.inode(i, true);
      return hsmRestored(c.mdt.store.db, i);
    });
    coordinatorOf(c.mdt).done(i, error ?? undefined);
    return state;
  },
};

/**
 * Before an open: a released file is restored first (the open waits), unless the opener truncates
 * it (nothing to restore) or is an HSM agent. EIO when the restore failed.
 */
export async function hsmBeforeOpen(c: Attached, i: number, flags: number): Promise<void> {
  if (coordinatorOf(c.mdt).isAgent(c.client)) return;
  if ((flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== 0) return;
  await coordinatorOf(c.mdt).restore(i, OPEN_RESTORE_WAIT_MS);
}

/** Inside the open's transaction: an archived file opened for writing becomes dirty; a truncated released file is no longer released. */
export function hsmOnOpen(c: Attached, i: number, flags: number): void {
  if ((flags & O_ACCMODE) === 0 || coordinatorOf(c.mdt).isAgent(c.client)) return;
  hsmMarkDirty(c.mdt.store.db, i, (flags & O_TRUNC) !== 0);
}

/** Inside a setattr that changes the size: the file is dirty; truncated to 0 it is no longer released. */
export function hsmOnResize(c: Attached, i: number, size: number): void {
  if (coordinatorOf(c.mdt).isAgent(c.client)) return;
  hsmMarkDirty(c.mdt.store.db, i, size === 0);
}
