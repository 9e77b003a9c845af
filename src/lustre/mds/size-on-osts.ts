// Size on the OSTs (Lustre's glimpse): getattr tells a client when the MDS's size may be behind the objects.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { type Attr, S_IFMT, S_IFREG } from '../types.ts';
import { HS_RELEASED, hsmGet } from './hsm.ts';
import { pendingPunch } from './punches.ts';

const statements = new WeakMap<DatabaseSync, StatementSync>();

/**
 * Clients write file data to the OSTs without telling the MDS; they report the new size at close,
 * fsync and their own getattr. While another client has a regular file open for writing, the size
 * here may therefore be behind: `sizeOnOsts` says so, and the caller takes the largest object end
 * over the stripes (a glimpse) as the size. The caller's own handles do not count: it reports its
 * own writes before asking. Once every writer has closed, the MDS size is exact. So is the size of
 * a released file: its only writer is the HSM agent refilling it.
 */
export function withSizeOnOsts(db: DatabaseSync, attr: Attr, caller: string): Attr {
  if ((attr.mode & S_IFMT) !== S_IFREG) return attr;
  // While a truncate's punch is pending the objects may still hold the bytes it dropped.
  if (
    !writtenElsewhere(db, attr.ino, caller) ||
    hsmGet(db, attr.ino).flags & HS_RELEASED ||
    pendingPunch(db, attr.ino) !== undefined
  )
    return attr;
  return { ...attr, sizeOnOsts: true };
}

/** Whether a client other than `caller` has `ino` open for writing (its unreported writes may reach past the size). */
export function writtenElsewhere(db: DatabaseSync, ino: number, caller: string): boolean {
  let st = statements.get(db);
  if (!st) {
    st = db.prepare('SELECT 1 AS w FROM handles WHERE ino = ? AND (flags & 3) != 0 AND client != ? LIMIT 1');
    statements.set(db, st);
  }
  return st.get(ino, caller) !== undefined;
}

/** Whether any client (the caller too) has `ino` open for writing: unreported writes may reach past its size. */
export function writtenByAnyone(db: DatabaseSync, ino: number): boolean {
  // Client ids are never empty (the MDS's connect refuses them), so no handle is excluded.
  return writtenElsewhere(db, ino, '');
}
