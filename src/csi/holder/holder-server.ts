// The mount holder: starts FUSE keepers on the node plugin's request and reports their liveness, so the mounts outlive the plugin's container.
import { chmod, mkdir, readdir, realpath, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, isAbsolute, join, normalize, relative } from 'node:path';
import { isErrno, NacreError, ValidationError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { keeperLiveness, readKeeperState } from '../../lustre/fuse/keeper.ts';
import { parseMountSource } from '../../lustre/mount-source.ts';
import { fuseKeeperArgs, parseFuseMountFlags } from '../node/fuse-options.ts';
import { spawnKeeper } from '../node/keeper-spawn.ts';
import type { KeeperCommand } from '../node/mounter.ts';
import {
  HOLDER_PROTOCOL_VERSION,
  type HolderReply,
  type KeeperRequest,
  type KeeperStatus,
  MAX_LINE_BYTES,
} from './holder-protocol.ts';

export interface HolderServerOptions {
  /** The unix socket; its directory is made mode 0700 (only root on the node may ask). */
  socket: string;
  /** The plugin's --state-dir, shared with it: keepers/ and logs/ below it. */
  stateDir: string;
  /** Mount points must lie below one of these (the kubelet's directory). */
  allowedRoots: readonly string[];
  keeperCommand: KeeperCommand;
  log: Logger;
  /** A connection must send its request within this (default 10 s). */
  requestTimeoutMs?: number;
  /** The longest start a request may ask for (default 120 s). */
  maxStartMs?: number;
}

const HEX_NAME = /^[0-9a-f]{24}\.(json|log)$/;

function below(root: string, path: string): boolean {
  const r = relative(normalize(root), normalize(path));
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
}

/**
 * `path` with every symlink resolved; a tail that does not exist yet is kept as named below the
 * real path of its nearest existing ancestor.
 */
async function resolved(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    const parent = dirname(path);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) throw err;
    return join(await resolved(parent), basename(path));
  }
}

/** Serves until close(). Keepers it started (or that a previous holder started) are found again by their state files. */
export class HolderServer {
  private readonly opts: HolderServerOptions;
  private readonly server: Server;
  private readonly stop = new AbortController();
  private readonly open = new Set<Socket>();

  private constructor(opts: HolderServerOptions) {
    this.opts = opts;
    this.server = createServer((sock) => this.serve(sock));
  }

  static async start(opts: HolderServerOptions): Promise<HolderServer> {
    const h = new HolderServer(opts);
    await mkdir(dirname(opts.socket), { recursive: true, mode: 0o700 });
    await chmod(dirname(opts.socket), 0o700);
    await rm(opts.socket, { force: true });
    await new Promise<void>((resolve, reject) => {
      h.server.once('error', reject);
      h.server.listen({ path: opts.socket }, () => {
        h.server.off('error', reject);
        resolve();
      });
    });
    await chmod(opts.socket, 0o600);
    const adopted = await h.liveKeepers();
    opts.log.info('mount holder serving', {
      socket: opts.socket,
      adoptedKeepers: adopted.length,
      mounts: adopted,
    });
    return h;
  }

