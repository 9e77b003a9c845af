// A real MDS on loopback for tests of the MDS and the client's locks: raw RPC clients, and MDS sessions whose LockCache gets the MDS's blocking callbacks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockCache } from '../../src/lustre/client/lock-cache.ts';
import { MdsSession } from '../../src/lustre/client/mds-session.ts';
import { type MdsOptions, type MdsServer, startMds } from '../../src/lustre/mds/mdt-server.ts';
import { RpcClient } from '../../src/lustre/protocol/rpc-client.ts';
import { ROOT_CREDENTIALS } from '../../src/lustre/types.ts';
import { fourOsts } from './mds-fixtures.ts';

export interface LoopbackMds {
  server: MdsServer;
  /** A session as client `id`, its pushes fed to its LockCache; closed by close(). */
  lockClient(id: string): { mds: MdsSession; locks: LockCache };
  /** A raw RPC client connected as client `id` (30 s deadline a call); closed by close(). */
  rpcClient(id: string): Promise<RpcClient>;
  /** Runs `fn` at close(), before the MDS stops (other clients a test made). */
  onClose(fn: () => void): void;
  /** Closes every session, stops the MDS and removes its data. */
  close(): Promise<void>;
}

export interface LoopbackMdsOptions {
  /** Default fs1. */
  fsname?: string;
  /** Told of the OST objects the MDS destroys; default nothing. */
  destroyObjects?: MdsOptions['destroyObjects'];
}

/** The result of one call. */
export async function rpc(c: RpcClient, method: string, args: unknown): Promise<unknown> {
  return (await c.call(method, args)).result;
}

/** 'OK' if `p` resolves, else the code it fails with (an errno). */
export const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => 'OK',
    (e: { code?: string }) => e.code,
  );

/**
 * Creates file `name` in the root directory as root through `c` and sets `changes` on it (size,
 * owner, …), each call with the xid `nextXid` gives; returns its inode.
 */
export async function rootFile(
  c: RpcClient,
  name: string,
  changes: Record<string, unknown>,
  nextXid: () => number,
): Promise<number> {
  const r = (await rpc(c, 'create', {
    xid: nextXid(),
    cred: ROOT_CREDENTIALS,
    parent: 1,
    name,
    mode: 0o100644,
    exclusive: true,
    open: false,
    flags: 0,
  })) as { attr: { ino: number } };
  await rpc(c, 'setattr', { xid: nextXid(), cred: ROOT_CREDENTIALS, ino: r.attr.ino, changes });
  return r.attr.ino;
}

/** Starts an MDS (four OSTs, 60 s grace) on 127.0.0.1, its data in a fresh temp dir. */
export async function startLoopbackMds(opts: LoopbackMdsOptions = {}): Promise<LoopbackMds> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-loopback-mds-'));
  const server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: opts.fsname ?? 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: opts.destroyObjects ?? (async () => {}),
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
    async rpcClient(id) {
      const c = new RpcClient({ address: server.address, timeoutMs: 30_000 });
      closers.push(() => c.close());
      await c.call('connect', { clientId: id, host: 'h' });
      return c;
    },
    onClose: (fn) => void closers.push(fn),
    async close() {
      for (const c of closers) c();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
