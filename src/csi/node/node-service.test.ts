// nodeService over fake mount commands, mount table and mounter (the node's seams): what a failed NodeStageVolume leaves.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { NacreError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import type { Mounter } from './mounter.ts';
import { nodeService } from './node-service.ts';
import { NodeState } from './node-state.ts';
import { SystemMounts } from './system-mounts.ts';
import { VolumeMonitor } from './volume-monitor.ts';

describe('nodeService NodeStageVolume', () => {
  it('a mount that fails leaves no volume record behind, so health and metrics do not count it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nacre-node-'));
    try {
      const state = new NodeState(join(dir, 'state'));
      const mountTable = async () => [];
      const runner: CommandRunner = { run: async () => ({ code: 0, stdout: '', stderr: '' }) };
      const mounts = new SystemMounts({ runner, mountTable });
      const failing: Mounter = {
        fsType: 'fuse.nacre',
        source: () => 'mgs@tcp:/fs',
        mount: async () => {
          throw new NacreError('MountFailed', 'mounting mgs@tcp:/fs failed: connection refused');
        },
      };
      const log = logger('test');
      const mounters = { emulated: failing, aws: failing };
      const monitor = new VolumeMonitor({
        state,
        mounts,
        mountTable,
        mounters,
        keeperState: async () => undefined,
        log,
      });
      const node = nodeService({ nodeId: 'n1', state, mounts, mountTable, mounters, monitor, log });
      const stage = node.NodeStageVolume;
      assert.ok(stage);
      await assert.rejects(
        stage(
          {
            volumeId: 'static/default/fs',
            stagingTargetPath: join(dir, 'staging'),
            volumeCapability: {
              mount: { fsType: '', mountFlags: [], volumeMountGroup: '' },
              accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' },
            },
            volumeContext: { dnsName: 'mgs', mountName: 'fs' },
          } as unknown as Parameters<typeof stage>[0],
          { signal: AbortSignal.timeout(5_000) },
        ),
        /connection refused/,
      );
      assert.deepEqual(await state.list(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
