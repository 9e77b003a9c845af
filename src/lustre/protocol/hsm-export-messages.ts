// The HSM agent's batched export calls: many files opened for reading with their HSM state, and many exports ended, in one MDS transaction each.
import type { Attr, Credentials, Layout } from '../types.ts';
import type { HsmState } from './hsm-messages.ts';

/** At most this many files per batched export call (EINVAL above). */
export const EXPORT_BATCH_MAX = 256;

/** One file's part of a batched call: its result, or the errno (FsError code) and message it failed with alone. */
export type BatchOutcome<T> = { ok: T } | { errno: string; message: string };

/**
 * A file as hsmExportOpen found it. `opened` (a read handle of the caller's and the layout to read
 * by) only when its content is to be read: a regular file neither released, nor archived and clean,
 * nor waiting for a truncate to reach its objects (the agent opens that one with `open`).
 */
export interface ExportOpened {
  attr: Attr;
  state: HsmState;
  /** The file's data version as it was opened: hsmExportDone's `asOf.dataVersion`. */
  dataVersion: number;
  opened?: { handle: number; layout: Layout | null };
}

/** The end of one file's export: its read handle closed, then (with `archived`) as hsmArchived. */
export interface ExportDoneItem {
  ino: number;
  /** A handle hsmExportOpen gave this client for `ino` (EBADF otherwise). */
  handle?: number;
  /** As hsmArchived's arguments: the upload of the content the file had at `asOf` went to `location`. */
  archived?: {
    location: string;
    archiveId: number;
    asOf: { mtimeMs: number; size: number; dataVersion?: number };
  };
}

export interface HsmExportMethods {
  /**
   * For each of `inos`, in one transaction, each file on its own (one failing — ENOENT, EINVAL for
   * anything but a regular file — changes nothing for the others): its attributes, HSM state and,
   * when its content is to be exported, a read handle opened as `open` with O_RDONLY does. Root only.
   */
  hsmExportOpen: {
    args: { xid: number; cred: Credentials; inos: number[] };
    result: BatchOutcome<ExportOpened>[];
  };
  /**
   * For each item, in one transaction, each on its own: its handle released as `release` does, then
   * if that worked and `archived` is given, hsmArchived's check and update (null for a close alone).
   * A file changed since `asOf` or open for writing elsewhere stays dirty, whatever the other items.
   */
  hsmExportDone: {
    args: { xid: number; cred: Credentials; items: ExportDoneItem[] };
    result: BatchOutcome<(HsmState & { clean: boolean }) | null>[];
  };
}
