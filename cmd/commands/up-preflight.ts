// Before `nacre up` starts anything: what a previous, killed `nacre up` left in the way (a dead mount, busy ports), cleared or named.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import { promisify } from 'node:util';
import { NacreError } from '../../src/lib/errors.ts';
import { logger } from '../../src/lib/log.ts';
import { findMountDevice } from '../../src/lustre/fuse/mount.ts';

const log = logger('up');
const exec = promisify(execFile);

/**
 * A FUSE mount on `mountPoint` whose daemon is gone (stat fails with ENOTCONN: the `nacre up` that
 * served it was killed) is lazily unmounted. A live nacre mount there is an error naming it.
 */
export async function clearDeadMount(mountPoint: string, signal: AbortSignal): Promise<void> {
  const mounted = findMountDevice(await readFile('/proc/self/mountinfo', 'utf8'), mountPoint);
  if (!mounted) return;
  const dead = await stat(mountPoint).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOTCONN' || err.code === 'ECONNABORTED',
  );
  if (!dead) {
    throw new NacreError(
      'MountPointBusy',
      `${mountPoint} is already mounted by a running nacre mount; unmount it (umount ${mountPoint}) or pass another --mount`,
    );
  }
  log.warn('unmounting a dead mount left by a nacre up that did not stop', { mountPoint });
  await exec('umount', ['-l', mountPoint], { signal, timeout: 10_000 });
}

/** Rejects naming the port and the process listening on it, for the first of `ports` that is taken. */
export async function checkPortsFree(
  ports: { port: number; what: string }[],
  signal: AbortSignal,
): Promise<void> {
  for (const { port, what } of ports) {
    if (await canListen(port)) continue;
    const holder = await exec('ss', ['-Hltnp', `sport = :${port}`], { signal, timeout: 5_000 }).then(
      (r) => r.stdout.trim(),
      () => '',
    );
    const users = holder.match(/users:\(\((.*)\)\)/)?.[1];
    throw new NacreError(
      'PortInUse',
      `port ${port} (for the ${what}) is in use${users ? ` by ${users}` : ''}; stop that process or pass another --port`,
    );
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
