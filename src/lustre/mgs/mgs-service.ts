// The MGS's operations: server registration, and the life cycle of file systems and their targets.
import { FsError, NacreError, UnavailableError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import type { FileSystemConfig, ServerInfo, TargetConfig } from '../protocol/mgs-messages.ts';
import { OssClient } from '../protocol/oss-client.ts';
import type { RootSquash } from '../protocol/root-squash.ts';
import { mdtName, ostName, pickMds, placeOsts, targetConfig } from './placement.ts';
import { type FsRecord, type RegisteredServer, Registry } from './registry.ts';
import { type NormalizedRequest, sameRequest } from './validate.ts';

const log = logger('mgs');

export interface MgsServiceOptions {
  /** A server not heard from for this long is not given new targets. Default 30 s. */
  serverTimeoutMs?: number;
  /** Deadline of each createTarget / destroyTarget call to an OSS. Default 10 s. */
  ossTimeoutMs?: number;
  now?: () => number;
}

/**
 * File-system operations are serialised (one at a time); registrations run beside them. Every
 * change is saved before it is acknowledged. Targets are recorded before they are created on their
 * servers, so an interrupted create, add or destroy is finished or undone by the next call.
 */
export class MgsService {
  readonly #registry: Registry;
  readonly #serverTimeoutMs: number;
  readonly #ossTimeoutMs: number;
  readonly #now: () => number;
  readonly #oss = new Map<string, OssClient>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(registry: Registry, opts: MgsServiceOptions) {
    this.#registry = registry;
    this.#serverTimeoutMs = opts.serverTimeoutMs ?? 30_000;
    this.#ossTimeoutMs = opts.ossTimeoutMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  static async open(dataDir: string, opts: MgsServiceOptions = {}): Promise<MgsService> {
    const now = opts.now ?? Date.now;
    return new MgsService(await Registry.open(dataDir, now()), opts);
  }

  /** Records or refreshes a server. If its address changed, the configs naming it follow (generation + 1). */
  async registerServer(info: ServerInfo): Promise<void> {
    const reg = this.#registry;
    const prev = reg.servers.get(info.name);
    reg.servers.set(info.name, { ...info, lastSeenMs: this.#now() });
    const moved =
      prev !== undefined &&
      (prev.address !== info.address || prev.localAddress !== info.localAddress || prev.host !== info.host);
    if (prev && !moved && prev.role === info.role) return;
    if (moved) {
      for (const rec of reg.fileSystems.values()) {
        let changed = false;
        for (const t of [rec.config.mdt, ...rec.config.osts, ...rec.pendingOsts]) {
          if (t.server !== info.name) continue;
          Object.assign(t, targetConfig(t.target, t.index, info, t.capacityBytes));
          if (!info.localAddress) delete t.localAddress;
          changed = true;
        }
        if (changed) rec.config.generation++;
      }
    }
    log.info(prev ? 'server moved' : 'server registered', { ...info });
    await reg.save();
  }

  listServers(): RegisteredServer[] {
    return [...this.#registry.servers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** See MgsMethods.createFileSystem. Same name and parameters: the existing file system (creation finished if needed). */
  createFileSystem(fsname: string, request: NormalizedRequest): Promise<FileSystemConfig> {
    return this.#serialised(async () => {
      let rec = this.#registry.fileSystems.get(fsname);
      if (rec && !sameRequest(rec.request, request)) {
        throw new FsError('EEXIST', `file system ${fsname} exists with other parameters`);
      }
      if (rec?.state === 'destroying') {
        throw new FsError('EBUSY', `file system ${fsname} is being destroyed; finish with destroyFileSystem`);
      }
      if (rec?.state === 'available') return rec.config;
      rec ??= await this.#plan(fsname, request);
      await this.#createTargets(rec.config.osts);
      rec.state = 'available';
      await this.#registry.save();
      log.info('file system created', {
        fsname,
        osts: rec.config.osts.map((t) => `${t.target}@${t.server}`),
      });
      return rec.config;
    });
  }

  /** Adds `count` OSTs after the existing ones; undone on failure. */
  addOsts(fsname: string, count: number, capacityBytes: number): Promise<FileSystemConfig> {
    return this.#serialised(async () => {
      const rec = this.#available(fsname);
      if (rec.state === 'creating')
        throw new FsError('EBUSY', `file system ${fsname} is still being created`);
      if (rec.config.osts.length + count > 1024) throw new FsError('EINVAL', `too many OSTs for ${fsname}`);
      if (rec.pendingOsts.length > 0) await this.#dropPending(rec);
      const first = rec.config.osts.length;
      const last = rec.config.osts.at(-1)?.server;
      const servers = placeOsts(this.#alive('oss'), count, capacityBytes, last);
      rec.pendingOsts = servers.map((s, i) =>
        targetConfig(ostName(fsname, first + i), first + i, s, capacityBytes),
      );
      await this.#registry.save();
      try {
        await this.#createTargets(rec.pendingOsts);
      } catch (err) {
        await this.#dropPending(rec).catch((e: unknown) =>
          log.warn('undoing addOsts failed', { error: String(e) }),
        );
        throw err;
      }
      rec.config.osts.push(...rec.pendingOsts);
      rec.pendingOsts = [];
      rec.config.generation++;
      await this.#registry.save();
      return rec.config;
    });
  }

  /** Sets or clears the file system's root squash (generation + 1). */
  setRootSquash(fsname: string, squash: RootSquash | undefined): Promise<FileSystemConfig> {
    return this.#serialised(async () => {
      const rec = this.#available(fsname);
      if (rec.state === 'creating') throw new FsError('EAGAIN', `file system ${fsname} is being created`);
      if (squash) rec.config.rootSquash = squash;
      else delete rec.config.rootSquash;
      rec.config.generation++;
      await this.#registry.save();
      return rec.config;
    });
  }

  /** Destroys every target; not an error if absent. If a server cannot be reached the rest is kept for a retry. */
  destroyFileSystem(fsname: string): Promise<void> {
    return this.#serialised(async () => {
      const rec = this.#registry.fileSystems.get(fsname);
      if (!rec) return;
      if (rec.state !== 'destroying') {
        rec.state = 'destroying';
        await this.#registry.save();
      }
      const failed = await this.#destroyTargets([...rec.config.osts, ...rec.pendingOsts]);
      rec.config.osts = rec.config.osts.filter((t) => failed.has(t.target));
      rec.pendingOsts = rec.pendingOsts.filter((t) => failed.has(t.target));
      if (failed.size > 0) {
        await this.#registry.save();
        const detail = [...failed].map(([t, e]) => `${t}: ${e}`).join('; ');
        throw new UnavailableError(
          `file system ${fsname} is partly destroyed; ${failed.size} target(s) remain (${detail}); call destroyFileSystem again`,
        );
      }
      this.#registry.fileSystems.delete(fsname);
      await this.#registry.save();
      log.info('file system destroyed', { fsname });
    });
  }

  /**
   * ENOENT for an unknown (or being destroyed) file system, EAGAIN while it is being created. Only a
   * saved config is handed out: a change still being written is waited for, so an MGS crash cannot
   * take back a generation a client has seen.
   */
  async getConfig(fsname: string): Promise<FileSystemConfig> {
    await this.#registry.settled();
    const rec = this.#available(fsname);
    if (rec.state === 'creating') throw new FsError('EAGAIN', `file system ${fsname} is being created`);
    return rec.config;
  }

  /** Available file systems (not those being created or destroyed), by name; saved, as getConfig. */
  async listFileSystems(): Promise<FileSystemConfig[]> {
    await this.#registry.settled();
    return [...this.#registry.fileSystems.values()]
      .filter((r) => r.state === 'available')
      .map((r) => r.config)
      .sort((a, b) => a.fsname.localeCompare(b.fsname));
  }

  /** Waits for the running operation and for every change to be saved, and closes connections to the OSS servers. */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
    await this.#registry.settled();
    for (const c of this.#oss.values()) c.close();
    this.#oss.clear();
  }

  async #plan(fsname: string, request: NormalizedRequest): Promise<FsRecord> {
    const oss = this.#alive('oss');
    if (request.replicas === 2 && oss.length < 2) {
      throw new NacreError(
        'InsufficientServers',
        `replicas=2 keeps each object on two OSS servers, but ${oss.length} OSS server(s) are registered and alive`,
      );
    }
    const servers = placeOsts(oss, request.ostCount, request.ostCapacityBytes);
    if (request.replicas === 2 && new Set(servers.map((s) => s.name)).size < 2) {
      throw new NacreError('InsufficientServers', 'replicas=2: only one OSS server has room for these OSTs');
    }
    const mdtCount = (name: string) =>
      [...this.#registry.fileSystems.values()].filter((r) => r.config.mdt.server === name).length;
    const mds = pickMds(this.#alive('mds'), mdtCount);
    const rec: FsRecord = {
      config: {
        fsname,
        mdt: targetConfig(mdtName(fsname), 0, mds, mds.capacityBytes),
        osts: servers.map((s, i) => targetConfig(ostName(fsname, i), i, s, request.ostCapacityBytes)),
        defaultLayout: request.defaultLayout,
        replicas: request.replicas,
        generation: 1,
        ...(request.rootSquash && { rootSquash: request.rootSquash }),
      },
      request,
      state: 'creating',
      pendingOsts: [],
    };
    this.#registry.fileSystems.set(fsname, rec);
    await this.#registry.save();
    return rec;
  }

  #available(fsname: string): FsRecord {
    const rec = this.#registry.fileSystems.get(fsname);
    if (!rec || rec.state === 'destroying') throw new FsError('ENOENT', `no file system ${fsname}`);
    return rec;
  }

  /** Servers of `role` heard from within the timeout, by name. */
  #alive(role: ServerInfo['role']): RegisteredServer[] {
    const since = this.#now() - this.#serverTimeoutMs;
    return this.listServers().filter((s) => s.role === role && s.lastSeenMs >= since);
  }

  async #createTargets(targets: readonly TargetConfig[]): Promise<void> {
    const results = await Promise.allSettled(
      targets.map((t) =>
        this.#ossFor(t).createTarget(t.target, t.capacityBytes, AbortSignal.timeout(this.#ossTimeoutMs)),
      ),
    );
    const errors = results.flatMap((r, i) =>
      r.status === 'rejected' ? [[targets[i]!, r.reason] as const] : [],
    );
    for (const [i, r] of results.entries()) {
      const server = this.#registry.servers.get(targets[i]!.server);
      if (r.status === 'fulfilled' && server) {
        server.capacityBytes = Math.max(0, server.capacityBytes - targets[i]!.capacityBytes);
      }
    }
    if (errors.length === 0) return;
    const detail = errors.map(([t, e]) => `${t.target} on ${t.server}: ${String(e)}`).join('; ');
    const first = errors[0]![1] as { code?: unknown };
    const transient = errors.every(([, e]) =>
      ['Unavailable', 'DeadlineExceeded'].includes((e as { code?: string }).code ?? ''),
    );
    if (transient) throw new UnavailableError(`cannot create targets: ${detail}`);
    throw new NacreError(
      typeof first.code === 'string' ? first.code : 'EIO',
      `cannot create targets: ${detail}`,
    );
  }

  /** Destroys targets on their servers; returns those that failed, with the reason. */
  async #destroyTargets(targets: readonly TargetConfig[]): Promise<Map<string, string>> {
    const results = await Promise.allSettled(
      targets.map((t) => this.#ossFor(t).destroyTarget(t.target, AbortSignal.timeout(this.#ossTimeoutMs))),
    );
    const failed = new Map<string, string>();
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected')
        failed.set(targets[i]!.target, `${targets[i]!.server}: ${String(r.reason)}`);
    }
    return failed;
  }

  async #dropPending(rec: FsRecord): Promise<void> {
    const failed = await this.#destroyTargets(rec.pendingOsts);
    rec.pendingOsts = rec.pendingOsts.filter((t) => failed.has(t.target));
    await this.#registry.save();
    if (failed.size > 0) {
      throw new UnavailableError(
        `cannot remove OSTs of an interrupted addOsts: ${[...failed.values()].join('; ')}`,
      );
    }
  }

  #ossFor(t: TargetConfig): OssClient {
    const address = this.#registry.servers.get(t.server)?.address ?? t.address;
    let c = this.#oss.get(address);
    if (!c) {
      c = new OssClient({ address, timeoutMs: this.#ossTimeoutMs });
      this.#oss.set(address, c);
    }
    return c;
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
