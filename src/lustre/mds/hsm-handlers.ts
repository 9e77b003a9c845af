// Binds the HSM RPCs to an MDT, and the HSM side of open: wait for a restore of a released file, mark an archived file dirty when opened for writing.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, int, num, optStr, str } from '../protocol/args.ts';
import type { HsmMethods } from '../protocol/hsm-messages.ts';
import { dataVersionOf } from './data-version.ts';
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
import { hsmArchived } from './hsm-archived.ts';
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
const O_RDWR = 0o2;
const O_TRUNC = 0o1000;

function optInt(a: Args, key: string): number | undefined {
  return a[key] === undefined || a[key] === null ? undefined : int(a, key, { min: 0 });
}

export const hsmImpls: { [M in keyof HsmMethods]: HsmImpl<M> } = {
  hsmState: (a, c) => {
    const i = ino(a);
    return c.mdt.read(() => {
      c.mdt.ns.inode(i);
      const db = c.mdt.store.db;
      return { ...hsmGet(db, i), open: c.mdt.store.openCount(i) > 0, dataVersion: dataVersionOf(db, i) };
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
  hsmArchived: (a, c) => {
    const i = ino(a);
    const asOf = asArgs(a['asOf']);
    const change = {
      location: str(a, 'location', 4096),
      archiveId: int(a, 'archiveId', { min: 0 }),
      asOf: {
        mtimeMs: num(asOf, 'mtimeMs'),
        size: int(asOf, 'size', { min: 0 }),
        ...(asOf['dataVersion'] !== undefined && { dataVersion: int(asOf, 'dataVersion', { min: 0 }) }),
      },
    };
    return c.mdt.mutate(c, int(a, 'xid'), cred(a), (op) => hsmArchived(c.mdt.ns, op, i, change));
  },
  hsmRelease: (a, c) => {
    const i = ino(a);
    if (coordinatorOf(c.mdt).loading(i))
      throw new FsError(
        'EBUSY',
        'the file is being restored from the archive; release it once the restore ended',
      );
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
    const token = str(a, 'token', 64);
    if (!coordinatorOf(c.mdt).isAgent(c.client))
      throw new FsError('EPERM', 'only an HSM agent ends restores');
    // A restore handed out again (this agent was presumed gone, or the MDS restarted) is not this agent's to end.
    if (!coordinatorOf(c.mdt).holds(i, token)) return c.mdt.read(() => hsmGet(c.mdt.store.db, i));
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
  hsmLoadNext: async (a, c) => {
    const [i, token] = [ino(a), str(a, 'token', 64)];
    const chunkBytes = int(a, 'chunkBytes', { min: 4096 });
    const size = int(a, 'size', { min: 0 });
    const loaded = a['loaded'];
    if (!Array.isArray(loaded) || loaded.length > 1024 || !loaded.every((n) => Number.isInteger(n)))
      throw new FsError('EINVAL', 'loaded must be a list of at most 1024 piece numbers');
    if (!coordinatorOf(c.mdt).isAgent(c.client)) throw new FsError('EPERM', 'only an HSM agent loads files');
    return coordinatorOf(c.mdt).loadNext(i, token, size, chunkBytes, loaded as number[]) ?? null;
  },
  hsmWaitRange: async (a, c) => {
    const [i, offset, length] = [ino(a), int(a, 'offset', { min: 0 }), int(a, 'length', { min: 0 })];
    await c.mdt.read(() => c.mdt.ns.inode(i));
    return coordinatorOf(c.mdt).waitRange(i, offset, length, OPEN_RESTORE_WAIT_MS);
  },
};

/**
 * Before an open: the restore of a released file starts. A reader goes on at once (its reads wait
 * for the ranges they need, see hsmOpenReply); a writer waits for the whole file, unless it
 * truncates a file nobody is loading (nothing to restore). An HSM agent never waits. EIO when the
 * restore failed.
 */
export async function hsmBeforeOpen(c: Attached, i: number, flags: number): Promise<void> {
  const coordinator = coordinatorOf(c.mdt);
  if (coordinator.isAgent(c.client)) return;
  if ((flags & O_ACCMODE) === 0) return coordinator.start(i);
  if ((flags & O_TRUNC) !== 0 && !coordinator.loading(i)) return;
  await coordinator.restore(i, OPEN_RESTORE_WAIT_MS);
}

/** Before a setattr that grows or shrinks a file to a size > 0: its content must be back first. */
export function hsmBeforeResize(c: Attached, i: number): Promise<void> {
  return hsmBeforeOpen(c, i, O_RDWR);
}

/** The open's reply: `loading` when a reader opened a file still being restored (its reads call hsmWaitRange). */
export function hsmOpenReply(c: Attached, i: number, flags: number): { loading?: true } {
  if ((flags & O_ACCMODE) !== 0 || coordinatorOf(c.mdt).isAgent(c.client)) return {};
  return hsmGet(c.mdt.store.db, i).flags & HS_RELEASED ? { loading: true } : {};
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
