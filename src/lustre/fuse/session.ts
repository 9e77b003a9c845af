// One FUSE session on a /dev/fuse descriptor: concurrent read loops, dispatch, replies, interrupts, forgets, notifications.
import { constants as osConstants } from 'node:os';
import { errnoNumber, FsError, toFsError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { type Credentials, type FileHandle, type InvalidateEvent, ROOT_CREDENTIALS } from '../types.ts';
import { type HandleRequest, handleRequest } from './adopt.ts';
import {
  decodeBatchForgetIn,
  decodeForgetIn,
  decodeInHeader,
  decodeInterruptIn,
  type InHeader,
} from './codec-in.ts';
import { encodeNotifyResend, encodeOutHeader } from './codec-out.ts';
import { GroupResolver } from './credentials.ts';
import type { FuseDevice } from './device.ts';
import { handleInit, type InitResult } from './init.ts';
import { EarlyInterrupts } from './interrupts.ts';
import { Notifier } from './notifier.ts';
import { EMPTY, type OpContext, type Reply, type Runner } from './op-types.ts';
import { ops } from './ops.ts';
import {
  FUSE_ROOT_ID,
  IN_HEADER_SIZE,
  Opcode,
  OUT_HEADER_SIZE,
  opcodeName,
  readBufferSize,
} from './protocol.ts';
import type { SessionOptions, SessionStats } from './session-options.ts';

const ENOSYS = errnoNumber('ENOSYS');
const EINTR = errnoNumber('EINTR');
const EAGAIN = errnoNumber('EAGAIN');
const EIO = errnoNumber('EIO');
/** The kernel's answer to a reply whose request is gone (interrupted and finished, or aborted). */
const REPLY_GONE = new Set(['ENOENT']);
/** Read errors after which the loop simply reads again. */
const READ_RETRY = new Set(['ENOENT', 'EINTR', 'EAGAIN']);
/** Requests the kernel expects no reply to. */
const NO_REPLY: ReadonlySet<number> = new Set([
  Opcode.FORGET,
  Opcode.BATCH_FORGET,
  Opcode.INTERRUPT,
  Opcode.NOTIFY_REPLY,
]);
/** Request buffers kept for reuse after WRITEs complete. */
const POOL_MAX = 16;

export type { SessionOptions, SessionStats } from './session-options.ts';

/**
 * Serves FUSE requests read from the device until the kernel ends the connection (read returns ENODEV,
 * after unmount) or DESTROY arrives. Requests run concurrently; every one gets exactly one reply
 * (or none, for FORGET and INTERRUPT) and a failing client call becomes a negative errno, never a
 * crash. The session owns the device and closes it when the loops have ended.
 */
export class FuseSession {
  readonly closed: Promise<void>;
  readonly initialized: Promise<InitResult>;
  private readonly device: FuseDevice;
  private readonly opts: SessionOptions;
  private readonly groups: GroupResolver;
  private readonly handles = new Map<number, FileHandle>();
  /** Reopens in progress of handles a previous daemon gave the kernel (adopted sessions). */
  private readonly reopening = new Map<number, Promise<FileHandle>>();
  private readonly lookups = new Map<number, number>();
  private readonly inFlight = new Map<number, AbortController>();
  /** INTERRUPTs that arrived before their request was dispatched. */
  private readonly earlyInterrupts: EarlyInterrupts;
  private readonly notifier: Notifier;
  /** Free request buffers: a WRITE's buffer comes back here once the client's write resolved. */
  private readonly pool: Buffer[] = [];
  private readonly bufferSize: number;
  private readonly log: Logger;
  /** Per-request debug records (the `fuse` debug channel), decided once: it is checked on every request. */
  private readonly trace: boolean;
  private resolveInit!: (r: InitResult) => void;
  private resolveClosed!: () => void;
  private liveReaders = 0;
  private ending = false;
  /** Set before the device is closed: a descriptor number may be reused, so nothing is written after. */
  private deviceClosed = false;
  private init: InitResult | undefined;

  constructor(device: FuseDevice, opts: SessionOptions) {
    this.device = device;
    this.opts = opts;
    this.groups = opts.groups ?? new GroupResolver();
    this.bufferSize = readBufferSize(opts.maxWrite);
    this.log = opts.log;
    this.trace = opts.log.isDebugEnabled();
    this.earlyInterrupts = new EarlyInterrupts(opts.interruptGraceMs ?? 1000, (u) => this.send(u, -EAGAIN));
    // An adopted session does not know which inodes the kernel learnt from the previous daemon.
    const knowsAll = opts.adopt !== undefined;
    this.notifier = new Notifier(
      device,
      opts.log,
      (ino) => knowsAll || ino === FUSE_ROOT_ID || this.lookups.has(ino),
    );
    this.initialized = new Promise((resolve) => {
      this.resolveInit = resolve;
    });
    if (opts.adopt) {
      this.init = { reply: Buffer.alloc(0), done: true, ...opts.adopt };
      this.resolveInit(this.init);
    }
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** Starts the read loops. */
  start(): void {
    for (let i = 0; i < this.opts.readers; i++) this.readLoop();
    if (this.opts.adopt) {
      this.device.write(encodeNotifyResend(), (err) => {
        if (err) this.log.warn('the kernel refused FUSE_NOTIFY_RESEND', { code: err.code });
      });
    }
  }

  /**
   * Tells the kernel to drop what it caches for an inode or a name (no-op before INIT or after the
   * end); resolves once the kernel has done so (for an inode: dirty pages written back, pages dropped).
   */
  invalidate(event: InvalidateEvent): Promise<void> {
    if (!this.init || this.ending) return Promise.resolve();
    return this.notifier.enqueue(event);
  }

  stats(): SessionStats {
    return { inFlight: this.inFlight.size, openHandles: this.handles.size, knownInodes: this.lookups.size };
  }

  private takeBuffer(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafe(this.bufferSize);
  }

  private readLoop(): void {
    this.liveReaders++;
    let buf = this.takeBuffer();
    const next = (): void => {
      this.device.read(buf, (err, n) => {
        if (err) {
          if (!this.ending && READ_RETRY.has(err.code ?? '')) return next();
          if (err.code !== 'ENODEV' && !this.ending)
            this.log.error('read from /dev/fuse failed', { err: err.message });
          return this.readerDone();
        }
        if (this.dispatch(buf, n)) buf = this.takeBuffer();
        if (this.ending) return this.readerDone();
        next();
      });
    };
    next();
  }

  private readerDone(): void {
    this.ending = true;
    if (--this.liveReaders > 0) return;
    this.earlyInterrupts.clear();
    for (const c of this.inFlight.values()) c.abort(new FsError('ENOTCONN'));
    void this.notifier.stop().then(() => {
      this.deviceClosed = true;
      this.device.close(() => this.resolveClosed());
    });
  }

  /** Handles the request in `buf[0, n)`; returns true when `buf` was handed to a handler (WRITE data). */
  private dispatch(buf: Buffer, n: number): boolean {
    const req = buf.subarray(0, n);
    let h: InHeader;
    try {
      h = decodeInHeader(req);
    } catch (err) {
      this.log.error('malformed request', { err: (err as Error).message });
      return false;
    }
    const body = req.subarray(IN_HEADER_SIZE, Math.min(h.len, req.length));
    if (this.trace) {
      const op = opcodeName.get(h.opcode) ?? h.opcode;
      this.log.debug('request', { op, unique: h.unique, nodeid: h.nodeid, pid: h.pid });
    }
    try {
      return this.sessionOp(h, body) ? false : this.startOp(h, body, buf);
    } catch (err) {
      // A request whose arguments do not decode: answer it (if it expects an answer) and go on.
      if (!NO_REPLY.has(h.opcode)) this.send(h.unique, -this.errno(h, err, false));
      else this.log.error('malformed request', { op: opcodeName.get(h.opcode), err: (err as Error).message });
      return false;
    }
  }

  /** Answers the opcodes that concern the session itself; false for the others. */
  private sessionOp(h: InHeader, body: Buffer): boolean {
    switch (h.opcode) {
      case Opcode.INIT:
        this.onInit(h, body);
        return true;
      case Opcode.DESTROY:
        this.ending = true;
        this.send(h.unique, 0);
        return true;
      case Opcode.INTERRUPT:
        this.onInterrupt(h, body);
        return true;
      case Opcode.FORGET:
        this.forget(h.nodeid, decodeForgetIn(body));
        return true;
      case Opcode.BATCH_FORGET:
        for (const f of decodeBatchForgetIn(body)) this.forget(f.nodeid, f.nlookup);
        return true;
      case Opcode.NOTIFY_REPLY:
        return true;
      default:
        return false;
    }
  }

  /** Decodes a file system request and starts it; true when `buf` was handed over (WRITE). Throws on bad arguments. */
  private startOp(h: InHeader, body: Buffer, buf: Buffer): boolean {
    const op = ops.get(h.opcode);
    if (!op) {
      if (this.trace)
        this.log.debug('unsupported opcode', { opcode: h.opcode, name: opcodeName.get(h.opcode) });
      this.send(h.unique, -ENOSYS);
      return false;
    }
    let run = op(h, body);
    if (this.opts.adopt) {
      const req = handleRequest(h.opcode, body);
      if (req && !this.handles.has(req.fh)) run = this.reopenFirst(h, req, run);
    }
    if (this.earlyInterrupts.take(h.unique)) {
      // Interrupted before it started: the kernel accepts EINTR without the work being done.
      this.send(h.unique, -EINTR);
      return false;
    }
    const controller = new AbortController();
    this.inFlight.set(h.unique, controller);
    const handedOver = h.opcode === Opcode.WRITE ? buf : undefined;
    void this.execute(h, run, controller, handedOver);
    return handedOver !== undefined;
  }

  /**
   * Runs a request and replies. A WRITE's request buffer (`handedOver`) is reused once the client's
   * write resolved, as a Node caller reuses a buffer once fs.write settles; after a failure the
   * client may still be sending from it, so it is left to the garbage collector.
   */
  private async execute(
    h: InHeader,
    run: (ctx: OpContext) => Promise<Reply | null>,
    c: AbortController,
    handedOver?: Buffer,
  ) {
    try {
      const reply = await run(this.context(h, c.signal));
      if (handedOver && this.pool.length < POOL_MAX) this.pool.push(handedOver);
      if (!reply) return;
      if (this.send(h.unique, 0, reply.body)) reply.onSent?.();
      else reply.onUnsent?.();
    } catch (err) {
      const errno = this.errno(h, err, c.signal.aborted);
      if (this.trace) this.log.debug('error reply', { unique: h.unique, errno, err: (err as Error).message });
      this.send(h.unique, -errno);
    } finally {
      this.inFlight.delete(h.unique);
    }
  }

  /** Runs `run` once the handle a previous daemon gave the kernel is open again in this one (adopted sessions). */
  private reopenFirst(h: InHeader, req: HandleRequest, run: Runner): Runner {
    return async (ctx) => {
      if (!this.handles.has(req.fh)) {
        if (req.nothingLeft) return EMPTY;
        let pending = this.reopening.get(req.fh);
        if (!pending) {
          pending = this.opts.client.open(ROOT_CREDENTIALS, h.nodeid, req.reopenFlags, ctx.signal);
          const done = () => void this.reopening.delete(req.fh);
          pending.then(done, done);
          this.reopening.set(req.fh, pending);
        }
        this.handles.set(req.fh, await pending);
      }
      return run(ctx);
    };
  }

  /** The errno for a failed request: EINTR if interrupted, the FsError's code, else EIO and a log line. */
  private errno(h: InHeader, err: unknown, interrupted: boolean): number {
    if (interrupted) return EINTR;
    if (!(err instanceof FsError)) {
      this.log.error('unexpected error in FUSE handler', {
        op: opcodeName.get(h.opcode),
        nodeid: h.nodeid,
        err: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
    const fsErr = toFsError(err);
    try {
      return errnoNumber(fsErr.code);
    } catch {
      return EIO;
    }
  }

  private context(header: InHeader, signal: AbortSignal): OpContext {
    const session = this;
    return {
      client: this.opts.client,
      header,
      signal,
      timeouts: this.opts.timeouts,
      directIo: this.opts.directIo,
      credentials: (): Promise<Credentials> => session.groups.credentials(header.uid, header.gid, header.pid),
      handle(fh: number): FileHandle {
        const handle = session.handles.get(fh);
        if (!handle) throw new FsError('EBADF', `unknown file handle ${fh}`);
        return handle;
      },
      addHandle: (handle) => void session.handles.set(handle.fh, handle),
      dropHandle: (fh) => void session.handles.delete(fh),
      rememberLookup: (ino) => void session.lookups.set(ino, (session.lookups.get(ino) ?? 0) + 1),
    };
  }

  private onInit(h: InHeader, body: Buffer): void {
    try {
      const result = handleInit(body, this.opts.maxWrite, !this.opts.directIo);
      this.send(h.unique, 0, result.reply);
      if (result.done) {
        this.init = result;
        this.resolveInit(result);
        this.log.info('FUSE session initialized', { minor: result.minor, flags: result.flags.toString(16) });
      }
    } catch (err) {
      this.log.error('FUSE INIT rejected', { err: (err as Error).message });
      this.send(h.unique, -(osConstants.errno.EPROTO ?? EIO));
    }
  }

  /**
   * INTERRUPT: abort the request's signal (its handler then replies EINTR). The INTERRUPT can be
   * read by one loop before another loop's read of the request has reached us; keep it a moment,
   * and if the request never shows up reply EAGAIN so the kernel resends it if still needed.
   */
  private onInterrupt(h: InHeader, body: Buffer): void {
    const target = decodeInterruptIn(body);
    const c = this.inFlight.get(target);
    if (c) {
      c.abort(new FsError('EINTR'));
      return;
    }
    this.earlyInterrupts.hold(target, h.unique);
  }

  private forget(nodeid: number, n: number): void {
    const left = (this.lookups.get(nodeid) ?? 0) - n;
    if (left > 0) this.lookups.set(nodeid, left);
    else {
      this.lookups.delete(nodeid);
      if (left === 0 && !this.opts.adopt) this.opts.onForgotten?.(nodeid);
    }
  }

  /** Writes one reply synchronously (a reply never waits on the file system). False if not delivered. */
  private send(unique: number, error: number, body?: Buffer | Buffer[]): boolean {
    if (this.deviceClosed) return false;
    const parts = body === undefined ? [] : Array.isArray(body) ? body : [body];
    let len = OUT_HEADER_SIZE;
    for (const p of parts) len += p.length;
    const header = encodeOutHeader(len, error, unique);
    try {
      this.device.writeSync([header, ...parts]);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!REPLY_GONE.has(code) && !this.ending) this.log.warn('reply to /dev/fuse failed', { unique, code });
      return false;
    }
  }
}
