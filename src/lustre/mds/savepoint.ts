// One mutation under a savepoint of the group-commit transaction: an FsError rolls its changes back and becomes its reply.
import type { DatabaseSync } from 'node:sqlite';
import { FsError } from '../../lib/errors.ts';
import { Effects, type OpContext } from './inodes.ts';

/** A mutation's reply as the reply cache keeps it: its result, or its errno and message. */
export type Outcome<T> = { r: T } | { e: string; msg: string };

/**
 * Runs `fn` under a savepoint. An FsError rolls back what it changed, drops its effects and is
 * returned as the reply; any other error, or one after which SQLite ended the transaction itself
 * (see GroupCommit), is thrown.
 */
export function underSavepoint<T>(db: DatabaseSync, op: OpContext, fn: () => T): Outcome<T> {
  try {
    db.exec('SAVEPOINT op');
    const r = fn();
    db.exec('RELEASE op');
    return { r };
  } catch (err) {
    if (!db.isTransaction) throw err;
    db.exec('ROLLBACK TO op');
    db.exec('RELEASE op');
    if (!(err instanceof FsError)) throw err;
    op.fx = new Effects();
    return { e: err.code, msg: err.message };
  }
}
