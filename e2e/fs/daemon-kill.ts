// Killing a keeper-held mount's FUSE daemon while its request waits at a stopped MDS: the request reached the MDS, the kernel resends it to the next daemon.
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import type { FsCluster } from './fs-cluster.ts';
import { sh, waitFor, waitingOnFuse } from './shell.ts';

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
