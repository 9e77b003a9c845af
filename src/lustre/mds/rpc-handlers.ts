// Binds every MdsMethods RPC to an MDT: argument checks (EINVAL, never a crash), the connect handshake, and dispatch.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, bool, int, optInt, optStr, str } from '../protocol/args.ts';
import type { MdsMethod, MdsMethods } from '../protocol/mds-messages.ts';
import type { CallContext, RpcServer } from '../protocol/rpc-server.ts';
import { type Attr, ROOT_INO } from '../types.ts';
import { getstripe, setstripe } from './attrs.ts';
import { attrsSet, changelogImpls, closed, recording } from './changelog-handlers.ts';
import { type ResentCreate, resentCreate, resentOpen, resentSetattr } from './create-resend.ts';
import { type Attached, type Impl, nil, SESSION_KEY } from './handler-types.ts';
import { extendSize, O_TRUNC, openInode, release, reserveAppend } from './handles.ts';
import { hsmExportImpls } from './hsm-export-batch.ts';
import {
  hsmBeforeOpen,
  hsmBeforeResize,
  hsmImpls,
  hsmOnOpen,
  hsmOnResize,
  hsmOpenReply,
} from './hsm-handlers.ts';
import { checkNotEvicted, lockManager, reconnected } from './ldlm-service.ts';
import { lockHost, lockImpls } from './lock-handlers.ts';
import { base64, changes, cred, ino, name, policy } from './mds-args.ts';
import type { Mdt } from './mdt.ts';
import { attrWithUpdateLock, entriesWithUpdateLocks, touchedBy, withRevocation } from './meta-revoke.ts';
import { clearPunch } from './punches.ts';
import { openGrant, quotaImpls } from './quota-handlers.ts';
import { relatimeOnOpen } from './relatime.ts';
import { mountClient, type ReplyKey, requestReplyKey } from './request-key.ts';
import { squashCred } from './root-squash.ts';
import { noteWriter, writerClosed } from './size-epochs.ts';
import { withSizeOnOsts } from './size-on-osts.ts';
import { reportedEnd } from './size-settle.ts';
import { snapshotImpls } from './snapshot-handlers.ts';
import { withStale } from './stale.ts';
import { getxattr, listxattr, removexattr, setxattr } from './xattrs.ts';

export type { Attached, Impl } from './handler-types.ts';

function attached(ctx: CallContext): Attached {
  const a = ctx.session.data.get(SESSION_KEY) as Attached | undefined;
  if (!a) throw new FsError('ENOTCONN', 'call connect first');
  return a;
}

function xid(a: Args): number {
  return int(a, 'xid');
}

/** Where a mutation's reply is kept: under its `key` when it has one (a resendable kernel request), else its xid. */
function replyKey(a: Args): number | ReplyKey {
  return requestReplyKey(a) ?? xid(a);
}

/** A client id or host: printable, bounded. */
function ident(a: Args, key: string): string {
  const v = str(a, key, 256);
  if (v.length === 0 || [...v].some((ch) => ch.charCodeAt(0) < 0x20))
    throw new FsError('EINVAL', `argument "${key}" must be printable`);
  return v;
}

