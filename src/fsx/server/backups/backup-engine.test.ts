import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildSampleTree, dumpTree, overwrite } from '../../../../test/fsx/tree.ts';
import { MemoryClient } from '../../../../test/lustre/memory-client.ts';
import { type FileHandle, ROOT_CREDENTIALS, ROOT_INO } from '../../../lustre/types.ts';
import { takeBackup } from './backup-engine.ts';
import { restoreBackup } from './backup-restore.ts';
import { DiskBackupStore } from './backup-store.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'nacre-backup-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function chunkFiles(storeDir: string): Promise<number> {
  let n = 0;
  for (const d of await readdir(path.join(storeDir, 'chunks')))
    n += (await readdir(path.join(storeDir, 'chunks', d))).length;
  return n;
}

const signal = () => AbortSignal.timeout(10_000);

test('a restored backup has the same tree, content, links, owners, modes, times and xattrs', async () => {
  const storeDir = path.join(dir, 'a');
  const store = await DiskBackupStore.open(storeDir);
  const source = new MemoryClient();
  await buildSampleTree(source);
  const { manifest } = await takeBackup(source, store, {
    backupId: 'backup-0000000000000000a',
    signal: signal(),
  });
  const target = new MemoryClient();
  await restoreBackup(target, store, manifest, signal());
  const [want, got] = [await dumpTree(source), await dumpTree(target)];
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const p of Object.keys(want)) assert.deepEqual(got[p], want[p], p);
  assert.equal(got['big-hardlink']!.nlink, 2);
  const sparse = await target.getattr((await target.lookup(ROOT_CREDENTIALS, ROOT_INO, 'sparse.img')).ino);
  assert.equal(sparse.size, 3 * 1024 * 1024);
});

test('an unchanged second backup stores nothing new and does not re-read files', async () => {
  const storeDir = path.join(dir, 'b');
  const store = await DiskBackupStore.open(storeDir);
  const source = new MemoryClient();
  await buildSampleTree(source);
  const first = await takeBackup(source, store, { backupId: 'backup-0000000000000000b', signal: signal() });
  assert.ok(first.newChunks >= 3);
  const stored = await chunkFiles(storeDir);
  source.reads.clear();
  const second = await takeBackup(source, store, {
    backupId: 'backup-0000000000000000c',
    previous: first.manifest,
    signal: signal(),
  });
  assert.equal(second.newChunks, 0);
  assert.equal(second.newBytes, 0);
  assert.equal(source.reads.size, 0);
  assert.equal(await chunkFiles(storeDir), stored);
});

test('an incremental backup stores only the chunks that changed', async () => {
  const storeDir = path.join(dir, 'c');
  const store = await DiskBackupStore.open(storeDir);
  const source = new MemoryClient();
  const { big } = await buildSampleTree(source);
  const first = await takeBackup(source, store, { backupId: 'backup-0000000000000000d', signal: signal() });
  await overwrite(source, big, 1024 * 1024 + 10, Buffer.from('changed'));
  const second = await takeBackup(source, store, {
    backupId: 'backup-0000000000000000e',
    previous: first.manifest,
    signal: signal(),
  });
  assert.equal(second.newChunks, 1);
  assert.equal(second.newBytes, 1024 * 1024);
  const target = new MemoryClient();
  await restoreBackup(target, store, second.manifest, signal());
  assert.deepEqual(
    (await dumpTree(target))['docs/deep/big.bin']!.sha256,
    (await dumpTree(source))['docs/deep/big.bin']!.sha256,
  );
});

test('deleting a backup frees the chunks no other backup uses, and only those', async () => {
  const storeDir = path.join(dir, 'd');
  const store = await DiskBackupStore.open(storeDir);
  const source = new MemoryClient();
  const { big } = await buildSampleTree(source);
  const first = await takeBackup(source, store, { backupId: 'backup-0000000000000000f', signal: signal() });
  const before = await chunkFiles(storeDir);
  await overwrite(source, big, 0, Buffer.from('new first chunk'));
  const second = await takeBackup(source, store, {
    backupId: 'backup-00000000000000010',
    previous: first.manifest,
    signal: signal(),
  });
  assert.equal(await chunkFiles(storeDir), before + 1);
  await store.deleteBackup('backup-0000000000000000f');
  assert.equal(await chunkFiles(storeDir), before);
  const target = new MemoryClient();
  await restoreBackup(target, store, second.manifest, signal());
  assert.equal(
    (await dumpTree(target))['docs/deep/big.bin']!.sha256,
    (await dumpTree(source))['docs/deep/big.bin']!.sha256,
  );
  await store.deleteBackup('backup-00000000000000010');
  assert.equal(await chunkFiles(storeDir), 0);
  assert.equal(await store.readManifest('backup-00000000000000010'), undefined);
});

test('a file that changes while it is read is read again', async () => {
  const store = await DiskBackupStore.open(path.join(dir, 'e'));
  const source = new MemoryClient();
  const { big } = await buildSampleTree(source);
  const read = source.read.bind(source);
  let changed = false;
  // A writer changes the first chunk just after the backup read it.
  source.read = async (handle: FileHandle, offset: number, length: number) => {
    if (handle.ino === big && offset > 0 && !changed) {
      changed = true;
      await overwrite(source, big, 0, Buffer.from('concurrent writer'));
    }
    return read(handle, offset, length);
  };
  const { manifest } = await takeBackup(source, store, {
    backupId: 'backup-00000000000000011',
    signal: signal(),
  });
  const target = new MemoryClient();
  await restoreBackup(target, store, manifest, signal());
  const got = (await dumpTree(target))['docs/deep/big.bin']!;
  assert.ok(changed);
  assert.equal(got.sha256, (await dumpTree(source))['docs/deep/big.bin']!.sha256);
});
