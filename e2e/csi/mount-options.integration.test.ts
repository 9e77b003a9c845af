// StorageClass mountOptions on emulated volumes, on real FUSE mounts: what the kernel mount and the daemon get, and what is refused.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { type FsCluster, startFsCluster } from '../fs/fs-cluster.ts';
import { mountedUnder } from '../fs/leftovers.ts';
import { q, shResult } from '../fs/shell.ts';
import { NodePlugin } from './node-plugin.ts';

let cluster: FsCluster;
let node: NodePlugin;
let context: Record<string, string>;

function capability(mountFlags: string[]) {
  return { mount: { fsType: '', mountFlags }, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
}

const staging = (vol: string) => join(node.dir, `staging-${vol}`);
const target = (vol: string) => join(node.dir, 'pods', vol, 'mount');

function stageReq(vol: string, flags: string[]) {
  return {
    volumeId: `static/default/${vol}`,
    stagingTargetPath: staging(vol),
    volumeCapability: capability(flags),
    volumeContext: context,
  };
}

/** The per-mount options mountinfo shows for the mount at `path`. */
async function mountOptionsAt(path: string): Promise<string[]> {
  const line = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .find((l) => l.split(' ')[4] === path);
  assert.ok(line, `nothing mounted at ${path}`);
  return (line.split(' ')[5] ?? '').split(',');
}

/** The command line of the FUSE daemon serving the mount at `path`. */
async function daemonArgs(path: string): Promise<string[]> {
  const dir = join(node.stateDir, 'keepers');
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.json'))) {
    const s = await readKeeperState(join(dir, f));
    if (s?.mountPoint === path) return (await readFile(`/proc/${s.daemonPid}/cmdline`, 'utf8')).split('\0');
  }
  throw new Error(`no keeper for ${path}`);
}

describe('mount options of emulated volumes on real FUSE mounts', { timeout: 600_000 }, () => {
  before(async () => {
    cluster = await startFsCluster({ ossCount: 1 });
    const [dnsName = '', mountName = ''] = cluster.source.split('@tcp:/');
    context = { backend: 'emulated', dnsName, mountName, subPath: '' };
    node = new NodePlugin(cluster.dir, 'node-opts');
    await node.start();
  });

  after(async () => {
    for (const vol of ['ro', 'cached']) {
      await node?.call('NodeUnpublishVolume', { volumeId: `static/default/${vol}`, targetPath: target(vol) });
      await node?.call('NodeUnstageVolume', {
        volumeId: `static/default/${vol}`,
        stagingTargetPath: staging(vol),
      });
    }
    await node?.stop();
    await cluster?.stop();
  });

  it('ro and noatime reach the kernel mount and the pod’s bind; writes fail with EROFS', async () => {
    await node.must('NodeStageVolume', stageReq('ro', ['ro', 'noatime', 'flock']));
    await node.must('NodePublishVolume', {
      ...stageReq('ro', ['ro', 'noatime', 'flock']),
      targetPath: target('ro'),
      readonly: false,
    });
    for (const path of [staging('ro'), target('ro')]) {
      const opts = await mountOptionsAt(path);
      assert.ok(opts.includes('ro') && opts.includes('noatime'), `${path}: ${opts.join(',')}`);
    }
    const w = await shResult(`echo x > ${q(join(target('ro'), 'f'))}`);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /Read-only file system/);
  });

  it('cache=none and recovery=hard reach the FUSE daemon', async () => {
    await node.must('NodeStageVolume', stageReq('cached', ['cache=none', 'recovery=hard']));
    await node.must('NodePublishVolume', {
      ...stageReq('cached', ['cache=none', 'recovery=hard']),
      targetPath: target('cached'),
      readonly: false,
    });
    const args = await daemonArgs(staging('cached'));
    assert.ok(args.includes('--no-cache'), args.join(' '));
    assert.equal(args[args.indexOf('--recovery') + 1], 'hard');
    const w = await shResult(
      `echo cached > ${q(join(target('cached'), 'f'))} && cat ${q(join(target('cached'), 'f'))}`,
    );
    assert.equal(w.stdout.trim(), 'cached', w.stderr);
  });

  it('an unsupported option is InvalidArgument naming it, and nothing is mounted', async () => {
    const r = await node.call('NodeStageVolume', stageReq('bad', ['noatime', 'localflock']));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, status.INVALID_ARGUMENT);
    assert.match(r.details, /mount option "localflock" is not supported/);
    assert.deepEqual(mountedUnder(staging('bad')), []);
  });

  it('staging a staged volume again with other options is AlreadyExists; the same options succeed', async () => {
    const r = await node.call('NodeStageVolume', stageReq('ro', ['noatime']));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, status.ALREADY_EXISTS);
    assert.match(r.details, /with mount options \[ro, noatime, flock\], not \[noatime\]/);
    await node.must('NodeStageVolume', stageReq('ro', ['ro', 'noatime', 'flock']));
  });
});
