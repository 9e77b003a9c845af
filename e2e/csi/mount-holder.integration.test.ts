// The mount holder (nacre mount-holder) with a node plugin in its own PID namespace, as in a container: kill -9 of the plugin under a writer, re-adoption, clean unstage, refusals.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HolderClient } from '../../src/csi/holder/holder-client.ts';
import { type Child, startChild } from '../../src/lib/supervisor.ts';
import { type FsCluster, startFsCluster } from '../fs/fs-cluster.ts';
import { mountedUnder, processesMentioning } from '../fs/leftovers.ts';
import { hold, q, sh, waitFor } from '../fs/shell.ts';
import { MOUNT_RWX, NodePlugin, nacre } from './node-plugin.ts';

let cluster: FsCluster;
let plugin: NodePlugin;
let holder: Child | undefined;
let socket: string;
let context: Record<string, string>;

const VOL = 'static/default/held';
const staging = (vol = 'v1') => join(plugin.dir, `${plugin.nodeId}-staging-${vol}`);
const target = (name: string) => join(plugin.dir, `${plugin.nodeId}-pods`, name, 'mount');
const stageReq = (vol = 'v1', volumeId = VOL) => ({
  volumeId,
  stagingTargetPath: staging(vol),
  volumeCapability: MOUNT_RWX,
  volumeContext: context,
});
const publishReq = (name: string) => ({
  volumeId: VOL,
  stagingTargetPath: staging(),
  targetPath: target(name),
  volumeCapability: MOUNT_RWX,
  volumeContext: context,
  readonly: false,
});
const mountsAt = (path: string) => mountedUnder(path).filter((p) => p === path).length;
const keepersOf = (path: string) => processesMentioning(path).filter((l) => l.includes('fuse-keeper')).length;

async function startHolder(): Promise<Child> {
  return startChild({
    name: 'mount holder',
    command: process.execPath,
    args: [
      ...[nacre, 'mount-holder', '--socket', socket, '--state-dir', plugin.stateDir],
      ...['--kubelet-dir', plugin.dir],
    ],
    logFile: join(cluster.dir, 'logs', 'holder.log'),
    timeoutMs: 60_000,
  });
}

async function health(): Promise<unknown[]> {
  const h = await plugin.must<{ volumeHealth: { healthStatuses: unknown[] } }>('NodeGetVolumeHealth', {
    volumeId: VOL,
  });
  return h.volumeHealth.healthStatuses;
}

