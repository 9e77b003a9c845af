// Identifiers and names FSx hands out: resource ids, ARNs, mount names, plausible network ids, request fingerprints.
import { createHash, randomBytes, randomInt } from 'node:crypto';

/** `<prefix>-` followed by 17 lowercase hex digits, like fs-0123456789abcdef0. */
export function newId(prefix: 'fs' | 'backup' | 'eni' | 'dra' | 'task'): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** 8 lowercase letters and digits, starting with a letter (it is also the Lustre fsname). */
export function newMountName(taken: (name: string) => boolean): string {
  for (;;) {
    let name = ALNUM[randomInt(26)]!;
    while (name.length < 8) name += ALNUM[randomInt(ALNUM.length)]!;
    if (!taken(name)) return name;
  }
}

export function fileSystemArn(region: string, accountId: string, id: string): string {
  return `arn:aws:fsx:${region}:${accountId}:file-system/${id}`;
}

export function backupArn(region: string, accountId: string, id: string): string {
  return `arn:aws:fsx:${region}:${accountId}:backup/${id}`;
}

/** The resource an FSx ARN names, or undefined when it is not an ARN of this service. */
export function parseArn(
  arn: string,
): { service: string; region: string; account: string; type: string; id: string } | undefined {
  const m = /^arn:[^:]+:([^:]+):([^:]*):([^:]*):([^/]+)\/(.+)$/.exec(arn);
  if (!m) return undefined;
  return { service: m[1]!, region: m[2]!, account: m[3]!, type: m[4]!, id: m[5]! };
}

function hex(seed: string, n: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, n);
}

/** The VPC a subnet belongs to: the emulator has no VPCs, so it is derived from the subnet id. */
export function vpcOf(subnetId: string): string {
  return `vpc-${hex(`vpc:${subnetId}`, 17)}`;
}

/** A default weekly maintenance window, d:HH:MM, stable for a file system. */
export function defaultWeeklyTime(seed: string): string {
  const h = Number.parseInt(hex(seed, 8), 16);
  const day = (h % 7) + 1;
  const hour = Math.floor(h / 7) % 24;
  const minute = (Math.floor(h / 168) % 2) * 30;
  return `${day}:${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** A default daily backup time, HH:MM, stable for a file system. */
export function defaultDailyTime(seed: string): string {
  const h = Number.parseInt(hex(`daily:${seed}`, 8), 16);
  return `${String(h % 24).padStart(2, '0')}:${String((Math.floor(h / 24) % 2) * 30).padStart(2, '0')}`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** A fingerprint of a request without its ClientRequestToken: equal requests give equal hashes. */
export function requestHash(operation: string, body: Record<string, unknown>): string {
  const { ClientRequestToken: _, ...rest } = body;
  return createHash('sha256')
    .update(operation)
    .update(JSON.stringify(canonical(rest)))
    .digest('hex');
}