const impls: { [M in Exclude<MdsMethod, 'connect'>]: Impl<M> } = {
  ...hsmImpls,
  ...hsmExportImpls,
  ...changelogImpls,
  ...snapshotImpls,
  ...lockImpls,
  forgetMount: async (a, c) => ({ replies: await c.mdt.mountReplies.forget(mountClient(a)) }),
  lookup: async (a, c) => {
    const found = await c.mdt.read(() => c.mdt.ns.lookup(cred(a), ino(a, 'parent'), name(a)));
    if (a['lockUpdate'] !== true) return found;
    const m = lockManager(lockHost(c.mdt));
    return attrWithUpdateLock(c.mdt, m, c.client, found.ino, () =>
      c.mdt.read(() => c.mdt.ns.getattr(found.ino)),
    );
  },
  getattr: (a, c) => {
    const i = ino(a);
    if (a['lockUpdate'] === true)
      return attrWithUpdateLock(c.mdt, lockManager(lockHost(c.mdt)), c.client, i, () =>
        c.mdt.read(() => c.mdt.ns.getattr(i)),
      );
    return c.mdt.read(() => withSizeOnOsts(c.mdt.store.db, c.mdt.ns.getattr(i), c.client));
  },
  getLayout: (a, c) => {
    const i = ino(a);
    return c.mdt.read(() => withStale(c.mdt.store.db, i, c.mdt.ns.getLayout(i)));
  },
  markStale: (a, c) => {
    const [i, stripe, ost] = [ino(a), int(a, 'stripe'), int(a, 'ost')];
    return c.mdt.markStale(c, i, stripe, ost);
  },
  readlink: (a, c) => c.mdt.read(() => c.mdt.ns.readlink(ino(a))),
  readdir: (a, c) => {
    const [cr, i, cookie, limit, plus] = [
      cred(a),
      ino(a),
      int(a, 'cookie'),
      int(a, 'limit', { min: 1 }),
      bool(a, 'plus'),
    ];
    const m = a['lockUpdate'] === true && plus ? lockManager(lockHost(c.mdt)) : undefined;
    return c.mdt.read(() => {
      const entries = c.mdt.ns.readdir(cr, i, cookie, limit, plus);
      return m ? entriesWithUpdateLocks(c.mdt, m, c.client, entries) : entries;
    });
  },
  statfs: (a, c) => {
    const i = optInt(a, 'ino', 1);
    return c.mdt.read(() => {
      const project = i === undefined ? undefined : c.mdt.ns.projects.statfsOf(i);
      return { ...c.mdt.ns.statfs(), ...(project && { project }) };
    });
  },
  ...quotaImpls,
  getxattr: (a, c) =>
    c.mdt.read(() => getxattr(c.mdt.ns, cred(a), ino(a), str(a, 'name', 4096)).toString('base64')),
  listxattr: (a, c) => c.mdt.read(() => listxattr(c.mdt.ns, cred(a), ino(a))),
  getstripe: (a, c) => {
    const i = ino(a);
    return c.mdt.read(() => {
      const r = getstripe(c.mdt.ns, i);
      return r.layout ? { ...r, layout: withStale(c.mdt.store.db, i, r.layout) ?? r.layout } : r;
    });
  },
  setattr: async (a, c) => {
    const [i, ch] = [ino(a), changes(a)];
    if (ch.size !== undefined && ch.size > 0) await hsmBeforeResize(c, i);
    if (ch.size !== undefined) await c.mdt.finishPendingPunch(i);
    // A resend's size change is done: its punch, if pending, was finished just above.
    return c.mdt.mutate(
      c,
      replyKey(a),
      cred(a),
      (op): Attr & { resent?: true } => {
        const attr = c.mdt.ns.setattr(op, i, ch);
        if (ch.size !== undefined) hsmOnResize(c, i, ch.size);
        attrsSet(c, i, ch);
        return attr;
      },
      (first) => resentSetattr(c.mdt.ns, i, first),
    );
  },
  create: (a, c) => {
    const [p, n, mode, excl, open, flags] = [
      ino(a, 'parent'),
      name(a),
      int(a, 'mode'),
      bool(a, 'exclusive'),
      bool(a, 'open'),
      int(a, 'flags'),
    ];
    return c.mdt
      .mutate(
        c,
        replyKey(a),
        cred(a),
        (op) =>
          recording(c, 'CREAT', p, n, () => {
            const r = c.mdt.ns.create(op, p, n, mode, excl, open, flags);
            if (r.handle !== null && (flags & 3) !== 0)
              noteWriter(c.mdt.store.db, r.attr.ino, c.client, r.created);
            return r;
          }),
        (first, op) => resentCreate(c.mdt.ns, op, first, flags),
      )
      .then(async ({ punch, ...r }: ResentCreate) => {
        // A resend's cut still pending is finished here, as an open's: the resending daemon's own
        // cut would be ordered against no data lock (a create takes none) and could cut a later write.
        if (punch !== undefined) await c.mdt.finishPendingPunch(r.attr.ino);
        return {
          ...r,
          layout: withStale(c.mdt.store.db, r.attr.ino, r.layout) ?? r.layout,
          ...openGrant(c, r.attr.ino),
        };
      });
  },
  mknod: (a, c) => {
    const [p, n, mode, rdev] = [ino(a, 'parent'), name(a), int(a, 'mode'), int(a, 'rdev')];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) =>
      recording(c, 'CREAT', p, n, () => c.mdt.ns.mknod(op, p, n, mode, rdev)),
    );
  },
  mkdir: (a, c) => {
    const [p, n, mode] = [ino(a, 'parent'), name(a), int(a, 'mode')];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) =>
      recording(c, 'CREAT', p, n, () => c.mdt.ns.mkdir(op, p, n, mode)),
    );
  },
  unlink: (a, c) => {
    const [p, n] = [ino(a, 'parent'), name(a)];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) =>
      nil(recording(c, 'UNLNK', p, n, () => c.mdt.ns.unlink(op, p, n))),
    );
  },
  rmdir: (a, c) => {
    const [p, n] = [ino(a, 'parent'), name(a)];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) =>
      nil(recording(c, 'RMDIR', p, n, () => c.mdt.ns.rmdir(op, p, n))),
    );
  },
  rename: (a, c) => {
    const [p, n, np, nn, flags] = [
      ino(a, 'parent'),
      name(a),
      ino(a, 'newParent'),
      name(a, 'newName'),
      int(a, 'flags'),
    ];
    const old = { oldParent: p, oldName: n };
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) =>
      nil(recording(c, 'RENME', np, nn, () => c.mdt.ns.rename(op, p, n, np, nn, flags), old)),
    );
  },
  link: (a, c) => {
    const [i, np, nn] = [ino(a), ino(a, 'newParent'), name(a, 'newName')];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) => c.mdt.ns.link(op, i, np, nn));
  },
  symlink: (a, c) => {
    const [p, n, t] = [ino(a, 'parent'), name(a), str(a, 'target', 16_384)];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) =>
      recording(c, 'CREAT', p, n, () => c.mdt.ns.symlink(op, p, n, t)),
    );
  },
  open: async (a, c) => {
    const [i, flags] = [ino(a), int(a, 'flags')];
    await hsmBeforeOpen(c, i, flags);
    // A cut still pending is finished here (EIO if it cannot be), not handed to the opener: its cut
    // would not be ordered against the PW grants (pw-grant.ts) and could cut a later write.
    if ((flags & O_TRUNC) === 0) await c.mdt.finishPendingPunch(i);
    return c.mdt
      .mutate(
        c,
        replyKey(a),
        cred(a),
        (op) => {
          const r = openInode(c.mdt.ns, op, i, flags);
          hsmOnOpen(c, i, flags);
          relatimeOnOpen(c, i, flags);
          return r;
        },
        (first, op) => resentOpen(c.mdt.ns, op, first, flags),
      )
      .then((r) => ({
        ...r,
        layout: withStale(c.mdt.store.db, i, r.layout),
        ...openGrant(c, i),
        ...hsmOpenReply(c, i, flags),
      }));
  },
  release: async (a, c) => {
    const [h, end] = [int(a, 'handle', { min: 1 }), optInt(a, 'end')];
    const db = c.mdt.store.db;
    const mine = c.mdt.store.getHandle(h);
    const settled =
      end !== undefined && mine?.client === c.client
        ? await c.mdt.settleReport(mine.ino, c.client)
        : undefined;
    return c.mdt.mutate(c, xid(a), undefined, (op) => {
      const row = c.mdt.store.getHandle(h);
      if (row && row.client === c.client && end !== undefined && settled)
        extendSize(c.mdt.ns, op, row.ino, reportedEnd(db, row.ino, c.client, end, settled));
      closed(c, h);
      release(c.mdt.ns, op, h);
      if (row) writerClosed(db, row.ino, c.client);
      return null;
    });
  },
  extendSize: async (a, c) => {
    const [i, end] = [ino(a), int(a, 'end')];
    const settled = await c.mdt.settleReport(i, c.client);
    return c.mdt.mutate(c, undefined, undefined, (op) =>
      withSizeOnOsts(
        c.mdt.store.db,
        extendSize(c.mdt.ns, op, i, reportedEnd(c.mdt.store.db, i, c.client, end, settled)),
        c.client,
      ),
    );
  },
  punched: (a, c) => {
    const [i, size] = [ino(a), int(a, 'size')];
    return c.mdt.mutate(c, undefined, undefined, () => nil(clearPunch(c.mdt.store.db, i, size)));
  },
  reserveAppend: async (a, c) => {
    const [i, length] = [ino(a), int(a, 'length', { min: 1 })];
    await c.mdt.finishPendingPunch(i);
    return c.mdt.mutate(c, replyKey(a), undefined, (op) => reserveAppend(c.mdt.ns, op, i, length));
  },
  setxattr: (a, c) => {
    const [i, n, v, flags] = [ino(a), str(a, 'name', 4096), base64(a, 'value', 1 << 20), int(a, 'flags')];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) => nil(setxattr(c.mdt.ns, op, i, n, v, flags)));
  },
  removexattr: (a, c) => {
    const [i, n] = [ino(a), str(a, 'name', 4096)];
    return c.mdt.mutate(c, replyKey(a), cred(a), (op) => nil(removexattr(c.mdt.ns, op, i, n)));
  },
  setstripe: (a, c) => {
    const [i, p] = [ino(a), policy(a)];
    return c.mdt.mutate(c, xid(a), cred(a), (op) => nil(setstripe(c.mdt.ns, op, i, p)));
  },
};

