// The MDS side of root squash: the credentials of every call from a squashed client lose uid and gid 0.
import { logger } from '../../lib/log.ts';
import type { Args } from '../protocol/args.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import { nidMatches, type RootSquash } from '../protocol/root-squash.ts';
import type { Mdt } from './mdt.ts';

const settings = new WeakMap<Mdt, RootSquash>();

/** Applies the file system's current setting (from the MGS config) to its MDT; undefined turns squash off. */
export function setRootSquash(mdt: Mdt, squash: RootSquash | undefined): void {
  if (squash) settings.set(mdt, squash);
  else settings.delete(mdt);
}

/**
 * The call's arguments with `cred` squashed when the MDT squashes root, the caller is root (uid 0)
 * and `remote` (the connection's peer address) matches no nosquash NID: uid and gid become the
 * squash ids and the supplementary groups are dropped, as Lustre's mdt_root_squash does. Runs
 * before the handler checks anything, so permission checks, ownership of new files and the rights
 * of chown/chmod all see the squashed ids.
 */
export function squashCred(args: Args, mdt: Mdt, remote: string): Args {
  const squash = settings.get(mdt);
  const cred = args['cred'] as { uid?: unknown } | undefined;
  if (!squash || typeof cred !== 'object' || cred === null || cred.uid !== 0) return args;
  if (nidMatches(squash.nosquashNids, remote)) return args;
  return { ...args, cred: { ...cred, uid: squash.uid, gid: squash.gid, groups: [] } };
}

/**
 * Reads the file system's setting from the MGS before a client attaches, so a client never
 * connects under an older setting than the MGS holds (the poll loop applies changes to sessions
 * already attached). If the MGS does not answer within 2 s the last setting stays.
 */
export function refreshRootSquash(mgs: MgsClient): (mdt: Mdt) => Promise<void> {
  return async (mdt) => {
    try {
      setRootSquash(mdt, (await mgs.getConfig(mdt.fsname, AbortSignal.timeout(2_000))).rootSquash);
    } catch (err) {
      logger('mds').debug('root squash not refreshed: the MGS did not answer', {
        fsname: mdt.fsname,
        error: String(err),
      });
    }
  };
}
