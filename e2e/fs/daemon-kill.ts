// Killing a keeper-held mount's FUSE daemon while its request waits at a stopped MDS: the request reached the MDS, the kernel resends it to the next daemon.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { type FsCluster, NACRE } from './fs-cluster.ts';
import { hold, q, sh, shResult, waitFor, waitingOnFuse } from './shell.ts';

/** A mount held by `nacre fuse-keeper` at `<cluster dir>/kept`, its state in `stateFile`. */
export interface KeptMount {
  mnt: string;
  stateFile: string;
  /** Unmounts it and waits for the keeper to end. */
  unmount(): Promise<void>;
}

export async function keptMount(cluster: FsCluster): Promise<KeptMount> {
  const mnt = join(cluster.dir, 'kept');
  await mkdir(mnt);
  const stateFile = join(cluster.dir, 'keeper.json');
  const keeper = hold([
    ...NACRE,
    'fuse-keeper',
    cluster.source,
    mnt,
    ...['--state-file', stateFile, '--log-file', join(cluster.dir, 'logs', 'kept-daemons.log')],
  ]);
  await keeper.waitForLine(/"daemonPid"/, 60_000);
  return {
    mnt,
    stateFile,
    unmount: async () => {
      await shResult(`umount ${q(mnt)}`, 20_000);
      await keeper.release(20_000);
    },
  };
}

/** Bytes the MDS has not read yet on its sockets (TCP and unix), from ss(8). */
export async function mdsUnread(pid: number): Promise<number> {
  const out = await sh('ss -Hnp -A tcp,unix');
  let unread = 0;
  for (const line of out.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    unread += Number(line.trim().split(/\s+/)[2] ?? 0) || 0;
  }
  return unread;
}

/**
 * SIGSTOPs the MDS, runs `start` (which starts the callers), waits until every pid it returns is
 * blocked in FUSE and the MDS has at least `minUnread` unread bytes (their requests), kills the
 * keeper's daemon with SIGKILL, waits until the keeper saw it die, and SIGCONTs the MDS: the MDS
 * then applies what the dead daemon sent, and the kernel resends the same requests to the next daemon.
 */
export async function killDaemonWithRequestsAtMds(
  cluster: FsCluster,
  stateFile: string,
  start: () => number[],
  minUnread = 1,
): Promise<void> {
  const daemonPid = (await readKeeperState(stateFile))?.daemonPid;
  if (!daemonPid) throw new Error(`the keeper of ${stateFile} has no daemon`);
  const mdsPid = cluster.mds.pid!;
  process.kill(mdsPid, 'SIGSTOP');
  try {
    const pids = start();
    await waitFor(
      `${pids.length} caller(s) to wait on the FUSE daemon`,
      async () => (await Promise.all(pids.map(waitingOnFuse))).every(Boolean),
      10_000,
    );
    await waitFor(
      'the requests to reach the stopped MDS',
      async () => (await mdsUnread(mdsPid)) >= minUnread,
      10_000,
    );
    process.kill(daemonPid, 'SIGKILL');
    // The next daemon connects to the MDS before it serves: it can only start once the MDS runs.
    await waitFor(
      'the keeper to see the daemon die',
      async () => (await readKeeperState(stateFile))?.daemonPid === 0,
    );
  } finally {
    process.kill(mdsPid, 'SIGCONT');
  }
}
