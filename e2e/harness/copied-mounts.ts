// A new node's mount namespace starts as a copy of the host's: the FUSE mounts it copied are detached there, so they cannot keep another test's file system alive.

import { parseMountinfo } from '../../src/csi/node/mountinfo.ts';
import type { CommandRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';

const DEADLINE_MS = 15_000;

async function fuseMountsIn(runner: CommandRunner, mountNamespace: string, signal?: AbortSignal) {
  const r = await runner.run('nsenter', [`--mount=${mountNamespace}`, '--', 'cat', '/proc/self/mountinfo'], {
    timeoutMs: DEADLINE_MS,
    ...(signal ? { signal } : {}),
  });
  if (r.code !== 0)
    throw new NacreError(
      'MountNamespaceFailed',
      `reading the mounts of ${mountNamespace}: ${r.stderr.trim()}`,
    );
  return parseMountinfo(r.stdout)
    .filter((m) => m.fsType === 'fuse' || m.fsType.startsWith('fuse.'))
    .map((m) => m.mountPoint);
}

/**
 * Lazily unmounts every FUSE mount inside the mount namespace bound at `mountNamespace`. Call it
 * right after the namespace is made, when each of them is a copy of a mount on the host (a FUSE
 * test running beside the node). The host's root is a private mount on these machines, so the
 * host's unmount never reaches such a copy: it would hold that file system's FUSE connection open,
 * its daemon never hearing that the mount is gone, until the node is taken down.
 */
export async function detachCopiedFuseMounts(
  runner: CommandRunner,
  mountNamespace: string,
  signal?: AbortSignal,
): Promise<void> {
  const copied = (await fuseMountsIn(runner, mountNamespace, signal)).sort((a, b) => b.length - a.length);
  if (copied.length === 0) return;
  const r = await runner.run('nsenter', [`--mount=${mountNamespace}`, '--', 'umount', '-l', ...copied], {
    timeoutMs: DEADLINE_MS,
    ...(signal ? { signal } : {}),
  });
  if (r.code === 0) return;
  // A copy may have gone meanwhile (not mounted): an error only if one is still there.
  const left = (await fuseMountsIn(runner, mountNamespace, signal)).filter((m) => copied.includes(m));
  if (left.length > 0) {
    throw new NacreError(
      'MountNamespaceFailed',
      `umount -l in ${mountNamespace} left ${left.join(', ')}: ${r.stderr.trim()}`,
    );
  }
}
