// NodeGetVolumeHealth and NodeGetVolumeStats on a FUSE mount that does not answer (daemon stopped, or dead with its keeper stopped): bounded, right answer, no pile-up.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { mdsUnread } from '../fs/daemon-kill.ts';
import { type FsCluster, startFsCluster } from '../fs/fs-cluster.ts';
import { sh, waitFor, waitingOnFuse } from '../fs/shell.ts';
import { MOUNT_RWX, NodePlugin } from './node-plugin.ts';

let cluster: FsCluster;
let p: NodePlugin;
const VOL = 'static/default/health';

type Health = { volumeHealth: { healthStatuses: { status: string; reason: string; message: string }[] } };

/** Bound the plugin must answer within (its probe's deadline is 3 s), well under the caller's deadline. */
const BOUND_MS = 10_000;

const staging = () => join(p.dir, 'health-staging');

async function keeperState() {
  const dir = join(p.stateDir, 'keepers');
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.json'))) {
    const s = await readKeeperState(join(dir, f));
    if (s?.mountPoint === staging()) return s;
  }
  throw new Error(`no keeper state for ${staging()}`);
}

/** The plugin's child processes running `stat` (its probes). */
async function probesOfPlugin(): Promise<number[]> {
  const out = await sh(`ps -o pid=,comm= --ppid ${p.pid} || true`);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === 'stat')
    .map(([pid]) => Number(pid));
}

/** A call that must answer within BOUND_MS (the caller's own deadline is far longer). */
async function timed<T>(method: string): Promise<{ res: T; ms: number }> {
  const started = Date.now();
  const req = method === 'NodeGetVolumeStats' ? { volumeId: VOL, volumePath: staging() } : { volumeId: VOL };
  const r = await p.call<T>(method, req, 60_000);
  const ms = Date.now() - started;
  assert.ok(r.ok, `${method} failed: ${r.ok ? '' : r.details}`);
  assert.ok(ms < BOUND_MS, `${method} took ${ms} ms`);
  process.stdout.write(`# ${method} answered in ${ms} ms\n`);
  return { res: r.res, ms };
}

/** NodeGetVolumeStats of the staged volume, which must refuse within BOUND_MS with UNAVAILABLE (never OK without numbers): its message. */
async function statsRefused(): Promise<string> {
  const started = Date.now();
  const r = await p.call('NodeGetVolumeStats', { volumeId: VOL, volumePath: staging() }, 60_000);
  const ms = Date.now() - started;
  assert.ok(!r.ok, `NodeGetVolumeStats answered OK: ${JSON.stringify(r.ok ? r.res : '')}`);
  assert.equal(r.code, grpc.status.UNAVAILABLE, r.details);
  assert.ok(ms < BOUND_MS, `NodeGetVolumeStats took ${ms} ms`);
  process.stdout.write(`# NodeGetVolumeStats refused in ${ms} ms: ${r.details}\n`);
  return r.details;
}

async function healthy(): Promise<boolean> {
  const r = await p.call<Health>('NodeGetVolumeHealth', { volumeId: VOL }, 20_000);
  return r.ok && r.res.volumeHealth.healthStatuses.length === 0;
}

