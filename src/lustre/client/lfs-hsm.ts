// `nacre lfs hsm_state|hsm_set|hsm_clear|hsm_release|hsm_restore`: Lustre's HSM commands for one file, with Lustre's output.
import {
  HS_ARCHIVED,
  HS_DIRTY,
  HS_EXISTS,
  HS_LOST,
  HS_NOARCHIVE,
  HS_NORELEASE,
  HS_RELEASED,
  type HsmState,
} from '../protocol/hsm-messages.ts';

export { HSM_FLAG_NAMES } from '../protocol/hsm-messages.ts';

import { ROOT_CREDENTIALS } from '../types.ts';
import { whileRestoring } from './hsm-wait.ts';
import type { LfsTarget } from './lfs.ts';
import { connectLustre } from './lustre-client.ts';

/** Lustre's hsm_state line: "<path>: (0x0000000d) released exists archived, archive_id:1". */
export function formatHsmState(path: string, s: HsmState): string {
  const words: [number, string][] = [
    [HS_RELEASED, 'released'],
    [HS_EXISTS, 'exists'],
    [HS_DIRTY, 'dirty'],
    [HS_ARCHIVED, 'archived'],
    [HS_NORELEASE, 'never_release'],
    [HS_NOARCHIVE, 'never_archive'],
    [HS_LOST, 'lost_from_hsm'],
  ];
  let line = `${path}: (0x${s.flags.toString(16).padStart(8, '0')})`;
  for (const [bit, word] of words) if (s.flags & bit) line += ` ${word}`;
  if (s.archiveId !== 0) line += `, archive_id:${s.archiveId}`;
  return `${line}\n`;
}

async function withFile<T>(
  t: LfsTarget,
  fn: (c: Awaited<ReturnType<typeof connectLustre>>, ino: number) => Promise<T>,
): Promise<T> {
  const client = await connectLustre({
    mgsAddress: t.mgsAddress,
    fsname: t.fsname,
    host: t.host ?? 'lfs',
    ...(t.signal && { signal: t.signal }),
    ...(t.timeoutMs !== undefined && { timeoutMs: t.timeoutMs }),
  });
  try {
    const attr = await client.resolvePath(t.path, t.signal);
    return await fn(client, attr.ino);
  } finally {
    await client.close();
  }
}

function shownPath(t: LfsTarget): string {
  const root = t.mountPoint ?? `${t.mgsAddress}@tcp:/${t.fsname}`;
  return `${root.replace(/\/+$/, '')}/${t.path.replace(/^\/+/, '')}`;
}

export function lfsHsmState(t: LfsTarget): Promise<string> {
  return withFile(t, async (c, ino) =>
    formatHsmState(shownPath(t), await c.mds.call('hsmState', { ino }, t.signal)),
  );
}

/** hsm_set (set) or hsm_clear (clear) of the named flags; as the calling user (root may change every flag). */
export function lfsHsmSet(
  t: LfsTarget,
  flags: number,
  clear: boolean,
  cred = ROOT_CREDENTIALS,
): Promise<string> {
  return withFile(t, async (c, ino) => {
    await c.mds.mutate('hsmSet', { cred, ino, set: clear ? 0 : flags, clear: clear ? flags : 0 }, t.signal);
    return '';
  });
}

export function lfsHsmRelease(t: LfsTarget, cred = ROOT_CREDENTIALS): Promise<string> {
  return withFile(t, async (c, ino) => {
    await c.mds.mutate('hsmRelease', { cred, ino }, t.signal);
    return '';
  });
}

export function lfsHsmRestore(t: LfsTarget): Promise<string> {
  return withFile(t, async (c, ino) => {
    await whileRestoring(() => c.mds.call('hsmRestore', { ino }, t.signal), t.signal);
    return '';
  });
}
