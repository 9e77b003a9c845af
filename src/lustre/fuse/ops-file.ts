// FUSE requests on open files and directories (open, I/O, sync, readdir, locks, fallocate) → FileSystemClient calls.
import { FsError } from '../../lib/errors.ts';
import type { Attr, FileHandle } from '../types.ts';
import {
  decodeCreateIn,
  decodeFallocateIn,
  decodeFlushIn,
  decodeFsyncIn,
  decodeLkIn,
  decodeOpenIn,
  decodeReadIn,
  decodeReleaseIn,
  decodeWriteIn,
} from './codec-in.ts';
import { encodeCreateOut, encodeDirents, encodeLkOut, encodeOpenOut, encodeWriteOut } from './codec-out.ts';
import type { Op, OpContext, Reply } from './op-types.ts';
import { EMPTY, kernelRequest } from './op-types.ts';
import {
  FOPEN_DIRECT_IO,
  FOPEN_KEEP_CACHE,
  FUSE_FSYNC_FDATASYNC,
  FUSE_LK_FLOCK,
  FUSE_OPEN_KILL_SUIDGID,
  FUSE_WRITE_CACHE,
  FUSE_WRITE_KILL_SUIDGID,
  Opcode,
} from './protocol.ts';

/** Smallest fuse_dirent and fuse_direntplus records (a name of up to 8 bytes): sizes the client's batch. */
const MIN_DIRENT = 32;
const MIN_DIRENTPLUS = 160;

/** open(2)'s O_APPEND: such writes land at the end another client may have moved, which the page cache cannot know. */
const O_APPEND = 0o2000;
const O_ACCMODE = 0o3;
const O_RDONLY = 0;

/**
 * FOPEN flags of a new handle. An uncached mount: direct I/O. A caching mount: the kernel keeps
 * the pages it has, which exist only under the client's data locks (see client/data-locks.ts), so
 * they are current; handles open for writing (and O_APPEND ones) do direct I/O, so a write never
 * waits for its lock while the kernel holds its pages locked (which a revocation's invalidation
 * would wait for) and is written through at once.
 */
function openFlags(ctx: OpContext, flags: number): number {
  if (ctx.directIo) return FOPEN_DIRECT_IO;
  const readOnly = (flags & O_ACCMODE) === O_RDONLY && (flags & O_APPEND) === 0;
  return readOnly ? FOPEN_KEEP_CACHE : FOPEN_DIRECT_IO | FOPEN_KEEP_CACHE;
}

/**
 * The kernel looked a name up and then asks about its inode, which another client has destroyed
 * meanwhile (a rename replaced the name): ESTALE makes it walk the path again (LOOKUP_REVAL) and
 * find the name's new inode, where ENOENT would fail the open or stat of a name that exists.
 */
export function staleIfGone(err: unknown): never {
  if (err instanceof FsError && err.code === 'ENOENT') {
    throw new FsError('ESTALE', `the inode is gone (${err.message})`, { cause: err });
  }
  throw err;
}

/** Releases a handle the kernel never learnt about (its open reply could not be delivered). */
function releaseUnsent(ctx: OpContext, handle: FileHandle): () => void {
  return () => {
    ctx.dropHandle(handle.fh);
    ctx.client.release(handle).catch(() => {
      // Nobody to report to: the open already failed from the kernel's point of view.
    });
  };
}

const open: Op = (h, body) => {
  const { flags, openFlags: fuseFlags } = decodeOpenIn(body);
  return async (ctx) => {
    const cred = await ctx.credentials();
    const handle = await ctx.client
      .open(cred, h.nodeid, flags, ctx.signal, kernelRequest(h))
      .catch(staleIfGone);
    if (fuseFlags & FUSE_OPEN_KILL_SUIDGID && ctx.client.killSetId) {
      try {
        await ctx.client.killSetId(cred, handle, ctx.signal);
      } catch (err) {
        releaseUnsent(ctx, handle)();
        throw err;
      }
    }
    ctx.addHandle(handle);
    return { body: encodeOpenOut(handle.fh, openFlags(ctx, flags)), onUnsent: releaseUnsent(ctx, handle) };
  };
};

const create: Op = (h, body) => {
  const { flags, mode, name } = decodeCreateIn(body);
  return async (ctx) => {
    const cred = await ctx.credentials();
    const { attr, handle } = await ctx.client.create(
      cred,
      h.nodeid,
      name,
      mode,
      flags,
      ctx.signal,
      kernelRequest(h),
    );
    ctx.addHandle(handle);
    return {
      body: encodeCreateOut(attr, ctx.timeouts, handle.fh, openFlags(ctx, flags)),
      onSent: () => ctx.rememberLookup(attr.ino),
      onUnsent: releaseUnsent(ctx, handle),
    };
  };
};

const read: Op = (_h, body) => {
  const { fh, offset, size } = decodeReadIn(body);
  return async (ctx) => ({ body: await ctx.client.read(ctx.handle(fh), offset, size, ctx.signal) });
};

