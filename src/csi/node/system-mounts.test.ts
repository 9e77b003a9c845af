// SystemMounts.probe over a fake command seam: one probe per path, none started behind a stuck one; ExecRunner gives up on a killed command that does not exit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuseMount } from '../../../test/csi/node-fixtures.ts';
import { type CommandResult, ExecRunner, type RunOptions } from '../../lib/command-runner.ts';
import { DeadlineExceededError } from '../../lib/errors.ts';
import type { MountEntry } from './mountinfo.ts';
import { SystemMounts } from './system-mounts.ts';

const PATH = '/kubelet/staging/v1';
const OK: CommandResult = { code: 0, stdout: '4096 100 50 40 1000 900', stderr: '' };

/** A runner whose `stat` calls wait for the test to settle them, over the mount table `table` (default: nothing mounted). */
function heldRunner(table: MountEntry[] = []) {
  const calls: Array<{
    args: readonly string[];
    opts: RunOptions;
    settle: (r: CommandResult | Error) => void;
  }> = [];
  const runner = {
    run(_command: string, args: readonly string[], opts: RunOptions) {
      return new Promise<CommandResult>((resolve, reject) => {
        calls.push({ args, opts, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
      });
    },
  };
  const mounts = new SystemMounts({ runner, mountTable: async () => table, probeTimeoutMs: 50 });
  return { calls, mounts };
}

/** A FUSE mount (or a bind of one) at `mountPoint` of device `device`. */
const mounted = (mountPoint: string, device: string, id: number) =>
  fuseMount(mountPoint, { id, parentId: 1, device });

/** Makes the first held probe time out with its child stuck in the kernel; resolves the stuck child's exit with the returned function. */
async function stuckProbe(calls: ReturnType<typeof heldRunner>['calls'], i: number): Promise<() => void> {
  await new Promise((r) => setImmediate(r));
  let exited = () => {};
  calls[i]?.opts.onStuck?.(4242 + i, new Promise<void>((r) => (exited = r)));
  calls[i]?.settle(new DeadlineExceededError('stat did not finish'));
  return () => exited();
}

describe('SystemMounts.probe', () => {
  it('callers at the same time share one probe of a path', async () => {
    const { calls, mounts } = heldRunner();
    const probes = [1, 2, 3].map(() => mounts.probe(PATH, AbortSignal.timeout(5_000)));
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 1);
    calls[0]?.settle(OK);
    for (const p of await Promise.all(probes)) assert.equal(p.ok, true);
  });

  it('a caller that gives up leaves the shared probe to the others', async () => {
    const { calls, mounts } = heldRunner();
    const ac = new AbortController();
    const first = mounts.probe(PATH, ac.signal);
    const second = mounts.probe(PATH, AbortSignal.timeout(5_000));
    ac.abort(new Error('caller gone'));
    await assert.rejects(first, /caller gone/);
    calls[0]?.settle(OK);
    assert.equal((await second).ok, true);
  });

  it('while a killed probe is stuck, the path does not answer and no other probe starts; after it exits one does', async () => {
    const { calls, mounts } = heldRunner();
    const first = mounts.probe(PATH, AbortSignal.timeout(5_000));
    await new Promise((r) => setImmediate(r));
    let exited = () => {};
    calls[0]?.opts.onStuck?.(4242, new Promise<void>((r) => (exited = r)));
    calls[0]?.settle(new DeadlineExceededError('stat did not finish'));
    const r1 = await first;
    assert.equal(r1.ok, false);
    assert.match(r1.ok ? '' : r1.message, /does not answer statfs within 0.05 s/);
    const r2 = await mounts.probe(PATH, AbortSignal.timeout(5_000));
    assert.match(r2.ok ? '' : r2.message, /earlier probe \(pid 4242\) has waited on it/);
    assert.equal(calls.length, 1);
    exited();
    await new Promise((r) => setImmediate(r));
    const third = mounts.probe(PATH, AbortSignal.timeout(5_000));
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2);
    calls[1]?.settle(OK);
    assert.equal((await third).ok, true);
  });
});

describe('SystemMounts.probe of a staged volume and its published binds', () => {
  const TARGET = '/kubelet/pods/p1/volumes/v1/mount';

  it('while a probe of the staging path is stuck, a published bind of it (same device) starts no probe of its own', async () => {
    const { calls, mounts } = heldRunner([mounted(PATH, '0:99', 2), mounted(TARGET, '0:99', 3)]);
    const first = mounts.probe(PATH, AbortSignal.timeout(5_000));
    const exit = await stuckProbe(calls, 0);
    assert.equal((await first).ok, false);
    const t = await mounts.probe(TARGET, AbortSignal.timeout(5_000));
    assert.equal(t.ok, false);
    assert.match(
      t.ok ? '' : t.message,
      /earlier probe \(pid 4242\) has waited on its file system \(at \/kubelet\/staging\/v1\)/,
    );
    assert.equal(calls.length, 1, 'no second probe stuck behind the first');
    exit();
    await new Promise((r) => setImmediate(r));
    const again = mounts.probe(TARGET, AbortSignal.timeout(5_000));
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2);
    assert.equal(
      calls[1]?.args.at(-1),
      TARGET,
      'the target is probed itself (its usage may be its sub-directory’s quota)',
    );
    calls[1]?.settle(OK);
    assert.equal((await again).ok, true);
  });

  it('a new mount at a path whose old mount has a stuck probe (another device) is probed afresh', async () => {
    const table = [mounted(PATH, '0:99', 2)];
    const { calls, mounts } = heldRunner(table);
    const first = mounts.probe(PATH, AbortSignal.timeout(5_000));
    await stuckProbe(calls, 0);
    assert.equal((await first).ok, false);
    // The old mount was detached lazily (its stuck request still held) and the volume staged again.
    table[0] = mounted(PATH, '0:100', 4);
    const fresh = mounts.probe(PATH, AbortSignal.timeout(5_000));
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2);
    calls[1]?.settle(OK);
    assert.equal((await fresh).ok, true);
  });
});

describe('ExecRunner', () => {
  it('rejects soon after its deadline when the killed command does not end (here: a child holds its output open)', async () => {
    let stuck: { pid: number; exited: Promise<void> } | undefined;
    const started = Date.now();
    await assert.rejects(
      new ExecRunner().run('sh', ['-c', 'sleep 2 & wait'], {
        timeoutMs: 100,
        onStuck: (pid, exited) => (stuck = { pid, exited }),
      }),
      DeadlineExceededError,
    );
    assert.ok(Date.now() - started < 1_900, `took ${Date.now() - started} ms`);
    assert.ok(stuck && stuck.pid > 0);
    await stuck.exited;
  });
});
