// Checks of MGS requests from the network: file-system names, create parameters and server registrations.
import { FsError } from '../../lib/errors.ts';
import { connectOptions } from '../protocol/address.ts';
import { type Args, asArgs, bool, int, str } from '../protocol/args.ts';
import type { ServerInfo } from '../protocol/mgs-messages.ts';
import { checkRootSquash, type RootSquash } from '../protocol/root-squash.ts';
import type { LayoutPolicy } from '../types.ts';

/** Most OSTs one file system may have (OST indexes are 16 bits in the target name; we stay lower). */
export const MAX_OSTS = 1024;
/** Stripe sizes are multiples of 64 KiB, as in Lustre, and below 4 GiB. */
export const STRIPE_UNIT = 64 * 1024;
export const MAX_STRIPE_SIZE = 4 * 1024 * 1024 * 1024 - STRIPE_UNIT;
export const DEFAULT_STRIPE_SIZE = 1024 * 1024;

/** A createFileSystem request with defaults filled in: what idempotency compares. */
export interface NormalizedRequest {
  ostCount: number;
  ostCapacityBytes: number;
  replicas: number;
  defaultLayout: LayoutPolicy;
  /** Not part of idempotency: an existing file system keeps its own (setRootSquash changes it). */
  rootSquash?: RootSquash;
}

const FSNAME_RE = /^[a-z0-9]{1,8}$/;
const SERVER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** fsname: 1 to 8 characters [a-z0-9], as Lustre's; EINVAL otherwise. */
export function checkFsname(value: unknown): string {
  if (typeof value !== 'string' || !FSNAME_RE.test(value)) {
    throw new FsError(
      'EINVAL',
      `bad file system name ${JSON.stringify(String(value)).slice(0, 40)}: want 1 to 8 characters a-z, 0-9`,
    );
  }
  return value;
}

export function ostCapacityArg(a: Args): number {
  return int(a, 'ostCapacityBytes', { min: 1 });
}

export function ostCountArg(a: Args, key: string): number {
  const n = int(a, key, { min: 1 });
  if (n > MAX_OSTS) throw new FsError('EINVAL', `${key} ${n} exceeds ${MAX_OSTS}`);
  return n;
}

export function normalizeCreate(raw: unknown): { fsname: string; request: NormalizedRequest } {
  const a = asArgs(raw);
  const fsname = checkFsname(a['fsname']);
  const ostCount = ostCountArg(a, 'ostCount');
  const ostCapacityBytes = ostCapacityArg(a);
  const replicas = a['replicas'] === undefined ? 1 : int(a, 'replicas', { min: 1 });
  if (replicas > 2) throw new FsError('EINVAL', `replicas must be 1 or 2, not ${replicas}`);
  if (replicas === 2 && ostCount < 2) {
    throw new FsError('EINVAL', 'replicas=2 needs at least 2 OSTs (a stripe and its mirror)');
  }
  const defaultLayout = normalizeLayout(a['defaultLayout'] ?? {}, ostCount);
  const rootSquash = checkRootSquash(a['rootSquash']);
  return {
    fsname,
    request: { ostCount, ostCapacityBytes, replicas, defaultLayout, ...(rootSquash && { rootSquash }) },
  };
}

function normalizeLayout(raw: unknown, ostCount: number): LayoutPolicy {
  const l = asArgs(raw);
  const stripeSize = l['stripeSize'] === undefined ? DEFAULT_STRIPE_SIZE : int(l, 'stripeSize', { min: 1 });
  if (stripeSize % STRIPE_UNIT !== 0 || stripeSize > MAX_STRIPE_SIZE) {
    throw new FsError('EINVAL', `stripeSize must be a multiple of ${STRIPE_UNIT} up to ${MAX_STRIPE_SIZE}`);
  }
  const stripeCount = l['stripeCount'] === undefined ? 1 : int(l, 'stripeCount', { min: -1 });
  if (stripeCount === 0 || stripeCount > MAX_OSTS) {
    throw new FsError('EINVAL', `stripeCount must be -1 (all OSTs) or 1..${MAX_OSTS}`);
  }
  const stripeOffset = l['stripeOffset'] === undefined ? -1 : int(l, 'stripeOffset', { min: -1 });
  if (stripeOffset >= ostCount) throw new FsError('EINVAL', `stripeOffset must be -1 or below ${ostCount}`);
  const policy: LayoutPolicy = { stripeSize, stripeCount, stripeOffset };
  if (l['localFirst'] !== undefined) policy.localFirst = bool(l, 'localFirst');
  return policy;
}

export function sameRequest(a: NormalizedRequest, b: NormalizedRequest): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(r: NormalizedRequest): unknown[] {
  const l = r.defaultLayout;
  return [
    r.ostCount,
    r.ostCapacityBytes,
    r.replicas,
    l.stripeSize,
    l.stripeCount,
    l.stripeOffset,
    l.localFirst,
  ];
}

export function checkServerInfo(raw: unknown): ServerInfo {
  const a = asArgs(raw);
  const name = str(a, 'name', 128);
  if (!SERVER_NAME_RE.test(name)) throw new FsError('EINVAL', `bad server name ${JSON.stringify(name)}`);
  const role = a['role'];
  if (role !== 'mds' && role !== 'oss') throw new FsError('EINVAL', 'role must be "mds" or "oss"');
  const address = str(a, 'address', 300);
  if (address.startsWith('unix:')) throw new FsError('EINVAL', 'address must be host:port');
  checkAddress(address);
  const info: ServerInfo = {
    name,
    role,
    address,
    host: str(a, 'host', 255),
    capacityBytes: int(a, 'capacityBytes'),
  };
  if (a['localAddress'] !== undefined && a['localAddress'] !== null) {
    const local = str(a, 'localAddress', 300);
    if (!local.startsWith('unix:/')) throw new FsError('EINVAL', 'localAddress must be unix:/path');
    info.localAddress = local;
  }
  return info;
}

function checkAddress(address: string): void {
  try {
    connectOptions(address);
  } catch (err) {
    throw new FsError('EINVAL', `bad address ${JSON.stringify(address)}`, { cause: err });
  }
}
