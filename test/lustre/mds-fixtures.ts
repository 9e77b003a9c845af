// Test support for the MDS: an in-memory namespace with a ticking clock, and a typed RPC client that speaks MdsMethods.

import { Effects, type OpContext } from '../../src/lustre/mds/inodes.ts';
import { DEFAULT_POLICY, LayoutAllocator, type OstInfo } from '../../src/lustre/mds/layout.ts';
import { Namespace } from '../../src/lustre/mds/namespace.ts';
import { Store } from '../../src/lustre/mds/store.ts';
import type { MdsMethod, MdsMethods } from '../../src/lustre/protocol/mds-messages.ts';
import { RpcClient } from '../../src/lustre/protocol/rpc-client.ts';
import { type Credentials, ROOT_CREDENTIALS } from '../../src/lustre/types.ts';

export const ROOT = ROOT_CREDENTIALS;
export const ALICE: Credentials = { uid: 1000, gid: 1000, groups: [] };
export const BOB: Credentials = { uid: 1001, gid: 1001, groups: [1000] };
export const CAROL: Credentials = { uid: 1002, gid: 1002, groups: [] };

/** Four OSTs on two servers of two hosts, with equal free space. */
export function fourOsts(): OstInfo[] {
  return [0, 1, 2, 3].map((i) => ({
    index: i,
    target: `fs-OST000${i}`,
    host: i < 2 ? 'node-a' : 'node-b',
    server: i < 2 ? 'oss-a' : 'oss-b',
    availBytes: 1e12,
  }));
}

/**
 * A namespace over an in-memory database, each call in its own savepoint (rolled back on error,
 * as the MDT does). The clock advances 1 ms per reading, so every change gets a new time.
 */
export class TestNamespace {
  readonly store: Store;
  readonly ns: Namespace;
  osts: OstInfo[];
  time = 1_000_000;
  /** Effects of the last successful call. */
  fx = new Effects();

  constructor(opts: { osts?: OstInfo[]; replicas?: number } = {}) {
    this.osts = opts.osts ?? fourOsts();
    this.store = new Store(':memory:', { now: this.time });
    this.ns = new Namespace({
      store: this.store,
      clock: () => ++this.time,
      layouts: new LayoutAllocator(opts.replicas ?? 1),
      defaultPolicy: DEFAULT_POLICY,
      osts: () => this.osts,
    });
  }

  /** Runs `fn` as one operation of `cred` from client `client`. */
  run<T>(cred: Credentials, fn: (op: OpContext) => T, client = 'c1', host = 'node-a'): T {
    const op: OpContext = { cred, client, host, fx: new Effects() };
    this.store.db.exec('SAVEPOINT t');
    try {
      const out = fn(op);
      this.store.db.exec('RELEASE t');
      this.fx = op.fx;
      return out;
    } catch (err) {
      this.store.db.exec('ROLLBACK TO t');
      this.store.db.exec('RELEASE t');
      throw err;
    }
  }

  /** The errno `fn` fails with, or 'OK'. */
  errno(cred: Credentials, fn: (op: OpContext) => unknown): string {
    try {
      this.run(cred, fn);
      return 'OK';
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  }

  mkdir(parent: number, name: string, mode = 0o755, cred = ROOT): number {
    return this.run(cred, (op) => this.ns.mkdir(op, parent, name, mode)).ino;
  }

  file(parent: number, name: string, mode = 0o644, cred = ROOT): number {
    return this.run(cred, (op) => this.ns.create(op, parent, name, mode, true, false, 0)).attr.ino;
  }

  /** Creates and opens: returns the handle. */
  open(parent: number, name: string, cred = ROOT, client = 'c1'): { ino: number; handle: number } {
    const r = this.run(cred, (op) => this.ns.create(op, parent, name, 0o644, false, true, 2), client);
    return { ino: r.attr.ino, handle: r.handle! };
  }

  names(dir: number): string[] {
    return this.ns
      .readdir(ROOT, dir, 0, 4096, false)
      .map((e) => e.name)
      .filter((n) => n !== '.' && n !== '..');
  }

  close(): void {
    this.store.close();
  }
}

/** A connected MDS client for tests: typed calls, xids from a counter. */
export class TestMdsClient {
  readonly rpc: RpcClient;
  readonly clientId: string;
  readonly pushes: { method: string; args: unknown }[] = [];
  #xid = 1;

  constructor(address: string, clientId: string, host = 'node-a') {
    this.clientId = clientId;
    this.rpc = new RpcClient({
      address,
      timeoutMs: 10_000,
      onPush: (method, args) => this.pushes.push({ method, args }),
      onConnect: async (c) => {
        await c.call('connect', { clientId, host });
      },
    });
  }

  nextXid(): number {
    return this.#xid++;
  }

  async call<M extends MdsMethod>(method: M, args: MdsMethods[M]['args']): Promise<MdsMethods[M]['result']> {
    return (await this.rpc.call<MdsMethods[M]['result']>(method, args)).result;
  }

  close(): void {
    this.rpc.close();
  }
}
