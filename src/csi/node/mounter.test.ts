import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandRunner, RunOptions } from '../../lib/command-runner.ts';
import { FuseMounter, LustreKernelMounter } from './mounter.ts';

/** Records command lines and answers with a scripted result. */
class ScriptedRunner implements CommandRunner {
  readonly calls: Array<{ command: string; args: readonly string[]; opts: RunOptions }> = [];
  private readonly result: { code: number; stderr?: string };
  constructor(result: { code: number; stderr?: string }) {
    this.result = result;
  }
  async run(command: string, args: readonly string[], opts: RunOptions) {
    this.calls.push({ command, args, opts });
    return { code: this.result.code, stdout: '', stderr: this.result.stderr ?? '' };
  }
}

describe('LustreKernelMounter', () => {
  const spec = {
    dnsName: 'fs-0123.fsx.us-east-1.amazonaws.com',
    mountName: 'abcdef',
    options: ['flock', 'noatime'],
  };

  it('runs mount -t lustre <dns>@tcp:/<mountname> with the StorageClass mount options, with a deadline', async () => {
    const runner = new ScriptedRunner({ code: 0 });
    await new LustreKernelMounter(runner, 5_000).mount(
      spec,
      '/var/lib/kubelet/staging/v1',
      AbortSignal.timeout(1000),
    );
    assert.equal(runner.calls.length, 1);
    const call = runner.calls[0]!;
    assert.equal(call.command, 'mount');
    assert.deepEqual(call.args, [
      '-t',
      'lustre',
      '-o',
      'flock,noatime',
      'fs-0123.fsx.us-east-1.amazonaws.com@tcp:/abcdef',
      '/var/lib/kubelet/staging/v1',
    ]);
    assert.equal(call.opts.timeoutMs, 5_000);
    assert.ok(call.opts.signal);
  });

  it("passes no -o without options, and reports mount(8)'s own message on failure", async () => {
    const runner = new ScriptedRunner({ code: 19, stderr: 'mount: unknown filesystem type lustre' });
    const m = new LustreKernelMounter(runner);
    await assert.rejects(
      m.mount({ ...spec, options: [] }, '/t', AbortSignal.timeout(1000)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'MountFailed');
        assert.match(err.message, /unknown filesystem type lustre/);
        return true;
      },
    );
    assert.deepEqual(runner.calls[0]!.args, [
      '-t',
      'lustre',
      'fs-0123.fsx.us-east-1.amazonaws.com@tcp:/abcdef',
      '/t',
    ]);
    assert.equal(m.source(spec), 'fs-0123.fsx.us-east-1.amazonaws.com@tcp:/abcdef');
  });
});

describe('FuseMounter', () => {
  const fuse = new FuseMounter({
    stateDir: '/nonexistent',
    keeperCommand: () => ({ command: 'false', args: [] }),
    mountTable: async () => [],
  });

  it('names the source as the mount shows it, so a repeated NodeStageVolume recognises its own mount', () => {
    // The keeper mounts <host>:<port>@tcp:/<fsname>, adding Lustre's MGS port when the DNS name has none.
    assert.equal(
      fuse.source({ dnsName: 'mgs.example', mountName: 'fs', options: [] }),
      'mgs.example:988@tcp:/fs',
    );
    assert.equal(
      fuse.source({ dnsName: 'mgs.example:9400', mountName: 'fs', options: [] }),
      'mgs.example:9400@tcp:/fs',
    );
  });
});
