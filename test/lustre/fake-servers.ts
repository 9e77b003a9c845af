// Test support: small hand-written MGS, MDS and OSS fakes on real RpcServers, holding just the state the client tests need.
import { FsError } from '../../src/lib/errors.ts';
import type { FileSystemConfig, TargetConfig } from '../../src/lustre/protocol/mgs-messages.ts';
import { Reply, RpcServer, type ServerSession } from '../../src/lustre/protocol/rpc-server.ts';
import { type Attr, type Layout, S_IFDIR, S_IFREG } from '../../src/lustre/types.ts';

type Obj = Record<string, unknown>;

export function attrOf(ino: number, mode: number, size: number): Attr {
  return {
    ino,
    mode,
    nlink: 1,
    uid: 0,
    gid: 0,
    rdev: 0,
    size,
    blocks: Math.ceil(size / 512),
    atimeMs: 0,
    mtimeMs: 0,
    ctimeMs: 0,
    generation: 0,
  };
}

/** OSS fake: objects per target in memory, sparse writes zero-filled, reads short at an object's end. */
export class FakeOss {
  readonly objects = new Map<string, Buffer>();
  readonly calls: { method: string; target: string; object?: string; offset?: number; size?: number }[] = [];
  readonly server = new RpcServer('fake-oss');
  readonly targets: string[];
  address = '';

