// The MDS methods of locks: POSIX and flock locks, LDLM enqueue/cancel/replay, and the HSM calls that run under a PW data lock.
import { FsError } from '../../lib/errors.ts';
import { int, str } from '../protocol/args.ts';
import type { MdsMethod } from '../protocol/mds-messages.ts';
import { type Attached, type Impl, nil, SESSION_KEY } from './handler-types.ts';
import { hsmImpls } from './hsm-handlers.ts';
import { enqueueLock, type LockHost, lockManager, lockRequest } from './ldlm-service.ts';
import { replayArgs, replayLocks } from './lock-replay.ts';
import { ino, lock, lockType } from './mds-args.ts';
import type { Mdt } from './mdt.ts';
import { grantPw } from './pw-grant.ts';

type LockMethod = Extract<
  MdsMethod,
  | 'getlk'
  | 'setlk'
  | 'unlockOwner'
  | 'lockEnqueue'
  | 'lockCancel'
  | 'lockReplay'
  | 'flock'
  | 'hsmRelease'
  | 'hsmReplace'
>;

const lockHosts = new WeakMap<Mdt, LockHost>();

/** The MDT as the lock service sees it: a client's sessions are those attached to it under SESSION_KEY. */
export function lockHost(mdt: Mdt): LockHost {
  let h = lockHosts.get(mdt);
  if (!h) {
    h = {
      fsname: mdt.fsname,
      sessionsOf: (client) =>
        [...mdt.clients.sessions()].filter(
          (s) => (s.data.get(SESSION_KEY) as Attached | undefined)?.client === client,
        ),
      awaitedClients: () => mdt.clients.pending(),
    };
    lockHosts.set(mdt, h);
  }
  return h;
}

/** Runs `fn` while `c`'s client holds a PW data lock on `i`: other clients' cached pages are gone. */
async function underDataPw<T>(c: Attached, i: number, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const host = lockHost(c.mdt);
  const lock = await enqueueLock(host, c.client, { ino: i, kind: 'data', mode: 'PW' }, signal);
  try {
    return await fn();
  } finally {
    lockManager(host).cancel(c.client, lock.id);
  }
}

export const lockImpls: { [M in LockMethod]: Impl<M> } = {
  getlk: async (a, c, signal) => {
    const [i, owner, l] = [ino(a), str(a, 'owner', 512), lock(a)];
    await c.mdt.recovery.wait(signal);
    return c.mdt.read(() => {
      c.mdt.ns.inode(i);
      return c.mdt.locks.getlk(i, owner, l);
    });
  },
  setlk: async (a, c, signal) => {
    const [i, owner, l] = [ino(a), str(a, 'owner', 512), lock(a)];
    await c.mdt.recovery.wait(signal);
    return c.mdt.read(() => {
      c.mdt.ns.inode(i);
      return nil(c.mdt.locks.setlk(i, owner, c.client, l));
    });
  },
  unlockOwner: (a, c) => {
    const [i, owner] = [ino(a), str(a, 'owner', 512)];
    return c.mdt.read(() => nil(c.mdt.locks.unlockOwner(i, owner)));
  },
  lockEnqueue: async (a, c, signal) => {
    const req = lockRequest(a);
    const host = lockHost(c.mdt);
    if (req.kind === 'data' && req.mode === 'PW')
      return { id: (await grantPw(host, c, { ...req, kind: 'data', mode: 'PW' }, signal)).id };
    return { id: (await enqueueLock(host, c.client, req, signal)).id };
  },
  lockCancel: async (a, c) => ({ cancelled: lockManager(lockHost(c.mdt)).cancel(c.client, int(a, 'id')) }),
  lockReplay: (a, c) => {
    const r = replayArgs(a);
    return c.mdt.read(() => replayLocks(c.mdt, c.client, r));
  },
  flock: async (a, c, signal) => {
    const [i, h, type] = [ino(a), int(a, 'handle', { min: 1 }), lockType(a, 'type')];
    await c.mdt.recovery.wait(signal);
    return c.mdt.read(() => {
      const row = c.mdt.store.getHandle(h);
      if (!row || row.client !== c.client || row.ino !== i)
        throw new FsError('EBADF', `no handle ${h} on ${i}`);
      c.mdt.locks.flock(i, h, c.client, type);
      return null;
    });
  },
  // A release frees, an import's replacement changes, what a file's cached pages hold: every mount
  // caching the file drops its pages first (Lustre's release swaps the layout under the locks).
  hsmRelease: (a, c, signal) => underDataPw(c, ino(a), signal, () => hsmImpls.hsmRelease(a, c)),
  hsmReplace: (a, c, signal) => underDataPw(c, ino(a), signal, () => hsmImpls.hsmReplace(a, c)),
};
