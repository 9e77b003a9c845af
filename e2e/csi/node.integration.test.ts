// The CSI node plugin against real servers and real FUSE mounts: stage, publish, a second node, kill -9 of the plugin and of the FUSE daemon.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { type FsCluster, startFsCluster } from '../fs/fs-cluster.ts';
import { mountedUnder, processesMentioning } from '../fs/leftovers.ts';
import { type Held, hold, q, sh, shResult, waitFor } from '../fs/shell.ts';
import { MOUNT_RWX, NodePlugin, nacre } from './node-plugin.ts';

let cluster: FsCluster;
let a: NodePlugin;
let b: NodePlugin;
let context: Record<string, string>;

const VOL = 'static/default/shared';
const stagingOf = (p: NodePlugin, vol = 'v1') => join(p.dir, `${p.nodeId}-staging-${vol}`);
const targetOf = (p: NodePlugin, name: string) => join(p.dir, `${p.nodeId}-pods`, name, 'mount');

function stageReq(p: NodePlugin, vol = 'v1', volumeId = VOL) {
  return {
    volumeId,
    stagingTargetPath: stagingOf(p, vol),
    volumeCapability: MOUNT_RWX,
    volumeContext: context,
  };
}

function publishReq(p: NodePlugin, name: string, extra: Record<string, unknown> = {}) {
  return {
    volumeId: VOL,
    stagingTargetPath: stagingOf(p),
    targetPath: targetOf(p, name),
    volumeCapability: MOUNT_RWX,
    volumeContext: context,
    readonly: false,
    ...extra,
  };
}

/** Mounts listed in /proc/self/mountinfo at exactly `path`. */
function mountsAt(path: string): number {
  return mountedUnder(path).filter((p) => p === path).length;
}

/** Keeper processes running for `stagingPath`. */
function keepersOf(stagingPath: string): number {
  return processesMentioning(stagingPath).filter((l) => l.includes('fuse-keeper')).length;
}

async function keeperStateOf(p: NodePlugin) {
  const dir = join(p.stateDir, 'keepers');
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.json'))) {
    const s = await readKeeperState(join(dir, f));
    if (s?.mountPoint === stagingOf(p)) return s;
  }
  throw new Error(`no keeper state for ${stagingOf(p)}`);
}

/** Appends `count` numbered lines through one open descriptor, one every 20 ms, reporting failures. */
function writer(file: string, count: number) {
  return hold([
    'bash',
    '-c',
    `exec 3>>${q(file)}; for ((i=0;i<${count};i++)); do echo "line $i" >&3 || echo "failed $i"; echo "wrote $i"; sleep 0.02; done; exec 3>&-; echo done`,
  ]);
}

/** Ends a writer a failed case left running (it must not write on into the next case), waiting for it at most 30 s. */
async function stopWriter(w: Held): Promise<void> {
  if (w.exited) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((r) => (timer = setTimeout(r, 30_000)));
  await Promise.race([w.kill(), bound]);
  clearTimeout(timer);
  if (!w.exited) process.stdout.write(`# writer ${w.pid} did not exit within 30 s of SIGKILL\n`);
}

async function assertAllLines(file: string, count: number) {
  const lines = (await sh(`cat ${q(file)}`, { timeoutMs: 20_000 })).trim().split('\n');
  assert.equal(lines.length, count, `expected ${count} lines in ${file}`);
  assert.deepEqual(
    lines,
    lines.map((_, i) => `line ${i}`),
  );
}

/** The shared fixture sometimes creates the file system before the MDS has registered on a loaded machine: try again. */
async function startCluster(): Promise<FsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startFsCluster({ ossCount: 2 });
    } catch (err) {
      if ((err as { code?: string }).code !== 'InsufficientServers' || attempt >= 3) throw err;
    }
  }
}