  /** Mount points of keepers alive now (after a restart of the holder alone: the ones it adopts). */
  async liveKeepers(): Promise<string[]> {
    const dir = join(this.opts.stateDir, 'keepers');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names.filter((x) => HEX_NAME.test(x))) {
      const s = await readKeeperState(join(dir, n));
      if (s && keeperLiveness(s).keeperAlive) out.push(s.mountPoint);
    }
    return out;
  }

  async close(): Promise<void> {
    this.stop.abort();
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.opts.socket, { force: true });
  }

  private serve(sock: Socket): void {
    this.open.add(sock);
    sock.on('close', () => this.open.delete(sock));
    sock.on('error', () => undefined);
    sock.setEncoding('utf8');
    let buf = '';
    let handled = false;
    const reply = (r: HolderReply) => {
      if (!sock.destroyed) sock.end(`${JSON.stringify(r)}\n`);
    };
    const timer = setTimeout(() => {
      reply({
        ok: false,
        code: 'DeadlineExceeded',
        message: `no request within ${this.opts.requestTimeoutMs ?? 10_000} ms`,
      });
    }, this.opts.requestTimeoutMs ?? 10_000);
    sock.on('close', () => clearTimeout(timer));
    sock.on('data', (chunk: string) => {
      if (handled) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE_BYTES) {
          handled = true;
          clearTimeout(timer);
          reply({
            ok: false,
            code: 'InvalidArgument',
            message: `request longer than ${MAX_LINE_BYTES} bytes`,
          });
        }
        return;
      }
      handled = true;
      clearTimeout(timer);
      this.handle(buf.slice(0, nl)).then(reply, (err: unknown) => {
        const code =
          err instanceof ValidationError
            ? 'InvalidArgument'
            : err instanceof NacreError
              ? err.code
              : err instanceof Error && 'code' in err && isErrno(err.code)
                ? err.code
                : 'Internal';
        this.opts.log.warn('mount holder refused a request', { code, err: String(err) });
        reply({ ok: false, code, message: err instanceof Error ? err.message : String(err) });
      });
    });
  }

  private async handle(line: string): Promise<HolderReply> {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ValidationError('the request is not JSON');
    }
    if (typeof req !== 'object' || req === null)
      throw new ValidationError('the request is not a JSON object');
    if (req['v'] !== HOLDER_PROTOCOL_VERSION) {
      throw new ValidationError(
        `protocol version ${String(req['v'])} is not served (this holder speaks ${HOLDER_PROTOCOL_VERSION}): run the same Nacre version in the node plugin and the mounter`,
      );
    }
    switch (req['op']) {
      case 'start':
        return { ok: true, outcome: await this.startKeeper(req) };
      case 'status':
        return {
          ok: true,
          status: (await this.status(this.stateFile(req['stateFile'], 'keepers', '.json'))) ?? null,
        };
      default:
        throw new ValidationError(
          `unknown request ${JSON.stringify(req['op'])}: this holder serves "start" and "status"`,
        );
    }
  }

  /** A path the plugin names must be its state dir's `<sub>/<24 hex><ext>`: nothing else is read or written. */
  private stateFile(value: unknown, sub: string, ext: string): string {
    const dir = join(this.opts.stateDir, sub);
    if (
      typeof value !== 'string' ||
      normalize(dirname(value)) !== normalize(dir) ||
      !HEX_NAME.test(basename(value)) ||
      !value.endsWith(ext)
    ) {
      throw new ValidationError(
        `${JSON.stringify(value)} is not a ${sub} file of ${dir}: the node plugin and the holder must share --state-dir`,
      );
    }
    return value;
  }

  private async status(stateFile: string): Promise<KeeperStatus | undefined> {
    const s = await readKeeperState(stateFile);
    return s && { ...s, ...keeperLiveness(s) };
  }

  private async startKeeper(req: Record<string, unknown>): Promise<string> {
    const k = req as Partial<KeeperRequest> & { timeoutMs?: unknown };
    if (typeof k.source !== 'string') throw new ValidationError('start needs a source');
    parseMountSource(k.source);
    // Judged by its real path: a symlink a pod wrote below the kubelet dir must not aim the mount elsewhere.
    const target =
      typeof k.target === 'string' && isAbsolute(k.target) ? await resolved(k.target) : undefined;
    const roots = await Promise.all(this.opts.allowedRoots.map((r) => resolved(r)));
    if (target === undefined || !roots.some((r) => below(r, target))) {
      throw new ValidationError(
        `mount point ${JSON.stringify(k.target)}${target && target !== k.target ? ` (really ${target})` : ''} is not below ${this.opts.allowedRoots.join(' or ')}`,
      );
    }
    if (!Array.isArray(k.options) || !k.options.every((o) => typeof o === 'string'))
      throw new ValidationError('start needs options: a list of strings');
    const flags = fuseKeeperArgs(parseFuseMountFlags(k.options));
    const stateFile = this.stateFile(k.stateFile, 'keepers', '.json');
    const logFile = this.stateFile(k.logFile, 'logs', '.log');
    const max = this.opts.maxStartMs ?? 120_000;
    const timeoutMs = typeof k.timeoutMs === 'number' && k.timeoutMs > 0 ? Math.min(k.timeoutMs, max) : max;
    await mkdir(dirname(stateFile), { recursive: true });
    await mkdir(dirname(logFile), { recursive: true });
    const base = this.opts.keeperCommand(k.source, target, stateFile, logFile);
    // The plugin going away mid-request changes nothing: the keeper goes on and a repeated start finds it.
    const outcome = await spawnKeeper(
      { command: base.command, args: [...base.args, ...flags] },
      logFile,
      timeoutMs,
      this.stop.signal,
    );
    this.opts.log.info('keeper started', { mountPoint: target, outcome });
    return outcome;
  }
}
