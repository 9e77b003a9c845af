process.env['UV_THREADPOOL_SIZE'] ??= '16'; // the FUSE read loops block pool threads; set before the pool starts

// A node's mount namespace made beside a FUSE test: the copied mount is detached there, so the host's unmount ends the session.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { mountFuse } from '../../src/lustre/fuse/mount.ts';
import { MemoryClient } from '../../test/lustre/memory-client.ts';
import { run } from '../fs/shell.ts';
import { detachCopiedFuseMounts } from './copied-mounts.ts';
import { makePrivateMount } from './node-host.ts';

const runner = new ExecRunner();

async function mountPointsIn(ns: string): Promise<string> {
  return (await run(['nsenter', `--mount=${ns}`, '--', 'cat', '/proc/self/mountinfo'], { timeoutMs: 10_000 }))
    .stdout;
}

test('a FUSE mount copied into a new node namespace is detached there, and the host unmount ends its session', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-copied-'));
  const mnt = join(dir, 'mnt');
  const nsDir = join(dir, 'ns');
  await mkdir(mnt);
  await mkdir(nsDir);
  await makePrivateMount(nsDir);
  const ns = join(nsDir, 'mnt-ns');
  await writeFile(ns, '');
  const mount = await mountFuse({ client: new MemoryClient(), mountPoint: mnt, source: 'nacre-copied' });
  try {
    // As the harness makes a node: a slave namespace, which copies every mount the host has now.
    const made = await run(['unshare', `--mount=${ns}`, '--propagation', 'slave', 'true'], {
      timeoutMs: 10_000,
    });
    assert.equal(made.code, 0, made.stderr);
    assert.match(
      await mountPointsIn(ns),
      new RegExp(` ${mnt} .* - fuse\\.nacre `),
      'the copy is there at first',
    );
    await detachCopiedFuseMounts(runner, ns);
    assert.doesNotMatch(await mountPointsIn(ns), new RegExp(` ${mnt} `));
    await mount.unmount({ timeoutMs: 10_000 });
    let ended = false;
    void mount.closed.then(() => {
      ended = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.ok(ended, 'the FUSE session ended with the host unmount');
  } finally {
    await mount.unmount().catch(() => undefined);
    await run(['umount', ns], { timeoutMs: 10_000 });
    await run(['umount', nsDir], { timeoutMs: 10_000 });
    await rm(dir, { recursive: true, force: true });
  }
});