  constructor(targets: string[]) {
    this.targets = targets;
    const key = (a: Obj) => `${this.#target(a)}/${String(a['object'])}`;
    this.server.handle('write', async (raw, payload) => {
      const a = raw as Obj;
      const data = payload ?? Buffer.alloc(0);
      const offset = a['offset'] as number;
      this.calls.push({ method: 'write', target: this.#target(a), object: String(a['object']), offset });
      const old = this.objects.get(key(a)) ?? Buffer.alloc(0);
      const next = Buffer.alloc(Math.max(old.length, offset + data.length));
      old.copy(next);
      data.copy(next, offset);
      this.objects.set(key(a), next);
      return { written: data.length };
    });
    this.server.handle('read', async (raw) => {
      const a = raw as Obj;
      const obj = this.objects.get(key(a)) ?? Buffer.alloc(0);
      const offset = a['offset'] as number;
      const data = obj.subarray(
        Math.min(offset, obj.length),
        Math.min(offset + (a['length'] as number), obj.length),
      );
      return new Reply({ length: data.length }, Buffer.from(data));
    });
    this.server.handle('punch', async (raw) => {
      const a = raw as Obj;
      const size = a['size'] as number;
      this.calls.push({ method: 'punch', target: this.#target(a), object: String(a['object']), size });
      const obj = this.objects.get(key(a)) ?? Buffer.alloc(0);
      const next = Buffer.alloc(size);
      obj.copy(next, 0, 0, Math.min(size, obj.length));
      this.objects.set(key(a), next);
      return null;
    });
    this.server.handle('sync', async (raw) => {
      this.calls.push({
        method: 'sync',
        target: this.#target(raw as Obj),
        object: String((raw as Obj)['object']),
      });
      return null;
    });
    this.server.handle('statfs', async (raw) => {
      const target = this.#target(raw as Obj);
      const used = [...this.objects]
        .filter(([k]) => k.startsWith(`${target}/`))
        .reduce((n, [, b]) => n + b.length, 0);
      return { target, capacityBytes: 1 << 30, usedBytes: used, availBytes: (1 << 30) - used, objects: 0 };
    });
  }

  #target(a: Obj): string {
    const t = String(a['target']);
    if (!this.targets.includes(t)) throw new FsError('ENODEV' as 'EIO', `no target ${t}`);
    return t;
  }

  object(target: string, object: string): Buffer {
    return this.objects.get(`${target}/${object}`) ?? Buffer.alloc(0);
  }

  async listen(where: { host: string; port: number } | { path: string } = { host: '127.0.0.1', port: 0 }) {
    this.address = await this.server.listen(where);
    return this.address;
  }
}

export interface FakeInode {
  attr: Attr;
  layout: Layout | null;
}

/**
 * MDS fake: a flat namespace under the root, sizes and layouts, and a record of every call with
 * its xid. `hooks` lets a test take over one method (e.g. to drop the connection mid-call).
 */
export class FakeMds {
  readonly inodes = new Map<number, FakeInode>();
  readonly names = new Map<string, number>();
  readonly calls: { method: string; args: Obj }[] = [];
  readonly sessions = new Set<ServerSession>();
  readonly hooks = new Map<string, (args: Obj, session: ServerSession) => Promise<unknown>>();
  layoutFor: () => Layout = () => ({ stripeSize: 65536, stripeCount: 1, osts: [0] });
  #nextIno = 2;
  #nextHandle = 1;

  constructor() {
    this.inodes.set(1, { attr: attrOf(1, S_IFDIR | 0o755, 0), layout: null });
  }

  /** A new server bound to this state (a restart of the MDS keeps the state, as the real one does). */
  server(): RpcServer {
    const s = new RpcServer('fake-mds');
    const on = (method: string, fn: (a: Obj, session: ServerSession) => unknown) =>
      s.handle(method, async (raw, _p, ctx) => {
        const a = (raw ?? {}) as Obj;
        this.calls.push({ method, args: a });
        const hook = this.hooks.get(method);
        if (hook) return await hook(a, ctx.session);
        if (method !== 'connect' && !this.sessions.has(ctx.session)) throw new FsError('ENOTCONN');
        return fn(a, ctx.session);
      });
    on('connect', (_a, session) => {
      this.sessions.add(session);
      session.onClose(() => this.sessions.delete(session));
      return { rootIno: 1, fsname: 'fk', graceMs: 1000 };
    });
    on('getattr', (a) => this.inode(a['ino'] as number).attr);
    on('getLayout', (a) => this.inode(a['ino'] as number).layout);
    on('lookup', (a) => {
      const ino = this.names.get(String(a['name']));
      if (ino === undefined) throw new FsError('ENOENT');
      return this.inode(ino).attr;
    });
    on('create', (a) => {
      const ino = this.addFile(String(a['name']), 0);
      return {
        attr: this.inode(ino).attr,
        layout: this.inode(ino).layout,
        handle: this.#nextHandle++,
        created: true,
      };
    });
    on('open', (a) => {
      const n = this.inode(a['ino'] as number);
      if (((a['flags'] as number) & 0o1000) !== 0) n.attr.size = 0;
      return { handle: this.#nextHandle++, attr: n.attr, layout: n.layout };
    });
    on('release', () => null);
    on('quotaGrant', () => ({ end: null, ttlMs: 60_000 }));
    on('extendSize', (a) => {
      const n = this.inode(a['ino'] as number);
      n.attr.size = Math.max(n.attr.size, a['end'] as number);
      return n.attr;
    });
    on('punched', () => null);
    on('reserveAppend', (a) => {
      const n = this.inode(a['ino'] as number);
      n.attr.size += a['length'] as number;
      return n.attr;
    });
    on('setattr', (a) => {
      const n = this.inode(a['ino'] as number);
      const size = (a['changes'] as { size?: number }).size;
      if (size !== undefined) n.attr.size = size;
      return n.attr;
    });
    on('mkdir', (a) => this.inode(this.addFile(String(a['name']), 0, S_IFDIR | 0o755)).attr);
    on('statfs', () => ({ files: 100, ffree: 90 }));
    on('unlockOwner', () => null);
    on('setlk', () => {
      throw new FsError('EAGAIN', 'conflicting lock');
    });
    return s;
  }

  inode(ino: number): FakeInode {
    const n = this.inodes.get(ino);
    if (!n) throw new FsError('ENOENT', `inode ${ino}`);
    return n;
  }

  addFile(
    name: string,
    size: number,
    mode = S_IFREG | 0o644,
    layout: Layout | null = this.layoutFor(),
  ): number {
    const ino = this.#nextIno++;
    this.inodes.set(ino, {
      attr: attrOf(ino, mode, size),
      layout: (mode & S_IFREG) === S_IFREG ? layout : null,
    });
    this.names.set(name, ino);
    return ino;
  }

  pushAll(method: string, args: unknown): void {
    for (const s of this.sessions) s.push(method, args);
  }

  xidsOf(method: string): number[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args['xid'] as number);
  }
}

/** An MGS fake that serves one config. */
export async function fakeMgs(
  config: () => FileSystemConfig,
): Promise<{ server: RpcServer; address: string }> {
  const server = new RpcServer('fake-mgs');
  server.handle('getConfig', async (raw) => {
    if ((raw as Obj)['fsname'] !== config().fsname) throw new FsError('ENOENT', 'no such file system');
    return config();
  });
  return { server, address: await server.listen({ host: '127.0.0.1', port: 0 }) };
}

export function targetConfig(
  index: number,
  address: string,
  extra: Partial<TargetConfig> = {},
): TargetConfig {
  return {
    target: `fk-OST000${index}`,
    index,
    server: `oss-${index}`,
    address,
    host: 'elsewhere',
    capacityBytes: 1 << 30,
    ...extra,
  };
}