describe('nacre mount-holder keeps FUSE mounts through node plugin restarts', { timeout: 300_000 }, () => {
  before(async () => {
    cluster = await startFsCluster({ ossCount: 2 });
    const [dnsName = '', mountName = ''] = cluster.source.split('@tcp:/');
    context = { backend: 'emulated', dnsName, mountName, subPath: '' };
    socket = join(cluster.dir, 'holder', 'holder.sock');
    // The plugin is PID 1 of its own PID namespace: when it dies, everything it started dies too, as in a container.
    plugin = new NodePlugin(
      cluster.dir,
      'node-h',
      ['--mount-holder', socket],
      ['unshare', '--pid', '--fork', '--kill-child'],
    );
    holder = await startHolder();
    await plugin.start();
  });

  after(async () => {
    await plugin?.stop();
    await holder?.stop();
    await cluster?.stop();
  });

  it('kill -9 of the plugin (its whole PID namespace) leaves a writer alone; a new plugin re-adopts the volume', async () => {
    await plugin.must('NodeStageVolume', stageReq());
    await plugin.must('NodePublishVolume', publishReq('pod1'));
    const file = join(target('pod1'), 'held.log');
    const count = 300;
    const w = hold([
      'bash',
      '-c',
      `exec 3>>${q(file)}; for ((i=0;i<${count};i++)); do echo "line $i" >&3 || echo "failed $i"; echo "wrote $i"; sleep 0.02; done; exec 3>&-; echo done`,
    ]);
    await w.waitForLine(/wrote 20$/);
    const pluginPid = plugin.pid!;
    await plugin.kill9();
    assert.deepEqual(
      processesMentioning(`--node-id node-h`),
      [],
      `plugin ${pluginPid} and its children are gone`,
    );
    await w.waitForLine(/wrote 80$/);
    assert.equal(keepersOf(staging()), 1, "the holder's keeper survived the plugin");

    await plugin.start();
    await plugin.must('NodeStageVolume', stageReq());
    await plugin.must('NodePublishVolume', publishReq('pod1'));
    assert.deepEqual(await health(), [], 'the new plugin sees the keeper alive through the holder');

    // The holder alone killed: its keepers (own sessions) stay, and a new holder adopts them.
    holder!.process.kill('SIGKILL');
    await holder!.exited;
    await w.waitForLine(/wrote 140$/);
    holder = await startHolder();
    assert.equal(keepersOf(staging()), 1);
    assert.match(await readFile(join(cluster.dir, 'logs', 'holder.log'), 'utf8'), /adoptedKeepers[^\n]*1/);
    assert.deepEqual(await health(), []);

    await w.waitForLine(/^done$/, 60_000);
    assert.deepEqual(
      w.lines.filter((l) => l.startsWith('failed')),
      [],
    );
    const lines = (await sh(`cat ${q(file)}`, { timeoutMs: 20_000 })).trim().split('\n');
    assert.deepEqual(
      lines,
      Array.from({ length: count }, (_, i) => `line ${i}`),
    );
    assert.equal(mountsAt(staging()), 1);
    assert.equal(mountsAt(target('pod1')), 1);

    await plugin.must('NodeUnpublishVolume', { volumeId: VOL, targetPath: target('pod1') });
    await plugin.must('NodeUnstageVolume', { volumeId: VOL, stagingTargetPath: staging() });
    assert.equal(mountsAt(staging()), 0);
    assert.equal(mountsAt(target('pod1')), 0);
    await waitFor('the keeper to exit after the unmount', async () => keepersOf(staging()) === 0);
  });

  it('kill -9 of the plugin during NodeStage: the repeated call finds the keeper the holder started', async () => {
    const req = stageReq('v2', 'static/default/second');
    const pending = plugin.call('NodeStageVolume', req);
    await waitFor('a keeper to start', async () => keepersOf(staging('v2')) > 0);
    await plugin.kill9();
    await pending;
    await plugin.start();
    await plugin.must('NodeStageVolume', req);
    await plugin.must('NodeStageVolume', req);
    assert.equal(mountsAt(staging('v2')), 1);
    assert.equal(keepersOf(staging('v2')), 1);
    await sh(`echo second > ${q(join(staging('v2'), 'f'))}`);
    await plugin.must('NodeUnstageVolume', { volumeId: req.volumeId, stagingTargetPath: staging('v2') });
    assert.equal(mountsAt(staging('v2')), 0);
    await waitFor('the keeper to exit', async () => keepersOf(staging('v2')) === 0);
  });

  it('refuses unknown and out-of-bounds requests, changing nothing', async () => {
    const c = new HolderClient(socket);
    const call = (req: object) => c.call(req, 5_000, AbortSignal.timeout(10_000));
    const keepers = join(plugin.stateDir, 'keepers');
    const cases: Array<[object, RegExp]> = [
      [{ v: 1, op: 'exec', command: 'sh' }, /unknown request "exec"/],
      [{ v: 2, op: 'status', stateFile: join(keepers, `${'a'.repeat(24)}.json`) }, /protocol version 2/],
      [{ v: 1, op: 'status', stateFile: '/etc/shadow' }, /is not a keepers file/],
      [
        {
          ...{ v: 1, op: 'start', source: cluster.source, target: join(cluster.dir, '..', 'elsewhere') },
          ...{
            stateFile: join(keepers, `${'b'.repeat(24)}.json`),
            logFile: join(plugin.stateDir, 'logs', `${'b'.repeat(24)}.log`),
          },
          options: [],
        },
        /is not below/,
      ],
      [
        {
          ...{ v: 1, op: 'start', source: cluster.source, target: staging('v3') },
          ...{
            stateFile: join(keepers, `${'c'.repeat(24)}.json`),
            logFile: join(plugin.stateDir, 'logs', `${'c'.repeat(24)}.log`),
          },
          options: ['exec-this'],
        },
        /mount option "exec-this" is not supported/,
      ],
    ];
    for (const [req, message] of cases) {
      await assert.rejects(call(req), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'InvalidArgument', err.message);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(mountedUnder(cluster.dir), []);
    assert.deepEqual(
      processesMentioning(cluster.dir).filter((l) => l.includes('fuse-keeper')),
      [],
    );
    // A status of a mount nobody keeps is no error: there is none.
    assert.equal(
      await c.status(join(keepers, `${'d'.repeat(24)}.json`), AbortSignal.timeout(10_000)),
      undefined,
    );
  });
});
