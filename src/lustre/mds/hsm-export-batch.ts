// The batched export calls on the MDT: many files opened for the HSM agent's reads, and many exports ended, each file under its own savepoint of one transaction.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, int, num, str } from '../protocol/args.ts';
import {
  type BatchOutcome,
  EXPORT_BATCH_MAX,
  type ExportDoneItem,
  type ExportOpened,
  type HsmExportMethods,
} from '../protocol/hsm-export-messages.ts';
import type { HsmState } from '../protocol/hsm-messages.ts';
import { S_IFREG } from '../types.ts';
import { closed } from './changelog-handlers.ts';
import { dataVersionOf } from './data-version.ts';
import type { Attached, Impl } from './handler-types.ts';
import { openInode, release } from './handles.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_RELEASED, hsmGet } from './hsm.ts';
import { hsmArchived } from './hsm-archived.ts';
import { Effects, type OpContext, toAttr, typeOf } from './inodes.ts';
import { cred, ino } from './mds-args.ts';
import { isRoot } from './perm.ts';
import { pendingPunch } from './punches.ts';
import { relatimeOnOpen } from './relatime.ts';
import { underSavepoint } from './savepoint.ts';
import { writerClosed } from './size-epochs.ts';
import { withStale } from './stale.ts';

/** The list under `key`: an array of 1 to EXPORT_BATCH_MAX elements (EINVAL otherwise). */
function list(a: Args, key: string): unknown[] {
  const v = a[key];
  if (!Array.isArray(v) || v.length === 0 || v.length > EXPORT_BATCH_MAX)
    throw new FsError('EINVAL', `argument "${key}" must be a list of 1 to ${EXPORT_BATCH_MAX} entries`);
  return v;
}

function doneItem(raw: unknown): ExportDoneItem {
  const a = asArgs(raw);
  const item: ExportDoneItem = { ino: ino(a) };
  if (a['handle'] !== undefined) item.handle = int(a, 'handle', { min: 1 });
  if (a['archived'] !== undefined) {
    const r = asArgs(a['archived']);
    const asOf = asArgs(r['asOf']);
    item.archived = {
      location: str(r, 'location', 4096),
      archiveId: int(r, 'archiveId', { min: 0 }),
      asOf: { mtimeMs: num(asOf, 'mtimeMs'), size: int(asOf, 'size', { min: 0 }) },
    };
    if (asOf['dataVersion'] !== undefined)
      item.archived.asOf.dataVersion = int(asOf, 'dataVersion', { min: 0 });
  }
  return item;
}

/**
 * Runs `fn` for one file of a batch under a savepoint of its own: an FsError undoes only that
 * file's changes and becomes its outcome; its effects (pushes, released locks) join the batch's.
 */
function onItsOwn<T>(c: Attached, op: OpContext, fn: (sub: OpContext) => T): BatchOutcome<T> {
  const sub: OpContext = { ...op, fx: new Effects() };
  const out = underSavepoint(c.mdt.store.db, sub, () => fn(sub));
  if ('e' in out) return { errno: out.e, message: out.msg };
  op.fx.events.push(...sub.fx.events);
  op.fx.released.push(...sub.fx.released);
  op.fx.destroyQueued ||= sub.fx.destroyQueued;
  return { ok: out.r };
}

/** One file of hsmExportOpen: opened for reading only when it has content the archive may lack. */
function openForExport(c: Attached, op: OpContext, i: number): ExportOpened {
  const row = c.mdt.ns.inode(i);
  if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'only regular files are exported by content');
  const db = c.mdt.store.db;
  const state: HsmState = hsmGet(db, i);
  const archivedClean = (state.flags & HS_ARCHIVED) !== 0 && (state.flags & HS_DIRTY) === 0;
  const dataVersion = dataVersionOf(db, i);
  if (state.flags & HS_RELEASED || archivedClean || pendingPunch(db, i) !== undefined)
    return { attr: toAttr(row), state, dataVersion };
  const r = openInode(c.mdt.ns, op, i, 0);
  relatimeOnOpen(c, i, 0);
  return {
    attr: r.attr,
    state,
    dataVersion,
    opened: { handle: r.handle, layout: withStale(db, i, r.layout) },
  };
}

/** One item of hsmExportDone: the handle closed as `release` closes it, then the archive recorded. */
function endExport(
  c: Attached,
  op: OpContext,
  item: ExportDoneItem,
): BatchOutcome<(HsmState & { clean: boolean }) | null> {
  const { handle, archived } = item;
  if (handle !== undefined) {
    const out = onItsOwn(c, op, (sub) => {
      const row = c.mdt.store.getHandle(handle);
      if (!row || row.client !== c.client || row.ino !== item.ino)
        throw new FsError('EBADF', `no handle ${handle} of this client on inode ${item.ino}`);
      closed(c, handle);
      release(c.mdt.ns, sub, handle);
      writerClosed(c.mdt.store.db, item.ino, c.client);
      return null;
    });
    if ('errno' in out) return out;
  }
  if (!archived) return { ok: null };
  return onItsOwn(c, op, (sub) => hsmArchived(c.mdt.ns, sub, item.ino, archived));
}

export const hsmExportImpls: { [M in keyof HsmExportMethods]: Impl<M> } = {
  hsmExportOpen: async (a, c) => {
    const [xid, cr] = [int(a, 'xid'), cred(a)];
    const inos = list(a, 'inos').map((v, k) => ino({ [`inos[${k}]`]: v }, `inos[${k}]`));
    return c.mdt.mutate(c, xid, cr, (op) => {
      if (!isRoot(op.cred)) throw new FsError('EPERM', 'only root (the HSM agent) opens files for export');
      return inos.map((i) => onItsOwn(c, op, (sub) => openForExport(c, sub, i)));
    });
  },
  hsmExportDone: async (a, c) => {
    const [xid, cr] = [int(a, 'xid'), cred(a)];
    const items = list(a, 'items').map(doneItem);
    return c.mdt.mutate(c, xid, cr, (op) => {
      if (!isRoot(op.cred)) throw new FsError('EPERM', 'only root (the HSM agent) ends exports');
      return items.map((item) => endExport(c, op, item));
    });
  },
};
