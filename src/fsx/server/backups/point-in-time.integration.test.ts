// Point-in-time backups over real servers: a writer appends numbered records to several files during the backup; the restored tree is one consistent cut.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestCluster } from '../../../../test/lustre/test-cluster.ts';
import { connectLustre } from '../../../lustre/client/lustre-client.ts';
import { type FileHandle, ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../../../lustre/types.ts';
import { restoreBackup } from './backup-restore.ts';
import { takeSnapshotBackup } from './backup-snapshot.ts';
import { DiskBackupStore } from './backup-store.ts';

const FILES = 3;
const RECORD = 16;
const O_RDWR = 2;
const O_CREAT = 0o100;

/** Record n as 16 bytes: its number, padded. */
const record = (n: number) => Buffer.from(`${String(n).padStart(RECORD - 1, '0')}\n`);

test('records appended to several files during a backup: the restored files show one instant, with no record after a missing one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-pit-'));
  const closing: (() => Promise<unknown> | unknown)[] = [() => rm(dir, { recursive: true, force: true })];
  // Clients first, then the servers, then the directory.
  t.after(async () => {
    for (const c of closing.reverse()) await c();
  });
  const source = await startTestCluster({ fsname: 'pitsrc', ossCount: 3, ostCapacityBytes: 2 ** 28 });
  closing.push(() => source.close());
  const target = await startTestCluster({ fsname: 'pitdst', ossCount: 3, ostCapacityBytes: 2 ** 28 });
  closing.push(() => target.close());
  const connect = async (c: typeof source, clientId: string) => {
    const client = await connectLustre({ mgsAddress: c.mgsAddress, fsname: c.fsname, host: 'h', clientId });
    closing.push(() => client.close());
    return client;
  };
  const writer = await connect(source, 'writer');
  const backupClient = await connect(source, 'backup');

  // Each record goes to file n % FILES once the previous record is written: a strict order across files.
  const handles: FileHandle[] = [];
  for (let i = 0; i < FILES; i++)
    handles.push((await writer.create(ROOT, ROOT_INO, `f${i}`, 0o644, O_RDWR | O_CREAT)).handle);
  let written = 0;
  let stop = false;
  const writing = (async () => {
    while (!stop) {
      const n = written;
      await writer.write(handles[n % FILES]!, Math.floor(n / FILES) * RECORD, record(n));
      written = n + 1;
    }
  })();
  const store = await DiskBackupStore.open(join(dir, 'store'));
  let result: Awaited<ReturnType<typeof takeSnapshotBackup>>;
  try {
    while (written < 50) await new Promise((r) => setImmediate(r));
    result = await takeSnapshotBackup(backupClient, store, {
      backupId: 'backup-0123abcd',
      signal: AbortSignal.timeout(60_000),
    });
    const atBackup = written;
    while (written < atBackup + 50) await new Promise((r) => setImmediate(r));
  } finally {
    stop = true;
    await writing;
  }
  for (const h of handles) await writer.release(h);

  const restored = await connect(target, 'restorer');
  await restoreBackup(restored, store, result.manifest, AbortSignal.timeout(60_000));
  const seen: number[] = [];
  for (let i = 0; i < FILES; i++) {
    const ino = (await restored.lookup(ROOT, ROOT_INO, `f${i}`)).ino;
    const h = await restored.open(ROOT, ino, 0);
    const data = (await restored.read(h, 0, 1 << 20)).toString();
    await restored.release(h);
    const records = data
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
    for (const [k, n] of records.entries())
      assert.equal(n, i + k * FILES, `f${i} holds its records in order, no hole`);
    seen.push(...records);
  }
  seen.sort((a, b) => a - b);
  const cut = seen.length;
  assert.ok(cut >= 50, `the backup holds the records written before it (${cut})`);
  assert.ok(cut < written, 'records written after the snapshot are not in it');
  assert.deepEqual(
    seen,
    Array.from({ length: cut }, (_, n) => n),
    'one cut: every record before the last one kept is kept',
  );
});
