// Unit tests of the FUSE session against a fake device: dispatch, errors, interrupts, forgets, hand-over, shutdown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryClient } from '../../../test/lustre/memory-client.ts';
import { errnoNumber, FsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { type Credentials, type FileHandle, ROOT_CREDENTIALS, ROOT_INO } from '../types.ts';
import type { FuseDevice } from './device.ts';
import { Opcode } from './protocol.ts';
import { FuseSession } from './session.ts';

type Done = (err: NodeJS.ErrnoException | null, n: number) => void;

/** A /dev/fuse stand-in: the test pushes requests, the session's replies are collected. */
class FakeDevice implements FuseDevice {
  readonly replies: Buffer[] = [];
  readonly notifications: Buffer[] = [];
  closed = false;
  /** When set, the next reply write fails with this errno code. */
  failNextReply: string | undefined;
  private readonly queue: Buffer[] = [];
  private readonly readers: Array<{ buf: Buffer; done: Done }> = [];
  private ended = false;

  /** How many of the session's read loops wait for a request. */
  get waitingReaders(): number {
    return this.readers.length;
  }

  push(req: Buffer): void {
    const reader = this.readers.shift();
    if (reader) setImmediate(() => this.deliver(reader.buf, reader.done, req));
    else this.queue.push(req);
  }

  /** The kernel ended the connection: every read fails with ENODEV. */
  end(): void {
    this.ended = true;
    for (const r of this.readers.splice(0))
      setImmediate(() => r.done(Object.assign(new Error('ENODEV'), { code: 'ENODEV' }), 0));
  }

  read(buf: Buffer, done: Done): void {
    const req = this.queue.shift();
    if (req) setImmediate(() => this.deliver(buf, done, req));
    else if (this.ended) setImmediate(() => done(Object.assign(new Error('ENODEV'), { code: 'ENODEV' }), 0));
    else this.readers.push({ buf, done });
  }

  private deliver(buf: Buffer, done: Done, req: Buffer): void {
    req.copy(buf);
    done(null, req.length);
  }

  writeSync(parts: readonly Buffer[]): void {
    if (this.failNextReply) {
      const code = this.failNextReply;
      this.failNextReply = undefined;
      throw Object.assign(new Error(code), { code });
    }
    this.replies.push(Buffer.concat(parts));
  }

  write(msg: Buffer, done: (err: NodeJS.ErrnoException | null) => void): void {
    this.notifications.push(msg);
    setImmediate(() => done(null));
  }

  close(done: () => void): void {
    this.closed = true;
    setImmediate(done);
  }

  /** Waits for the reply to request `unique`: its error (negative errno or 0) and body. */
  async reply(unique: number, timeoutMs = 2000): Promise<{ error: number; body: Buffer }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.find((b) => Number(b.readBigUInt64LE(8)) === unique);
      if (r) return { error: r.readInt32LE(4), body: r.subarray(16) };
      if (Date.now() > deadline) throw new Error(`no reply to ${unique}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

function request(opcode: number, unique: number, nodeid: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32LE(40 + body.length, 0);
  h.writeUInt32LE(opcode, 4);
  h.writeBigUInt64LE(BigInt(unique), 8);
  h.writeBigUInt64LE(BigInt(nodeid), 16);
  return Buffer.concat([h, body]);
}

const name = (s: string) => Buffer.from(`${s}\0`);
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

function start(client: MemoryClient): { device: FakeDevice; session: FuseSession } {
  const device = new FakeDevice();
  const session = new FuseSession(device, {
    client,
    readers: 2,
    directIo: true,
    timeouts: { entryMs: 0, attrMs: 0 },
    maxWrite: 1 << 20,
    log: logger('fuse-test'),
    interruptGraceMs: 20,
  });
  session.start();
  const init = Buffer.alloc(64);
  init.writeUInt32LE(7, 0);
  init.writeUInt32LE(39, 4);
  device.push(request(Opcode.INIT, 1, 0, init));
  return { device, session };
}

/** A client whose GETATTR waits until its signal aborts, to test interrupts. */
class WaitingClient extends MemoryClient {
  aborted = 0;
  override async getattr(ino: number, signal?: AbortSignal) {
    if (ino === ROOT_INO) return super.getattr(ino);
    if (!signal?.aborted) {
      await new Promise<void>((resolve) =>
        signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    this.aborted++;
    throw new FsError('EINTR');
  }
}

describe('FuseSession', () => {
  it('answers INIT, counts lookups and forgets them', async () => {
    const client = new MemoryClient();
    await client.mkdir(ROOT_CREDENTIALS, ROOT_INO, 'd', 0o755);
    const { device, session } = start(client);
    assert.equal((await device.reply(1)).error, 0);
    device.push(request(Opcode.LOOKUP, 2, ROOT_INO, name('d')));
    const entry = await device.reply(2);
    assert.equal(entry.error, 0);
    const ino = Number(entry.body.readBigUInt64LE(0));
    device.push(request(Opcode.LOOKUP, 4, ROOT_INO, name('d')));
    await device.reply(4);
    assert.equal(session.stats().knownInodes, 1);
    device.push(request(Opcode.FORGET, 6, ino, u64(2)));
    device.push(request(Opcode.GETATTR, 8, ROOT_INO, Buffer.alloc(16)));
    await device.reply(8);
    assert.equal(session.stats().knownInodes, 0);
    device.end();
    await session.closed;
  });

  it('answers ENOSYS, EINVAL, ENOENT and EIO, survives malformed no-reply requests', async () => {
    class Buggy extends MemoryClient {
      override async lookup(cred: Credentials, parent: number, n: string) {
        if (n === 'bug') throw new TypeError('bug');
        return super.lookup(cred, parent, n);
      }
    }
    const { device, session } = start(new Buggy());
    device.push(request(999, 2, ROOT_INO));
    assert.equal((await device.reply(2)).error, -errnoNumber('ENOSYS'));
    device.push(request(Opcode.FORGET, 4, 5, Buffer.alloc(3))); // too short: no reply, no crash
    device.push(request(Opcode.LOOKUP, 6, ROOT_INO, Buffer.from('unterminated')));
    assert.equal((await device.reply(6)).error, -errnoNumber('EINVAL'));
    device.push(request(Opcode.LOOKUP, 8, ROOT_INO, name('missing')));
    assert.equal((await device.reply(8)).error, -errnoNumber('ENOENT'));
    device.push(request(Opcode.LOOKUP, 10, ROOT_INO, name('bug')));
    assert.equal((await device.reply(10)).error, -errnoNumber('EIO'));
    assert.equal(
      device.replies.some((r) => Number(r.readBigUInt64LE(8)) === 4),
      false,
    );
    device.end();
    await session.closed;
  });

  it('interrupts a request in flight, or one whose INTERRUPT was read first, with EINTR', async () => {
    const client = new WaitingClient();
    const file = await client.mknod(ROOT_CREDENTIALS, ROOT_INO, 'f', 0o100644, 0);
    const { device, session } = start(client);
    device.push(request(Opcode.GETATTR, 10, file.ino, Buffer.alloc(16)));
    await waitFor('GETATTR 10 in flight', () => session.stats().inFlight === 1);
    device.push(request(Opcode.INTERRUPT, 11, 0, u64(10)));
    assert.equal((await device.reply(10)).error, -errnoNumber('EINTR'));
    // Both loops waiting: the INTERRUPT and then its request are read in the same turn of the event
    // loop, so no stall of this process can let the 20 ms grace run out between them.
    await waitFor('both read loops waiting', () => device.waitingReaders === 2);
    device.push(request(Opcode.INTERRUPT, 13, 0, u64(12)));
    device.push(request(Opcode.GETATTR, 12, file.ino, Buffer.alloc(16)));
    assert.equal((await device.reply(12)).error, -errnoNumber('EINTR'));
    assert.equal(client.aborted, 1, 'the client never saw the request interrupted before it started');
    device.push(request(Opcode.INTERRUPT, 15, 0, u64(14))); // its request never comes: resend later
    assert.equal((await device.reply(15)).error, -errnoNumber('EAGAIN'));
    device.end();
    await session.closed;
  });

  it('releases a handle whose CREATE reply the kernel no longer wanted', async () => {
    const released: FileHandle[] = [];
    class Recording extends MemoryClient {
      override async release(h: FileHandle) {
        released.push(h);
        return super.release(h);
      }
    }
    const { device, session } = start(new Recording());
    await device.reply(1);
    device.failNextReply = 'ENOENT';
    const create = Buffer.concat([Buffer.alloc(16), name('new')]);
    create.writeUInt32LE(0o100644, 4);
    device.push(request(Opcode.CREATE, 2, ROOT_INO, create));
    await waitFor('the unwanted handle released', () => released.length === 1);
    assert.equal(released.length, 1);
    assert.equal(session.stats().openHandles, 0);
    assert.equal(session.stats().knownInodes, 0);
    device.end();
    await session.closed;
  });

  it('hands the WRITE buffer to the client: later requests do not overwrite its data', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class Slow extends MemoryClient {
      override async write(h: FileHandle, off: number, data: Buffer) {
        await gate;
        seen.push(data.toString());
        return super.write(h, off, data);
      }
    }
    const client = new Slow();
    const { attr } = await client.create(ROOT_CREDENTIALS, ROOT_INO, 'w', 0o644, 2);
    const { device, session } = start(client);
    device.push(request(Opcode.OPEN, 2, attr.ino, Buffer.from([2, 0, 0, 0, 0, 0, 0, 0])));
    const fh = Number((await device.reply(2)).body.readBigUInt64LE(0));
    for (const [unique, text] of [
      [4, 'first'],
      [6, 'second'],
      [8, 'third!'],
    ] as const) {
      const w = Buffer.alloc(40 + text.length);
      w.writeBigUInt64LE(BigInt(fh), 0);
      w.writeUInt32LE(text.length, 16);
      w.write(text, 40);
      device.push(request(Opcode.WRITE, unique, attr.ino, w));
    }
    await waitFor('three WRITEs in flight', () => session.stats().inFlight === 3);
    release();
    for (const u of [4, 6, 8]) assert.equal((await device.reply(u)).error, 0);
    assert.deepEqual(seen.sort(), ['first', 'second', 'third!']);
    device.end();
    await session.closed;
  });

  it('ends on ENODEV: aborts what is in flight and closes the device', async () => {
    const client = new WaitingClient();
    const file = await client.mknod(ROOT_CREDENTIALS, ROOT_INO, 'f', 0o100644, 0);
    const { device, session } = start(client);
    device.push(request(Opcode.GETATTR, 2, file.ino, Buffer.alloc(16)));
    await waitFor('GETATTR 2 in flight', () => session.stats().inFlight === 1);
    device.end();
    await session.closed;
    assert.equal(device.closed, true);
    assert.equal(client.aborted, 1);
  });

  it('sends invalidations only for inodes the kernel knows', async () => {
    const client = new MemoryClient();
    const a = await client.mkdir(ROOT_CREDENTIALS, ROOT_INO, 'a', 0o755);
    const { device, session } = start(client);
    await device.reply(1);
    session.invalidate({ kind: 'inode', ino: a.ino }); // never looked up: nothing cached
    session.invalidate({ kind: 'entry', parent: ROOT_INO, name: 'a' });
    device.push(request(Opcode.LOOKUP, 2, ROOT_INO, name('a')));
    await device.reply(2);
    session.invalidate({ kind: 'inode', ino: a.ino });
    await waitFor('two invalidations sent', () => device.notifications.length >= 2);
    assert.deepEqual(
      device.notifications.map((n) => n.readInt32LE(4)),
      [3, 2],
    );
    device.end();
    await session.closed;
  });
});