/**
 * Registers the MDS methods on `server`. `pick` chooses the MDT a connecting client gets from the
 * connect arguments (`fsname`, already checked to be absent or a string) and throws to refuse.
 * `connect` must come first on every session (else ENOTCONN); a second connect on the same
 * session must name the same client and MDT (else EINVAL). `beforeAttach` runs before a new
 * session is attached (the MDS refreshes per-file-system settings such as root squash there).
 */
export function bindMdsHandlers(
  server: RpcServer,
  pick: (a: Args) => Mdt,
  beforeAttach?: (mdt: Mdt) => Promise<void>,
): void {
  server.handle('connect', async (raw, _payload, ctx): Promise<MdsMethods['connect']['result']> => {
    const a = asArgs(raw);
    const [client, host] = [ident(a, 'clientId'), ident(a, 'host')];
    optStr(a, 'fsname', 256);
    const prev = ctx.session.data.get(SESSION_KEY) as Attached | undefined;
    if (prev && prev.client !== client) throw new FsError('EINVAL', 'a session cannot change its clientId');
    const mdt = pick(a);
    if (prev && prev.mdt !== mdt) throw new FsError('EINVAL', 'a session cannot change its file system');
    if (!prev) await beforeAttach?.(mdt);
    const attachedTo: Attached = { mdt, client, host, session: ctx.session };
    ctx.session.data.set(SESSION_KEY, attachedTo);
    reconnected(lockHost(mdt), client);
    if (prev)
      return { rootIno: ROOT_INO, fsname: mdt.fsname, graceMs: mdt.graceMs, lockGraceMs: mdt.lockGraceMs };
    return mdt.connect(ctx.session, client, host);
  });
  for (const [method, impl] of Object.entries(impls) as [string, Impl<MdsMethod>][]) {
    server.handle(method, (raw, _payload, ctx) => {
      const caller = attached(ctx);
      checkNotEvicted(lockHost(caller.mdt), caller.client);
      const args = squashCred(asArgs(raw), caller.mdt, ctx.session.remote);
      const touches = touchedBy(method, args, caller.mdt);
      if (touches.length === 0) return impl(args, caller, ctx.signal);
      const m = lockManager(lockHost(caller.mdt));
      return withRevocation(m, caller.client, touches, () => impl(args, caller, ctx.signal));
    });
  }
}