describe('node plugin health probes of a FUSE mount that does not answer', { timeout: 300_000 }, () => {
  before(async () => {
    cluster = await startFsCluster({ ossCount: 1 });
    const [dnsName = '', mountName = ''] = cluster.source.split('@tcp:/');
    p = new NodePlugin(cluster.dir, 'node-h');
    await p.start();
    await p.must('NodeStageVolume', {
      volumeId: VOL,
      stagingTargetPath: staging(),
      volumeCapability: MOUNT_RWX,
      volumeContext: { backend: 'emulated', dnsName, mountName, subPath: '' },
    });
    await waitFor('the staged volume to be healthy', healthy, 30_000);
  });

  after(async () => {
    await p?.call('NodeUnstageVolume', { volumeId: VOL, stagingTargetPath: staging() }, 30_000);
    await p?.stop();
    await cluster?.stop();
  });

  it('daemon stopped: inaccessible within the bound, saying the daemon is stopped', async () => {
    const s = await keeperState();
    process.kill(s.daemonPid, 'SIGSTOP');
    try {
      const { res } = await timed<Health>('NodeGetVolumeHealth');
      const [h] = res.volumeHealth.healthStatuses;
      process.stdout.write(`# ${h?.reason}: ${h?.message}\n`);
      assert.equal(h?.status, 'INACCESSIBLE');
      assert.match(h.message, new RegExp(`FUSE daemon \\(pid ${s.daemonPid}\\) is stopped`));
      const probesBefore = (await probesOfPlugin()).length;
      assert.match(await statsRefused(), new RegExp(`FUSE daemon \\(pid ${s.daemonPid}\\) is stopped`));
      assert.equal((await probesOfPlugin()).length, probesBefore, 'no probe started on the stopped daemon');
    } finally {
      process.kill(s.daemonPid, 'SIGCONT');
    }
    await waitFor('the volume to be healthy again', healthy, 30_000);
  });

  it("a probe's statfs held by a daemon killed while its keeper is stopped: answers within the bound, one stuck probe at most", async () => {
    const s = await keeperState();
    const mdsPid = cluster.mds.pid!;
    // The MDS holds the daemon's statfs: the daemon has read the probe's request when it dies.
    process.kill(mdsPid, 'SIGSTOP');
    let first: Promise<unknown> | undefined;
    let stopped = false;
    try {
      const started = Date.now();
      first = p.call<Health>('NodeGetVolumeHealth', { volumeId: VOL }, 30_000);
      await waitFor(
        "the plugin's probe to wait on the FUSE daemon",
        async () => {
          const pids = await probesOfPlugin();
          return pids.length > 0 && (await Promise.all(pids.map(waitingOnFuse))).every(Boolean);
        },
        10_000,
      );
      await waitFor('the statfs to reach the stopped MDS', async () => (await mdsUnread(mdsPid)) > 0, 10_000);
      process.kill(s.keeperPid, 'SIGSTOP');
      stopped = true;
      process.kill(s.daemonPid, 'SIGKILL');
      process.kill(mdsPid, 'SIGCONT');
      const r = (await first) as Awaited<ReturnType<typeof p.call<Health>>>;
      const ms = Date.now() - started;
      assert.ok(r.ok, `NodeGetVolumeHealth failed: ${r.ok ? '' : r.details}`);
      assert.ok(ms < BOUND_MS, `NodeGetVolumeHealth took ${ms} ms`);
      const [h] = r.res.volumeHealth.healthStatuses;
      process.stdout.write(`# the call with the stuck probe answered in ${ms} ms: ${h?.message}\n`);
      assert.equal(h?.status, 'INACCESSIBLE');
      assert.equal(h.reason, 'DaemonRestarting');
      assert.match(h.message, new RegExp(`FUSE daemon \\(pid ${s.daemonPid}\\) .*died`));
      assert.match(h.message, new RegExp(`keeper \\(pid ${s.keeperPid}\\) is stopped`));
      // Asking again, also many at once, answers within the bound and starts no probe behind the stuck one.
      const [again] = await Promise.all([
        timed<Health>('NodeGetVolumeHealth'),
        timed<Health>('NodeGetVolumeHealth'),
        statsRefused(),
        statsRefused(),
      ]);
      assert.equal(again.res.volumeHealth.healthStatuses[0]?.reason, 'DaemonRestarting');
      assert.ok((await probesOfPlugin()).length <= 1, `probes: ${(await probesOfPlugin()).join(' ')}`);
    } finally {
      process.kill(mdsPid, 'SIGCONT');
      if (stopped) process.kill(s.keeperPid, 'SIGCONT');
      await first;
    }
    await waitFor('the volume to be healthy again', healthy, 30_000);
    await waitFor('the stuck probe to end', async () => (await probesOfPlugin()).length === 0, 10_000);
    assert.equal((await keeperState()).generation, s.generation + 1);
  });
});
