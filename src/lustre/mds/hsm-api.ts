// The MDS's HSM RPCs (lfs hsm_state|hsm_set|hsm_release|hsm_restore and the HSM agent's), merged into MdsMethods.
import type { Credentials } from '../types.ts';
import type { HsmReplacement, HsmState } from './hsm.ts';
import type { RestoreRequest } from './hsm-coordinator.ts';

export interface HsmMethods {
  /** A file's HSM flags (Lustre's values), archive id and archive location, and whether any client has it open. */
  hsmState: { args: { ino: number }; result: HsmState & { open: boolean } };
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
    args: { xid: number; ino: number; error: string | null; mtimeMs: number | null };
    result: HsmState;
  };
}
