// The MDS's HSM messages: file HSM state, archive replacements, restore requests, and the RPCs of lfs hsm_* and the HSM agent.
import type { Credentials } from '../types.ts';

/** Lustre's HSM flags (lustre_user.h, enum hsm_states). */
export const HS_NONE = 0;
export const HS_EXISTS = 0x1;
export const HS_DIRTY = 0x2;
export const HS_RELEASED = 0x4;
export const HS_ARCHIVED = 0x8;
export const HS_NORELEASE = 0x10;
export const HS_NOARCHIVE = 0x20;
export const HS_LOST = 0x40;
/** Flags a user may set or clear with hsm_set (the others are the HSM agent's, as root). */
export const HS_USER_MASK = HS_NORELEASE | HS_NOARCHIVE;

/** lfs hsm_set/hsm_clear flag options, by their lfs names. */
export const HSM_FLAG_NAMES: Readonly<Record<string, number>> = {
  exists: HS_EXISTS,
  dirty: HS_DIRTY,
  archived: HS_ARCHIVED,
  norelease: HS_NORELEASE,
  noarchive: HS_NOARCHIVE,
  lost: HS_LOST,
};
export const HS_ALL = 0x7f;

export interface HsmMethods {
  /**
   * A file's HSM flags (Lustre's values), archive id and archive location, whether any client has it
   * open, and its data version (hsmArchived's `asOf.dataVersion`; mds/data-version.ts).
   */
  hsmState: { args: { ino: number }; result: HsmState & { open: boolean; dataVersion: number } };
  /** lfs hsm_set / hsm_clear; see hsm.ts for who may change what. */
  hsmSet: {
    args: {
      xid: number;
      cred: Credentials;
      ino: number;
      set: number;
      clear: number;
      archiveId?: number;
      location?: string | null;
    };
    result: HsmState;
  };
  /**
   * The HSM agent archived the file's content as of `asOf` at `location`: ARCHIVED, and clean only
   * if the file is still that version (see hsm-archived.ts); `clean` says which.
   */
  hsmArchived: { args: HsmArchivedArgs; result: HsmState & { clean: boolean } };
  /** lfs hsm_release: frees the OST objects of an archived, clean, closed file. */
  hsmRelease: { args: { xid: number; cred: Credentials; ino: number }; result: HsmState };
  /** The HSM agent swaps in a newer archived version (see hsmReplace in hsm.ts). */
  hsmReplace: {
    args: { xid: number; cred: Credentials; ino: number; replacement: HsmReplacement };
    result: HsmState;
  };
  /** lfs hsm_restore: resolves when the file's content is back (EIO if the agent failed). */
  hsmRestore: { args: { ino: number }; result: HsmState };
  /** An HSM agent waits up to `timeoutMs` for a restore to do; null when there was none. */
  hsmAgentPoll: { args: { timeoutMs: number }; result: RestoreRequest | null };
  /**
   * The agent ends a restore: with `error` null the content is on the OSTs (RELEASED is cleared and
   * mtime set back to `mtimeMs`); otherwise the file stays released and the openers get EIO.
   */
  hsmRestoreDone: {
    args: { xid: number; ino: number; error: string | null; mtimeMs: number | null; token: string };
    result: HsmState;
  };
  /**
   * The agent loaded the pieces `loaded` (of `chunkBytes` each) of the file it restores and asks
   * which to load next: null when none is left to hand out (then it syncs and ends the restore).
   * ESTALE when the restore was handed to another agent.
   */
  hsmLoadNext: {
    args: { ino: number; token: string; size: number; chunkBytes: number; loaded: number[] };
    result: number | null;
  };
  /**
   * A reader of a file opened while it was being restored waits until [offset, offset + length) is
   * loaded: true when the whole file is (the reader need not ask again), false when that range is.
   */
  hsmWaitRange: { args: { ino: number; offset: number; length: number }; result: boolean };
}

export interface HsmState {
  flags: number;
  archiveId: number;
  /** Where the archived copy is (the agent's own reference, e.g. "s3://bucket/key"), or null. */
  location: string | null;
}

export interface HsmArchivedArgs {
  xid: number;
  cred: Credentials;
  ino: number;
  location: string;
  archiveId: number;
  /**
   * The file's mtime and size when the agent began reading it, and (when the agent has it: the
   * batched export's hsmExportOpen gives it) its data version then, which pins the bytes down where
   * mtime and size cannot (mds/data-version.ts).
   */
  asOf: { mtimeMs: number; size: number; dataVersion?: number };
}

export interface HsmReplacement {
  size: number;
  mode?: number;
  uid?: number;
  gid?: number;
  atimeMs: number;
  mtimeMs: number;
  location: string;
  archiveId: number;
}

export interface RestoreRequest {
  ino: number;
  /** The archive location the agent recorded at import or archive time. */
  location: string | null;
  archiveId: number;
  /** Names this hand-out of the restore; the agent gives it back with each hsmLoadNext and hsmRestoreDone. */
  token: string;
}