const write: Op = (h, body) => {
  const { fh, offset, writeFlags, data } = decodeWriteIn(body);
  return async (ctx) => {
    const handle = ctx.handle(fh);
    // The writer lacks CAP_FSETID: set-ID bits go before the data lands, as in Linux's write path.
    if (writeFlags & FUSE_WRITE_KILL_SUIDGID && ctx.client.killSetId) {
      await ctx.client.killSetId(await ctx.credentials(), handle, ctx.signal);
    }
    const fromPageCache = (writeFlags & FUSE_WRITE_CACHE) !== 0;
    const n = await ctx.client.write(handle, offset, data, ctx.signal, {
      fromPageCache,
      ...kernelRequest(h),
    });
    return { body: encodeWriteOut(n) };
  };
};

const flush: Op = (_h, body) => {
  const { fh, lockOwner } = decodeFlushIn(body);
  return async (ctx) => {
    await ctx.client.flush(ctx.handle(fh), lockOwner, ctx.signal);
    return EMPTY;
  };
};

const release: Op = (_h, body) => {
  const { fh } = decodeReleaseIn(body);
  return async (ctx) => {
    const handle = ctx.handle(fh);
    try {
      await ctx.client.release(handle, ctx.signal);
    } finally {
      ctx.dropHandle(fh);
    }
    return EMPTY;
  };
};

const fsync: Op = (_h, body) => {
  const { fh, fsyncFlags } = decodeFsyncIn(body);
  return async (ctx) => {
    await ctx.client.fsync(ctx.handle(fh), (fsyncFlags & FUSE_FSYNC_FDATASYNC) !== 0, ctx.signal);
    return EMPTY;
  };
};

/** Directories have no client-side open state: listing is by inode and cookie. */
const opendir: Op = () => async () => ({ body: encodeOpenOut(0, 0) });
const releasedir: Op = () => async () => EMPTY;
/** Namespace changes are durable when the client acknowledges them; nothing more to sync. */
const fsyncdir: Op = () => async () => EMPTY;

function isDot(name: string): boolean {
  return name === '.' || name === '..';
}

function readdir(plus: boolean): Op {
  return (h, body) => {
    const { offset, size } = decodeReadIn(body);
    return async (ctx) => {
      const limit = Math.max(1, Math.floor(size / (plus ? MIN_DIRENTPLUS : MIN_DIRENT)));
      const cred = await ctx.credentials();
      const entries = await ctx.client.readdir(cred, h.nodeid, offset, limit, plus, ctx.signal);
      const { buf, count } = encodeDirents(entries, size, plus, ctx.timeouts);
      if (!plus) return { body: buf };
      // The kernel takes a lookup reference for every entry it links, except "." and "..".
      const linked: Attr[] = [];
      for (const e of entries.slice(0, count)) if (e.attr && !isDot(e.name)) linked.push(e.attr);
      const onSent = () => {
        for (const a of linked) ctx.rememberLookup(a.ino);
      };
      return { body: buf, onSent };
    };
  };
}

const getlk: Op = (_h, body) => {
  const { fh, owner, lock } = decodeLkIn(body);
  return async (ctx) => ({
    body: encodeLkOut(await ctx.client.getlk(ctx.handle(fh), owner, lock, ctx.signal)),
  });
};

/** SETLK / SETLKW; with FUSE_LK_FLOCK the request is a flock(2) on the open file description. */
function setlk(wait: boolean): Op {
  return (_h, body) => {
    const { fh, owner, lock, lkFlags } = decodeLkIn(body);
    return async (ctx): Promise<Reply> => {
      const handle = ctx.handle(fh);
      if (lkFlags & FUSE_LK_FLOCK) await ctx.client.flock(handle, owner, lock.type, wait, ctx.signal);
      else await ctx.client.setlk(handle, owner, lock, wait, ctx.signal);
      return EMPTY;
    };
  };
}

const fallocate: Op = (_h, body) => {
  const { fh, offset, length, mode } = decodeFallocateIn(body);
  return async (ctx) => {
    await ctx.client.fallocate(ctx.handle(fh), mode, offset, length, ctx.signal);
    return EMPTY;
  };
};

export const fileOps: ReadonlyArray<readonly [number, Op]> = [
  [Opcode.OPEN, open],
  [Opcode.CREATE, create],
  [Opcode.READ, read],
  [Opcode.WRITE, write],
  [Opcode.FLUSH, flush],
  [Opcode.RELEASE, release],
  [Opcode.FSYNC, fsync],
  [Opcode.OPENDIR, opendir],
  [Opcode.READDIR, readdir(false)],
  [Opcode.READDIRPLUS, readdir(true)],
  [Opcode.RELEASEDIR, releasedir],
  [Opcode.FSYNCDIR, fsyncdir],
  [Opcode.GETLK, getlk],
  [Opcode.SETLK, setlk(false)],
  [Opcode.SETLKW, setlk(true)],
  [Opcode.FALLOCATE, fallocate],
];
