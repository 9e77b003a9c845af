// A backup taken while an application writes through a mount restores, on another file system's mount, as one instant of every file.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { restoreBackup } from '../../src/fsx/server/backups/backup-restore.ts';
import { takeSnapshotBackup } from '../../src/fsx/server/backups/backup-snapshot.ts';
import { DiskBackupStore } from '../../src/fsx/server/backups/backup-store.ts';
import { connectLustre } from '../../src/lustre/client/lustre-client.ts';
import { ensureFileSystem } from '../../src/lustre/cluster/create-file-system.ts';
import { useFsCluster } from './fs-cluster.ts';
import { hold, sh } from './shell.ts';

const t = useFsCluster({ fsname: 'pitb', ossCount: 2, mounts: ['a'] });

/** Writes record n (16 bytes) into file n % 3 at its place, one after the other; says "going" after 100, stops at end of stdin. */
const WRITER = `import os, sys, threading
d = sys.argv[1]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
fds = [os.open('%s/r%d' % (d, i), os.O_CREAT | os.O_WRONLY, 0o644) for i in range(3)]
n = 0
while not stop.is_set():
    os.pwrite(fds[n % 3], b'%015d\\n' % n, (n // 3) * 16)
    n += 1
    if n == 100:
        print('going', flush=True)
for fd in fds:
    os.close(fd)
print(n, flush=True)`;

test('records written through a mount during a backup: the restored mount shows one cut, no record after a missing one', async () => {
  await t.ready;
  const fs = t.cluster;
  const writer = hold(['python3', '-c', WRITER, t.mounts['a']!]);
  await writer.waitForLine(/going/);
  const client = await connectLustre({ mgsAddress: fs.mgs.address, fsname: fs.fsname, host: 'backup-host' });
  const store = await DiskBackupStore.open(join(fs.dir, 'backups'));
  let manifest: Awaited<ReturnType<typeof takeSnapshotBackup>>['manifest'];
  try {
    ({ manifest } = await takeSnapshotBackup(client, store, {
      backupId: 'backup-0e2e',
      signal: AbortSignal.timeout(60_000),
    }));
  } finally {
    await client.close();
  }
  const done = await writer.release(60_000);
  assert.equal(done.code, 0, done.stderr);
  const written = Number(done.stdout.trim().split('\n').at(-1));

  await ensureFileSystem(
    fs.mgs.address,
    { fsname: 'pitr', ostCount: 2, ostCapacityBytes: fs.ostCapacityBytes },
    { ossServers: 2, mdsServers: 1 },
  );
  const target = await connectLustre({ mgsAddress: fs.mgs.address, fsname: 'pitr', host: 'restore-host' });
  try {
    await restoreBackup(target, store, manifest, AbortSignal.timeout(60_000));
  } finally {
    await target.close();
  }
  const b = (await fs.mount('b', { source: `${fs.mgs.address}@tcp:/pitr` })).point;
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    const records = (await sh(`cat ${b}/r${i}`))
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
    for (const [k, n] of records.entries())
      assert.equal(n, i + 3 * k, `r${i} holds its records in order, no hole`);
    seen.push(...records);
  }
  seen.sort((x, y) => x - y);
  assert.ok(
    seen.length >= 100 && seen.length < written,
    `${seen.length} of ${written} records in the backup`,
  );
  assert.deepEqual(
    seen,
    Array.from({ length: seen.length }, (_, n) => n),
    'one cut across the three files',
  );
});
