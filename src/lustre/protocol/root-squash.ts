// Root squash as a file-system setting (Lustre's root_squash and nosquash_nids): its wire form, parsing and NID matching.
import { FsError } from '../../lib/errors.ts';

/** uid/gid 0 of a client whose address matches none of `nosquashNids` become `uid`/`gid`. */
export interface RootSquash {
  uid: number;
  gid: number;
  /** Lustre NIDs: `10.0.0.5@tcp`, `10.0.0.*@tcp`, `10.0.0.[10-20]@tcp` (the `@tcp` is optional). */
  nosquashNids: string[];
}

const ID_MAX = 0xffff_ffff - 1;
const OCTET = /^(\*|\d{1,3}|\[\d{1,3}-\d{1,3}\])$/;
const MAX_NIDS = 64;

/** "65534:65534" → ids; EINVAL for anything else (as FSx's RootSquash "UID:GID"). */
export function parseSquashIds(text: string): { uid: number; gid: number } {
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(text.trim());
  const [uid, gid] = [Number(m?.[1]), Number(m?.[2])];
  if (!m || uid > ID_MAX || gid > ID_MAX) {
    throw new FsError('EINVAL', `root squash "${text.slice(0, 40)}" must be UID:GID, e.g. 65534:65534`);
  }
  return { uid, gid };
}

/** Checks one NID pattern; EINVAL with what is wrong. */
export function checkNid(nid: string): string {
  const [ip, net, ...rest] = nid.split('@');
  const octets = (ip ?? '').split('.');
  if (
    rest.length > 0 ||
    (net !== undefined && net !== 'tcp') ||
    octets.length !== 4 ||
    !octets.every((o) => OCTET.test(o))
  ) {
    throw new FsError(
      'EINVAL',
      `nosquash NID "${nid.slice(0, 60)}" must look like 10.0.0.5@tcp, 10.0.0.*@tcp or 10.0.0.[10-20]@tcp`,
    );
  }
  return nid;
}

/** A setting from the network or a flag, checked; undefined or null means no squash. */
export function checkRootSquash(raw: unknown): RootSquash | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = raw as Partial<RootSquash>;
  const ids = parseSquashIds(`${String(r.uid)}:${String(r.gid)}`);
  const nids = r.nosquashNids ?? [];
  if (!Array.isArray(nids) || nids.length > MAX_NIDS || !nids.every((n) => typeof n === 'string')) {
    throw new FsError('EINVAL', `nosquashNids must be a list of at most ${MAX_NIDS} NIDs`);
  }
  return { ...ids, nosquashNids: nids.map(checkNid) };
}

/** True when a client at `remote` ("ip:port", IPv4-mapped allowed) matches one of the NIDs. */
export function nidMatches(nids: readonly string[], remote: string): boolean {
  const ip = remote.replace(/^::ffff:/, '').replace(/:\d+$/, '');
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4) return false;
  return nids.some((nid) => {
    const pattern = nid.split('@')[0]!.split('.');
    return pattern.every((p, i) => {
      const v = parts[i]!;
      if (p === '*') return true;
      const range = /^\[(\d+)-(\d+)\]$/.exec(p);
      return range ? v >= Number(range[1]) && v <= Number(range[2]) : v === Number(p);
    });
  });
}
