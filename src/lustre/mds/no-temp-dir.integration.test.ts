// An MDS whose container has no writable temp directory (the chart's read-only root file system) still commits every mutation: SQLite never needs a temp file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { type Child, startChild } from '../../lib/supervisor.ts';
import { ROOT_INO } from '../types.ts';

const fixture = fileURLToPath(new URL('../../../test/lustre/mds-process.ts', import.meta.url));
let dir: string;
let server: Child | undefined;

/**
 * The MDS fixture in a private mount namespace where /tmp and /var/tmp are read-only (its data
 * directory, a mount of its own, stays writable), its working directory is a read-only tmpfs and
 * neither TMPDIR nor SQLITE_TMPDIR is set: every place SQLite looks for a temp directory refuses.
 */
function startMdsWithoutTempDir(): Promise<Child> {
  const data = join(dir, 'data');
  const cwd = join(dir, 'cwd');
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = [
    `mount --bind ${q(dir)} ${q(dir)}`,
    ...['/tmp', '/var/tmp'].map((t) => `mount --rbind ${t} ${t} && mount -o remount,bind,ro ${t}`),
    `mount -t tmpfs -o ro tmpfs ${q(cwd)}`,
    `cd ${q(cwd)}`,
    `exec ${q(process.execPath)} ${q(fixture)} ${q(JSON.stringify({ dataDir: data, destroyLog: join(dir, 'destroyed.jsonl') }))}`,
  ].join(' && ');
  const env = { ...process.env };
  delete env['TMPDIR'];
  delete env['SQLITE_TMPDIR'];
  return startChild({
    name: 'mds',
    command: 'unshare',
    args: ['--mount', '--propagation', 'private', 'sh', '-c', script],
    logFile: join(dir, 'mds.log'),
    env,
    timeoutMs: 20_000,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-notmp-'));
  await mkdir(join(dir, 'cwd'));
  server = await startMdsWithoutTempDir();
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('large xattr rewrites and a burst of creates all commit without a writable temp directory', async () => {
  const c = new TestMdsClient(server!.ready.address, 'no-tmp');
  try {
    const file = await c.call('create', {
      ...{ xid: c.nextXid(), cred: ROOT, parent: ROOT_INO, name: 'f', mode: 0o644 },
      ...{ exclusive: true, open: false, flags: 0 },
    });
    // Rewriting a 60 KiB value changes ~15 of the database's existing pages in one mutation: more
    // than SQLite keeps of a savepoint's journal in memory before it wants a temp file.
    for (const fill of [1, 2, 3]) {
      await c.call('setxattr', {
        ...{ xid: c.nextXid(), cred: ROOT, ino: file.attr.ino, name: 'user.big' },
        ...{ value: Buffer.alloc(60 * 1024, fill).toString('base64'), flags: 0 },
      });
    }
    const value = Buffer.from(
      await c.call('getxattr', { cred: ROOT, ino: file.attr.ino, name: 'user.big' }),
      'base64',
    );
    assert.ok(value.equals(Buffer.alloc(60 * 1024, 3)), 'the last value written is read back');
    const created = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        c.call('create', {
          ...{ xid: c.nextXid(), cred: ROOT, parent: ROOT_INO, name: `n${i}-${'x'.repeat(200)}` },
          ...{ mode: 0o644, exclusive: true, open: false, flags: 0 },
        }),
      ),
    );
    assert.equal(created.filter((r) => r.created).length, 400);
  } finally {
    c.close();
  }
});
