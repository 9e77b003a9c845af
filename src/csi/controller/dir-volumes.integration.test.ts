// Sub-directory volumes on the real MGS, MDS and OSS servers: staged create, stripe policy, project quota (EDQUOT), expansion, onDelete.
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { connectLustre, type LustreClient } from '../../lustre/client/index.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../../lustre/types.ts';
import type { CsiError } from '../csi-error.ts';
import {
  ARCHIVED_DIR,
  createDirVolume,
  deleteDirVolume,
  expandDirVolume,
  findDirVolume,
  listDir,
  listDirVolumes,
  RETAINED_DIR,
  type SharedFs,
  VOLUMES_DIR,
} from './dir-volumes.ts';

const MiB = 1 << 20;
let cluster: TestCluster;
let fs: LustreClient;
let shared: SharedFs;
const signal = AbortSignal.timeout(120_000);

before(async () => {
  cluster = await startTestCluster({ ossCount: 2, ostCapacityBytes: 256 * MiB });
  fs = await connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 'csi-test' });
  shared = {
    namespace: 'ns',
    name: 'shared',
    fileSystemId: 'fs-0123456789abcdef0',
    dnsName: cluster.mgsAddress,
    mountName: cluster.fsname,
  };
});
after(async () => {
  await fs?.close();
  await cluster?.close();
});

async function dirIno(...path: string[]): Promise<number> {
  return (await fs.resolvePath(`/${path.join('/')}`, signal)).ino;
}

async function names(path: string): Promise<string[]> {
  return (await listDir(fs, await dirIno(path), signal)).map((e) => e.name).sort();
}

async function writeUntilError(
  dir: number,
  name: string,
  bytes: number,
): Promise<{ written: number; error?: unknown }> {
  const { handle } = await fs.create(
    ROOT_CREDENTIALS,
    dir,
    name,
    0o644,
    constants.O_WRONLY | constants.O_CREAT,
    signal,
  );
  let written = 0;
  try {
    while (written < bytes) {
      written += await fs.write(handle, written, Buffer.alloc(MiB, 7), signal);
    }
    return { written };
  } catch (error) {
    return { written, error };
  } finally {
    await fs.release(handle, signal).catch(() => undefined);
  }
}

test('a volume directory gets its stripe policy, a project quota the writer hits as EDQUOT, and a context the node can mount', async () => {
  const v = await createDirVolume(
    fs,
    shared,
    {
      dir: 'pvc-a',
      csiName: 'pvc-a',
      quotaBytes: 4 * MiB,
      stripeCount: 2,
      stripeSize: MiB,
      onDelete: 'delete',
    },
    signal,
  );
  assert.equal(v.volumeId, 'dir/ns/shared/pvc-a');
  assert.equal(v.capacityBytes, String(4 * MiB));
  assert.deepEqual(v.volumeContext, {
    backend: 'emulated',
    dnsName: cluster.mgsAddress,
    mountName: cluster.fsname,
    subPath: 'csi-volumes/pvc-a',
    fileSystemId: 'fs-0123456789abcdef0',
    fileSystemNamespace: 'ns',
    fileSystemName: 'shared',
  });
  const ino = await dirIno(VOLUMES_DIR, 'pvc-a');
  const stripe = await fs.getstripe(ino, signal);
  assert.match(JSON.stringify(stripe), /"stripeCount":2/);
  assert.deepEqual(await fs.getProject(ino, signal), { projectId: ino, inherit: true });
  // A writer inside the volume stops at its quota with EDQUOT, not at the file system's size.
  const sub = await fs.mkdir(ROOT_CREDENTIALS, ino, 'data', 0o755, signal);
  const w = await writeUntilError(sub.ino, 'big', 16 * MiB);
  assert.ok(
    w.error instanceof FsError && w.error.code === 'EDQUOT',
    `expected EDQUOT, got ${String(w.error)}`,
  );
  assert.ok(w.written <= 4 * MiB + 2 * MiB, `wrote ${w.written} bytes past a 4 MiB quota`);
  // Growing the volume raises the quota: the same writer can go on.
  assert.equal(await expandDirVolume(fs, 'pvc-a', 32 * MiB, signal), 32 * MiB);
  assert.equal(await expandDirVolume(fs, 'pvc-a', 8 * MiB, signal), 32 * MiB, 'never shrinks');
  const more = await writeUntilError(sub.ino, 'more', 8 * MiB);
  assert.equal(more.error, undefined);
  assert.equal((await findDirVolume(fs, shared, 'pvc-a', signal))?.capacityBytes, String(32 * MiB));
});

test('a repeat returns the same volume; another capacity under the same name is AlreadyExists', async () => {
  const req = { dir: 'pvc-b', csiName: 'pvc-b', quotaBytes: 8 * MiB, onDelete: 'delete' as const };
  const a = await createDirVolume(fs, shared, req, signal);
  const b = await createDirVolume(fs, shared, req, signal);
  assert.deepEqual(a, b);
  await assert.rejects(
    createDirVolume(fs, shared, { ...req, quotaBytes: 9 * MiB }, signal),
    (err: CsiError) => {
      assert.equal(err.code, 'AlreadyExists');
      return true;
    },
  );
  // The same capacity with other parameters is AlreadyExists too.
  for (const other of [{ stripeCount: 2 }, { stripeSize: 2 * MiB }, { onDelete: 'retain' as const }]) {
    await assert.rejects(createDirVolume(fs, shared, { ...req, ...other }, signal), {
      code: 'AlreadyExists',
      message: /exists with other parameters/,
    });
  }
});

