// A real MDS on loopback for the client's lock tests, and MDS sessions whose LockCache gets the MDS's blocking callbacks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockCache } from '../../src/lustre/client/lock-cache.ts';
import { MdsSession } from '../../src/lustre/client/mds-session.ts';
import { type MdsServer, startMds } from '../../src/lustre/mds/mdt-server.ts';
import { fourOsts } from './mds-fixtures.ts';

export interface LoopbackMds {
  server: MdsServer;
  /** A session as client `id`, its pushes fed to its LockCache; closed by close(). */
  lockClient(id: string): { mds: MdsSession; locks: LockCache };
  /** Runs `fn` at close(), before the MDS stops (other clients a test made). */
  onClose(fn: () => void): void;
  /** Closes every session, stops the MDS and removes its data. */
  close(): Promise<void>;
}

/** Starts an MDS of file system fs1 (four OSTs, 60 s grace) on 127.0.0.1, its data in a fresh temp dir. */
export async function startLoopbackMds(): Promise<LoopbackMds> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-loopback-mds-'));
  const server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 60_000,
  });
  const closers: (() => void)[] = [];
  return {
    server,
    lockClient(id) {
      let locks: LockCache | undefined;
      const mds = new MdsSession({
        address: server.address,
        clientId: id,
        host: 'h',
        onPush: (m, a) => locks?.handlePush(m, a),
      });
      locks = new LockCache(mds);
      closers.push(() => mds.close());
      return { mds, locks };
    },
    onClose: (fn) => void closers.push(fn),
    async close() {
      for (const c of closers) c();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
