// The MDS's changelog messages: records of namespace changes and the RPCs of the users that consume them (the HSM agent's automatic export).
import type { Credentials } from '../types.ts';

/**
 * CREAT: a name made (file, directory, symlink, node); CLOSE: a regular file closed after being
 * opened for writing; SATTR: attributes set (mode, owner, group, mtime or size — chmod, chown,
 * utimes, truncate; not atime alone), as Lustre's changelog records them.
 */
export type ChangeType = 'CREAT' | 'CLOSE' | 'RENME' | 'UNLNK' | 'RMDIR' | 'SATTR';

export interface ChangeRecord {
  /** Increases with every record; a user clears up to the last one it handled. */
  seq: number;
  type: ChangeType;
  ino: number;
  /** The entry's path from the file system root at the time of the change ("/a/b"); the new one for RENME. */
  path: string;
  /** RENME: the old path. */
  oldPath?: string;
  /** Made by an HSM agent (an import), not by a user of the file system. */
  agent: boolean;
  timeMs: number;
}

export interface ChangelogMethods {
  /** Registers a user at the current end of the log (idempotent); returns its cursor. Root only. */
  changelogRegister: { args: { cred: Credentials; user: string }; result: number };
  /** Forgets a user; records only it still needed go. Root only. */
  changelogDeregister: { args: { cred: Credentials; user: string }; result: null };
  /** Up to `limit` records after the user's cursor. */
  changelogRead: { args: { user: string; limit: number }; result: ChangeRecord[] };
  /**
   * Long poll: the seq of the log's last record as soon as it differs from `after` (at once if it
   * does already), or after `waitMs` (at most 25 s) with nothing new. A change is seen once
   * committed. Lets a user wait for changes instead of polling.
   */
  changelogWait: { args: { after: number; waitMs: number }; result: number };
  /** The user handled every record up to `upTo`: its cursor moves there (persistently). */
  changelogClear: { args: { user: string; upTo: number }; result: null };
}
