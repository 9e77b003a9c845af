// The end of an archive (export) on the MDT: the file becomes archived, and clean only if it is still the version the agent read.
import { FsError } from '../../lib/errors.ts';
import type { HsmArchivedArgs, HsmState } from '../protocol/hsm-messages.ts';
import { S_IFREG } from '../types.ts';
import { dataVersionOf } from './data-version.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_RELEASED, hsmGet, hsmSet } from './hsm.ts';
import type { NsCore, OpContext } from './inodes.ts';
import { typeOf } from './inodes.ts';
import { isRoot } from './perm.ts';
import { writtenElsewhere } from './size-on-osts.ts';

/**
 * The HSM agent uploaded the content the file had at `asOf` (its mtime and size when the agent
 * began reading it) to `location`. In the one transaction: the file becomes ARCHIVED there, and
 * DIRTY is cleared only if it is still that version — same mtime and size (and data version,
 * when given: no write handle opened or closed and no resize since, data-version.ts) and no other client
 * holding it open for writing (their bytes may not have reached the MDS yet); otherwise DIRTY is
 * set, also on a file that had no HSM state yet, so the change is exported later and the file is
 * never released over it. A file released meanwhile (another export of the same content won the
 * race) is left as it is. Root only (EPERM); EINVAL for anything but a regular file.
 */
export function hsmArchived(
  ns: NsCore,
  op: OpContext,
  ino: number,
  a: Omit<HsmArchivedArgs, 'xid' | 'cred' | 'ino'>,
): HsmState & { clean: boolean } {
  const row = ns.inode(ino);
  if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'only regular files are archived');
  if (!isRoot(op.cred)) throw new FsError('EPERM', 'only root (the HSM agent) archives files');
  const cur = hsmGet(ns.store.db, ino);
  if (cur.flags & HS_RELEASED) return { ...cur, clean: false };
  const clean =
    row.mtime === a.asOf.mtimeMs &&
    row.size === a.asOf.size &&
    (a.asOf.dataVersion === undefined || a.asOf.dataVersion === dataVersionOf(ns.store.db, ino)) &&
    !writtenElsewhere(ns.store.db, ino, op.client);
  const next = hsmSet(ns, op, ino, {
    set: HS_ARCHIVED | (clean ? 0 : HS_DIRTY),
    clear: clean ? HS_DIRTY : 0,
    archiveId: a.archiveId,
    location: a.location,
  });
  return { ...next, clean };
}
