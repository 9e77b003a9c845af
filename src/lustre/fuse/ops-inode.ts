// FUSE requests about names and inodes (lookup, attributes, namespace changes, xattrs, statfs) → FileSystemClient calls.
import { FsError } from '../../lib/errors.ts';
import { type Attr, targetToBytes } from '../types.ts';
import {
  decodeAccessIn,
  decodeGetattrIn,
  decodeGetxattrIn,
  decodeLinkIn,
  decodeListxattrIn,
  decodeMkdirIn,
  decodeMknodIn,
  decodeNameIn,
  decodeRenameIn,
  decodeSetattrIn,
  decodeSetxattrIn,
  decodeSymlinkIn,
} from './codec-in.ts';
import {
  encodeAttrOut,
  encodeEntryOut,
  encodeStatfsOut,
  encodeXattrList,
  encodeXattrSizeOut,
} from './codec-out.ts';
import type { Op, OpContext, Reply } from './op-types.ts';
import { EMPTY, entryReply, kernelRequest } from './op-types.ts';
import { staleIfGone } from './ops-file.ts';
import { Opcode } from './protocol.ts';

function entry(ctx: OpContext, attr: Attr): Reply {
  return entryReply(ctx, attr, encodeEntryOut(attr, ctx.timeouts));
}

/** GETXATTR and LISTXATTR: a size-0 probe gets the size; a too-small buffer gets ERANGE. */
function sized(value: Buffer, size: number): Reply {
  if (size === 0) return { body: encodeXattrSizeOut(value.length) };
  if (value.length > size) throw new FsError('ERANGE');
  return { body: value };
}

const lookup: Op = (h, body) => {
  const name = decodeNameIn(body);
  return async (ctx) =>
    entry(ctx, await ctx.client.lookup(await ctx.credentials(), h.nodeid, name, ctx.signal));
};

const getattr: Op = (h, body) => {
  decodeGetattrIn(body);
  return async (ctx) => ({
    body: encodeAttrOut(await ctx.client.getattr(h.nodeid, ctx.signal).catch(staleIfGone), ctx.timeouts),
  });
};

const setattr: Op = (h, body) => {
  const { changes, fh } = decodeSetattrIn(body);
  // Through an open file (ftruncate): the client checks the handle, the MDS its access mode.
  if (fh !== undefined) changes.fh = fh;
  return async (ctx) => {
    if (fh !== undefined) ctx.handle(fh);
    const attr = await ctx.client.setattr(
      await ctx.credentials(),
      h.nodeid,
      changes,
      ctx.signal,
      kernelRequest(h),
    );
    return { body: encodeAttrOut(attr, ctx.timeouts) };
  };
};

const readlink: Op = (h) => async (ctx) => ({
  body: targetToBytes(await ctx.client.readlink(h.nodeid, ctx.signal)),
});

const symlink: Op = (h, body) => {
  const { name, target } = decodeSymlinkIn(body);
  return async (ctx) =>
    entry(
      ctx,
      await ctx.client.symlink(await ctx.credentials(), h.nodeid, name, target, ctx.signal, kernelRequest(h)),
    );
};

const mknod: Op = (h, body) => {
  const { mode, rdev, name } = decodeMknodIn(body);
  return async (ctx) =>
    entry(
      ctx,
      await ctx.client.mknod(
        await ctx.credentials(),
        h.nodeid,
        name,
        mode,
        rdev,
        ctx.signal,
        kernelRequest(h),
      ),
    );
};

const mkdir: Op = (h, body) => {
  const { mode, name } = decodeMkdirIn(body);
  return async (ctx) =>
    entry(
      ctx,
      await ctx.client.mkdir(await ctx.credentials(), h.nodeid, name, mode, ctx.signal, kernelRequest(h)),
    );
};

const unlink: Op = (h, body) => {
  const name = decodeNameIn(body);
  return async (ctx) => {
    await ctx.client.unlink(await ctx.credentials(), h.nodeid, name, ctx.signal, kernelRequest(h));
    return EMPTY;
  };
};

const rmdir: Op = (h, body) => {
  const name = decodeNameIn(body);
  return async (ctx) => {
    await ctx.client.rmdir(await ctx.credentials(), h.nodeid, name, ctx.signal, kernelRequest(h));
    return EMPTY;
  };
};

function rename(withFlags: boolean): Op {
  return (h, body) => {
    const r = decodeRenameIn(body, withFlags);
    return async (ctx) => {
      const cred = await ctx.credentials();
      const opts = kernelRequest(h);
      await ctx.client.rename(cred, h.nodeid, r.name, r.newParent, r.newName, r.flags, ctx.signal, opts);
      return EMPTY;
    };
  };
}

const link: Op = (h, body) => {
  const { oldNodeid, newName } = decodeLinkIn(body);
  return async (ctx) =>
    entry(
      ctx,
      await ctx.client.link(
        await ctx.credentials(),
        oldNodeid,
        h.nodeid,
        newName,
        ctx.signal,
        kernelRequest(h),
      ),
    );
};

/** The kernel names the inode df asked about: a directory under a project quota reports the quota. */
const statfs: Op = (h) => async (ctx) => ({
  body: encodeStatfsOut(await ctx.client.statfs(ctx.signal, h.nodeid)),
});

/**
 * ACCESS is only sent without default_permissions (we always mount with it, so the kernel checks
 * mode bits itself); answer whether the inode exists rather than duplicate the permission logic here.
 */
const access: Op = (h, body) => {
  decodeAccessIn(body);
  return async (ctx) => {
    await ctx.client.getattr(h.nodeid, ctx.signal);
    return EMPTY;
  };
};

const setxattr: Op = (h, body) => {
  const { name, value, flags } = decodeSetxattrIn(body);
  return async (ctx) => {
    const cred = await ctx.credentials();
    await ctx.client.setxattr(cred, h.nodeid, name, value, flags, ctx.signal, kernelRequest(h));
    return EMPTY;
  };
};

const getxattr: Op = (h, body) => {
  const { name, size } = decodeGetxattrIn(body);
  return async (ctx) =>
    sized(await ctx.client.getxattr(await ctx.credentials(), h.nodeid, name, ctx.signal), size);
};

const listxattr: Op = (h, body) => {
  const { size } = decodeListxattrIn(body);
  return async (ctx) =>
    sized(encodeXattrList(await ctx.client.listxattr(await ctx.credentials(), h.nodeid, ctx.signal)), size);
};

const removexattr: Op = (h, body) => {
  const name = decodeNameIn(body);
  return async (ctx) => {
    await ctx.client.removexattr(await ctx.credentials(), h.nodeid, name, ctx.signal, kernelRequest(h));
    return EMPTY;
  };
};

export const inodeOps: ReadonlyArray<readonly [number, Op]> = [
  [Opcode.LOOKUP, lookup],
  [Opcode.GETATTR, getattr],
  [Opcode.SETATTR, setattr],
  [Opcode.READLINK, readlink],
  [Opcode.SYMLINK, symlink],
  [Opcode.MKNOD, mknod],
  [Opcode.MKDIR, mkdir],
  [Opcode.UNLINK, unlink],
  [Opcode.RMDIR, rmdir],
  [Opcode.RENAME, rename(false)],
  [Opcode.RENAME2, rename(true)],
  [Opcode.LINK, link],
  [Opcode.STATFS, statfs],
  [Opcode.ACCESS, access],
  [Opcode.SETXATTR, setxattr],
  [Opcode.GETXATTR, getxattr],
  [Opcode.LISTXATTR, listxattr],
  [Opcode.REMOVEXATTR, removexattr],
];