test('a delete that died between its rename and the quota clearing leaves no quota once repeated', async () => {
  await createDirVolume(
    fs,
    shared,
    { dir: 'pvc-q', csiName: 'pvc-q', quotaBytes: 8 * MiB, onDelete: 'delete' },
    signal,
  );
  const base = await dirIno(VOLUMES_DIR);
  const ino = await dirIno(VOLUMES_DIR, 'pvc-q');
  // What the first DeleteVolume did before it died: the rename to the hidden name, not the quota clearing.
  await fs.rename(ROOT_CREDENTIALS, base, 'pvc-q', base, '.deleting-pvc-q', 0, signal);
  assert.equal((await fs.getQuota(ino, signal)).blockHardLimitBytes, 8 * MiB);
  await deleteDirVolume(fs, 'pvc-q', signal);
  assert.equal((await fs.getQuota(ino, signal)).blockHardLimitBytes, 0);
  assert.ok(!(await names(VOLUMES_DIR)).includes('.deleting-pvc-q'));
  // A create that died after its quota was set: the repeat of DeleteVolume clears that quota too.
  const staged = await fs.mkdir(ROOT_CREDENTIALS, base, '.creating-pvc-r', 0o777, signal);
  await fs.setQuota(staged.ino, { blockHardLimitBytes: MiB, inodeHardLimit: 0 }, signal);
  await deleteDirVolume(fs, 'pvc-r', signal);
  assert.equal((await fs.getQuota(staged.ino, signal)).blockHardLimitBytes, 0);
});

test('a create that died half-way leaves only a hidden staged directory, which the retry completes', async () => {
  const base = await dirIno(VOLUMES_DIR);
  await fs.mkdir(ROOT_CREDENTIALS, base, '.creating-pvc-c', 0o777, signal);
  assert.equal(await findDirVolume(fs, shared, 'pvc-c', signal), undefined, 'not a volume yet');
  assert.ok(!(await listDirVolumes(fs, shared, signal)).some((v) => v.volumeId?.endsWith('/pvc-c')));
  await createDirVolume(
    fs,
    shared,
    { dir: 'pvc-c', csiName: 'pvc-c', quotaBytes: MiB, onDelete: 'delete' },
    signal,
  );
  assert.ok(!(await names(VOLUMES_DIR)).includes('.creating-pvc-c'));
  assert.equal((await fs.getQuota(await dirIno(VOLUMES_DIR, 'pvc-c'), signal)).blockHardLimitBytes, MiB);
});

test('onDelete: delete removes the tree and its quota, retain and archive move it out of the volumes', async () => {
  for (const [dir, onDelete] of [
    ['del', 'delete'],
    ['keep', 'retain'],
    ['arch', 'archive'],
  ] as const) {
    await createDirVolume(fs, shared, { dir, csiName: dir, quotaBytes: 8 * MiB, onDelete }, signal);
    const ino = await dirIno(VOLUMES_DIR, dir);
    const d = await fs.mkdir(ROOT_CREDENTIALS, ino, 'deep', 0o755, signal);
    const { handle } = await fs.create(
      ROOT_CREDENTIALS,
      d.ino,
      'file',
      0o644,
      constants.O_WRONLY | constants.O_CREAT,
      signal,
    );
    await fs.write(handle, 0, Buffer.from('payload'), signal);
    await fs.release(handle, signal);
  }
  const delIno = await dirIno(VOLUMES_DIR, 'del');
  for (const dir of ['del', 'keep', 'arch']) await deleteDirVolume(fs, dir, signal);
  for (const dir of ['del', 'keep', 'arch']) await deleteDirVolume(fs, dir, signal); // repeats are fine
  const left = await names(VOLUMES_DIR);
  for (const dir of ['del', 'keep', 'arch', '.deleting-del'])
    assert.ok(!left.includes(dir), `${dir} in ${left}`);
  assert.equal((await fs.getQuota(delIno, signal)).blockHardLimitBytes, 0);
  assert.deepEqual(await names(RETAINED_DIR), ['keep']);
  const archived = await names(ARCHIVED_DIR);
  assert.equal(archived.length, 1);
  assert.match(archived[0]!, /^arch-\d{8}T\d{6}\d*Z$/);
  const kept = await fs.resolvePath(`/${RETAINED_DIR}/keep/deep/file`, signal);
  assert.equal(kept.size, 7);
  await assert.rejects(expandDirVolume(fs, 'del', MiB, signal), { code: 'NotFound' });
  assert.ok((await fs.lookup(ROOT_CREDENTIALS, ROOT_INO, VOLUMES_DIR, signal)).ino > 0);
});