describe('nacre node (CSI Node service) on real FUSE mounts', { timeout: 600_000 }, () => {
  before(async () => {
    cluster = await startCluster();
    const [dnsName = '', mountName = ''] = cluster.source.split('@tcp:/');
    context = { backend: 'emulated', dnsName, mountName, subPath: '' };
    a = new NodePlugin(cluster.dir, 'node-a');
    // Node b starts its keepers through a launcher, as a containerised plugin does (nsenter/systemd-run there).
    b = new NodePlugin(cluster.dir, 'node-b', [
      '--keeper-command',
      `env NACRE_LAUNCHED=1 ${process.execPath} ${nacre.replace(/nacre\.ts$/, 'nacre-fuse.ts')}`,
    ]);
    await Promise.all([a.start(), b.start()]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cluster?.stop();
  });

  it('stages and publishes on one node; a second node plugin reads back what it wrote', async () => {
    await a.must('NodeStageVolume', stageReq(a));
    await a.must('NodePublishVolume', publishReq(a, 'pod1'));
    await sh(
      `mkdir ${q(join(targetOf(a, 'pod1'), 'sub'))} && echo from-node-a > ${q(join(targetOf(a, 'pod1'), 'hello'))}`,
    );

    await b.must('NodeStageVolume', stageReq(b));
    const keeperB = await keeperStateOf(b);
    assert.match(await readFile(`/proc/${keeperB.keeperPid}/environ`, 'utf8'), /NACRE_LAUNCHED=1/);
    await b.must('NodePublishVolume', publishReq(b, 'reader', { readonly: true }));
    assert.equal((await sh(`cat ${q(join(targetOf(b, 'reader'), 'hello'))}`)).trim(), 'from-node-a');
    const ro = await shResult(`echo x > ${q(join(targetOf(b, 'reader'), 'nope'))}`);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);

    // A sub-directory volume: the bind shows only that directory.
    await b.must(
      'NodePublishVolume',
      publishReq(b, 'sub', { volumeContext: { ...context, subPath: 'sub' } }),
    );
    await sh(`echo in-sub > ${q(join(targetOf(b, 'sub'), 'f'))}`);
    assert.equal((await sh(`cat ${q(join(targetOf(a, 'pod1'), 'sub', 'f'))}`)).trim(), 'in-sub');

    const info = await b.must<{ nodeId: string }>('NodeGetInfo', {});
    assert.equal(info.nodeId, 'node-b');
    const stats = await a.must<{ usage: { unit: string; total: string }[] }>('NodeGetVolumeStats', {
      volumeId: VOL,
      volumePath: targetOf(a, 'pod1'),
    });
    assert.deepEqual(
      stats.usage.map((u) => u.unit),
      ['BYTES', 'INODES'],
    );
    assert.ok(Number(stats.usage[0]?.total) > 0);
  });

  it('repeating stage and publish succeeds and mounts nothing twice', async () => {
    for (let i = 0; i < 2; i++) {
      await a.must('NodeStageVolume', stageReq(a));
      await a.must('NodePublishVolume', publishReq(a, 'pod1'));
    }
    assert.equal(mountsAt(stagingOf(a)), 1);
    assert.equal(mountsAt(targetOf(a, 'pod1')), 1);
    assert.equal(keepersOf(stagingOf(a)), 1);
    // A read-only publish that a crash cut short after the bind, before the read-only remount.
    const half = targetOf(a, 'half');
    await sh(`mkdir -p ${q(half)} && mount --bind ${q(stagingOf(a))} ${q(half)}`);
    await a.must('NodePublishVolume', publishReq(a, 'half', { readonly: true }));
    assert.equal(mountsAt(half), 1);
    assert.notEqual((await shResult(`echo x > ${q(join(half, 'nope'))}`)).code, 0);
    await a.must('NodeUnpublishVolume', { volumeId: VOL, targetPath: half });
    assert.equal(mountsAt(half), 0);
  });

  it('refuses bad requests with the CSI codes and changes nothing', async () => {
    const cases: Array<[string, object, status, RegExp]> = [
      [
        'NodePublishVolume',
        { ...publishReq(a, 'x'), stagingTargetPath: join(a.dir, 'never-staged') },
        status.FAILED_PRECONDITION,
        /NodeStageVolume first/,
      ],
      [
        'NodePublishVolume',
        { ...publishReq(a, 'x'), volumeCapability: null },
        status.INVALID_ARGUMENT,
        /volume_capability/,
      ],
      [
        'NodePublishVolume',
        { ...publishReq(a, 'x'), targetPath: '' },
        status.INVALID_ARGUMENT,
        /target_path/,
      ],
      [
        'NodeStageVolume',
        {
          ...stageReq(a, 'blk'),
          volumeCapability: { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } },
        },
        status.INVALID_ARGUMENT,
        /block/,
      ],
      ['NodeStageVolume', { ...stageReq(a, 'ctx'), volumeContext: {} }, status.INVALID_ARGUMENT, /dnsName/],
      ['NodeStageVolume', { ...stageReq(a), volumeId: '' }, status.INVALID_ARGUMENT, /volume_id/],
      [
        'NodeGetVolumeStats',
        { volumeId: 'static/default/none', volumePath: targetOf(a, 'pod1') },
        status.NOT_FOUND,
        /not staged/,
      ],
      [
        'NodeGetVolumeStats',
        { volumeId: VOL, volumePath: join(a.dir, 'elsewhere') },
        status.NOT_FOUND,
        /not a mount/,
      ],
      [
        'NodePublishVolume',
        publishReq(a, 'missing', { volumeContext: { ...context, subPath: 'no-such-dir' } }),
        status.NOT_FOUND,
        /no-such-dir/,
      ],
    ];
    for (const [method, req, code, message] of cases) {
      const r = await a.call(method, req);
      assert.equal(r.ok, false, `${method} ${JSON.stringify(req).slice(0, 120)} should fail`);
      if (!r.ok) {
        assert.equal(status[r.code], status[code], `${method}: ${r.details}`);
        assert.match(r.details, message);
      }
    }
    assert.deepEqual(mountedUnder(join(a.dir, 'node-a-pods', 'x')), []);
    assert.equal(mountsAt(stagingOf(a, 'blk')) + mountsAt(stagingOf(a, 'ctx')), 0);
  });

  it('kill -9 of the node plugin leaves a writing pod alone; after a restart the calls repeat cleanly', async (t) => {
    const file = join(targetOf(a, 'pod1'), 'plugin-restart.log');
    const w = writer(file, 200);
    t.after(() => stopWriter(w));
    await w.waitForLine(/wrote 20$/);
    await a.kill9();
    await w.waitForLine(/wrote 60$/);
    await a.start();
    await a.must('NodeStageVolume', stageReq(a));
    await a.must('NodePublishVolume', publishReq(a, 'pod1'));
    await w.waitForLine(/^done$/, 60_000);
    assert.deepEqual(
      w.lines.filter((l) => l.startsWith('failed')),
      [],
    );
    await assertAllLines(file, 200);
    assert.equal(mountsAt(stagingOf(a)), 1);
    assert.equal(mountsAt(targetOf(a, 'pod1')), 1);
    assert.equal(keepersOf(stagingOf(a)), 1);
  });

  it('kill -9 of the FUSE daemon: reported inaccessible, then restored in place under a writing pod', async (t) => {
    const file = join(targetOf(a, 'pod1'), 'daemon-crash.log');
    const w = writer(file, 200);
    t.after(() => stopWriter(w));
    await w.waitForLine(/wrote 20$/);
    const before = await keeperStateOf(a);
    // Hold the keeper still so the dead daemon is observable, then let it replace the daemon.
    process.kill(before.keeperPid, 'SIGSTOP');
    process.kill(before.daemonPid, 'SIGKILL');
    try {
      await waitFor('NodeGetVolumeHealth to report the volume inaccessible', async () => {
        const h = await a.must<{ volumeHealth: { healthStatuses: { status: string; reason: string }[] } }>(
          'NodeGetVolumeHealth',
          { volumeId: VOL },
        );
        return h.volumeHealth.healthStatuses.some(
          (s) => s.status === 'INACCESSIBLE' && s.reason === 'DaemonRestarting',
        );
      });
    } finally {
      process.kill(before.keeperPid, 'SIGCONT');
    }
    const crashedAt = Date.now();
    await waitFor(
      'the published path to answer again',
      async () => (await shResult(`stat -f ${q(targetOf(a, 'pod1'))}`, 2_000)).code === 0,
      10_000,
    );
    const restoredMs = Date.now() - crashedAt;
    await w.waitForLine(/^done$/, 60_000);
    assert.deepEqual(
      w.lines.filter((l) => l.startsWith('failed')),
      [],
    );
    await assertAllLines(file, 200);
    const afterState = await keeperStateOf(a);
    assert.equal(afterState.generation, before.generation + 1);
    const h = await a.must<{ volumeHealth: { healthStatuses: unknown[] } }>('NodeGetVolumeHealth', {
      volumeId: VOL,
    });
    assert.deepEqual(h.volumeHealth.healthStatuses, []);
    process.stdout.write(
      `# FUSE daemon replaced; published path answered ${restoredMs} ms after the keeper resumed\n`,
    );
  });

  it('keeper and daemon both killed: the plugin mounts the volume again and binds it into its targets again', async () => {
    const s = await keeperStateOf(b);
    process.kill(s.keeperPid, 'SIGKILL');
    process.kill(s.daemonPid, 'SIGKILL');
    const hello = join(targetOf(b, 'reader'), 'hello');
    // The plugin binds the new mount into the targets one after another: wait for every one of them.
    await waitFor(
      'both published paths of node b to work again',
      async () =>
        (await shResult(`cat ${q(hello)}`, 3_000)).stdout.trim() === 'from-node-a' &&
        mountsAt(targetOf(b, 'sub')) === 1 &&
        (await shResult(`stat -f ${q(targetOf(b, 'sub'))}`, 3_000)).code === 0,
      30_000,
    );
    assert.equal((await sh(`cat ${q(join(targetOf(b, 'sub'), 'f'))}`)).trim(), 'in-sub');
    assert.notEqual((await shResult(`echo x > ${q(join(targetOf(b, 'reader'), 'nope'))}`)).code, 0);
    assert.equal(mountsAt(stagingOf(b)), 1);
    assert.equal(mountsAt(targetOf(b, 'reader')), 1);
    assert.equal(keepersOf(stagingOf(b)), 1);
    // Publishing again (as the kubelet does after a plugin restart) finds the new bind in place.
    await b.must('NodePublishVolume', publishReq(b, 'reader', { readonly: true }));
    assert.equal(mountsAt(targetOf(b, 'reader')), 1);
  });

  it('kill -9 of the node plugin during NodeStage: the repeated call succeeds with one mount and one keeper', async () => {
    const pending = a.call('NodeStageVolume', stageReq(a, 'v2', 'static/default/second'));
    await waitFor('a keeper to start', async () => keepersOf(stagingOf(a, 'v2')) > 0, 20_000);
    await a.kill9();
    await pending;
    await a.start();
    await a.must('NodeStageVolume', stageReq(a, 'v2', 'static/default/second'));
    await a.must('NodeStageVolume', stageReq(a, 'v2', 'static/default/second'));
    assert.equal(mountsAt(stagingOf(a, 'v2')), 1);
    assert.equal(keepersOf(stagingOf(a, 'v2')), 1);
    assert.equal((await sh(`cat ${q(join(stagingOf(a, 'v2'), 'hello'))}`)).trim(), 'from-node-a');
    await a.must('NodeUnstageVolume', {
      volumeId: 'static/default/second',
      stagingTargetPath: stagingOf(a, 'v2'),
    });
    assert.equal(mountsAt(stagingOf(a, 'v2')), 0);
  });

  it('unpublish and unstage finish within a deadline when the servers are gone, leaving nothing behind', async () => {
    await cluster.mds.kill9();
    for (const s of cluster.osses) await s.kill9();
    const started = Date.now();
    await a.must('NodeUnpublishVolume', { volumeId: VOL, targetPath: targetOf(a, 'pod1') }, 30_000);
    await b.must('NodeUnpublishVolume', { volumeId: VOL, targetPath: targetOf(b, 'reader') }, 30_000);
    await b.must('NodeUnpublishVolume', { volumeId: VOL, targetPath: targetOf(b, 'sub') }, 30_000);
    await a.must('NodeUnstageVolume', { volumeId: VOL, stagingTargetPath: stagingOf(a) }, 30_000);
    await b.must('NodeUnstageVolume', { volumeId: VOL, stagingTargetPath: stagingOf(b) }, 30_000);
    assert.ok(Date.now() - started < 60_000);
    // Repeating them is still success.
    await a.must('NodeUnpublishVolume', { volumeId: VOL, targetPath: targetOf(a, 'pod1') });
    await a.must('NodeUnstageVolume', { volumeId: VOL, stagingTargetPath: stagingOf(a) });
    assert.deepEqual(mountedUnder(cluster.dir), []);
    await waitFor('the keepers and daemons to exit', async () =>
      processesMentioning(cluster.dir).every((l) => !l.includes('fuse-keeper') && !l.includes('fuse-serve')),
    );
    assert.deepEqual(await readdir(join(a.stateDir, 'volumes')), []);
    assert.ok((await readFile(join(a.dir, 'node-a.log'), 'utf8')).length > 0);
  });
});
