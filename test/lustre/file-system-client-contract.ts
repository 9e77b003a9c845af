// The FileSystemClient contract: one suite that the in-memory fake and the real LustreClient both run, so the fake cannot drift.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FsError } from '../../src/lib/errors.ts';
import {
  type FileSystemClient,
  RENAME_NOREPLACE,
  ROOT_CREDENTIALS as ROOT,
  ROOT_INO,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
} from '../../src/lustre/types.ts';

const O_RDWR = 2;
const O_APPEND = 0o2000;

const errno = (code: string) => (err: unknown) => err instanceof FsError && err.code === code;

/**
 * Registers the contract tests for the client `client()` returns (called once per test, after the
 * caller's `before` ran). Each test works in a directory of its own under the root.
 */
export function fileSystemClientContract(name: string, client: () => FileSystemClient): void {
  let n = 0;
  const freshDir = async () => (await client().mkdir(ROOT, ROOT_INO, `contract-${n++}`, 0o755)).ino;

  describe(`FileSystemClient contract: ${name}`, () => {
    test('create, write, read back; reads past the end are short; holes read as zeros', async () => {
      const c = client();
      const dir = await freshDir();
      const { attr, handle } = await c.create(ROOT, dir, 'f', 0o644, O_RDWR);
      assert.equal(attr.mode & S_IFMT, S_IFREG);
      assert.equal(await c.write(handle, 0, Buffer.from('hello')), 5);
      assert.equal(await c.write(handle, 10, Buffer.from('world')), 5);
      assert.deepEqual(await c.read(handle, 0, 100), Buffer.from('hello\0\0\0\0\0world'));
      assert.equal((await c.read(handle, 15, 10)).length, 0);
      await c.release(handle);
      assert.equal((await c.getattr(attr.ino)).size, 15);
      assert.equal((await c.lookup(ROOT, dir, 'f')).ino, attr.ino);
    });

    test('O_APPEND writes land at the end of the file', async () => {
      const c = client();
      const dir = await freshDir();
      const { handle } = await c.create(ROOT, dir, 'log', 0o644, O_RDWR | O_APPEND);
      await c.write(handle, 0, Buffer.from('one\n'));
      await c.write(handle, 0, Buffer.from('two\n'));
      assert.equal((await c.read(handle, 0, 100)).toString(), 'one\ntwo\n');
      await c.release(handle);
    });

    test('names: EEXIST on a second create or mkdir, ENOENT for a missing name, ENOTEMPTY for a full directory', async () => {
      const c = client();
      const dir = await freshDir();
      const { handle } = await c.create(ROOT, dir, 'f', 0o644, O_RDWR);
      await c.release(handle);
      await assert.rejects(c.mkdir(ROOT, dir, 'f', 0o755), errno('EEXIST'));
      await assert.rejects(c.lookup(ROOT, dir, 'missing'), errno('ENOENT'));
      await assert.rejects(c.unlink(ROOT, dir, 'missing'), errno('ENOENT'));
      const sub = await c.mkdir(ROOT, dir, 'sub', 0o755);
      assert.equal(sub.mode & S_IFMT, S_IFDIR);
      const inner = await c.create(ROOT, sub.ino, 'x', 0o644, O_RDWR);
      await c.release(inner.handle);
      await assert.rejects(c.rmdir(ROOT, dir, 'sub'), errno('ENOTEMPTY'));
      await c.unlink(ROOT, sub.ino, 'x');
      await c.rmdir(ROOT, dir, 'sub');
      await assert.rejects(c.lookup(ROOT, dir, 'sub'), errno('ENOENT'));
    });

    test('rename moves a name, replaces a target, and with NOREPLACE refuses an existing one', async () => {
      const c = client();
      const dir = await freshDir();
      for (const f of ['a', 'b']) await c.release((await c.create(ROOT, dir, f, 0o644, O_RDWR)).handle);
      const a = await c.lookup(ROOT, dir, 'a');
      await assert.rejects(c.rename(ROOT, dir, 'a', dir, 'b', RENAME_NOREPLACE), errno('EEXIST'));
      await c.rename(ROOT, dir, 'a', dir, 'b', 0);
      assert.equal((await c.lookup(ROOT, dir, 'b')).ino, a.ino);
      await assert.rejects(c.lookup(ROOT, dir, 'a'), errno('ENOENT'));
    });

    test('readdir lists every entry once, with its type, across pages', async () => {
      const c = client();
      const dir = await freshDir();
      const names = Array.from({ length: 25 }, (_, i) => `e${String(i).padStart(2, '0')}`);
      for (const f of names) await c.release((await c.create(ROOT, dir, f, 0o644, O_RDWR)).handle);
      await c.mkdir(ROOT, dir, 'zdir', 0o755);
      const seen: { name: string; type: number }[] = [];
      let cookie = 0;
      for (;;) {
        const page = await c.readdir(ROOT, dir, cookie, 10, false);
        if (page.length === 0) break;
        seen.push(...page.map((e) => ({ name: e.name, type: e.type })));
        cookie = page.at(-1)!.cookie;
      }
      const listed = seen.filter((e) => e.name !== '.' && e.name !== '..');
      assert.deepEqual(listed.map((e) => e.name).sort(), [...names, 'zdir']);
      assert.equal(listed.find((e) => e.name === 'zdir')!.type, S_IFDIR);
      assert.equal(listed.find((e) => e.name === 'e00')!.type, S_IFREG);
    });

    test('truncate by setattr shrinks and grows; hard links share the inode and count', async () => {
      const c = client();
      const dir = await freshDir();
      const { attr, handle } = await c.create(ROOT, dir, 'f', 0o644, O_RDWR);
      await c.write(handle, 0, Buffer.from('0123456789'));
      assert.equal((await c.setattr(ROOT, attr.ino, { size: 4 })).size, 4);
      assert.equal((await c.read(handle, 0, 100)).toString(), '0123');
      assert.equal((await c.setattr(ROOT, attr.ino, { size: 6 })).size, 6);
      assert.deepEqual(await c.read(handle, 0, 100), Buffer.from('0123\0\0'));
      await c.release(handle);
      const linked = await c.link(ROOT, attr.ino, dir, 'g');
      assert.equal(linked.ino, attr.ino);
      assert.equal(linked.nlink, 2);
      await c.unlink(ROOT, dir, 'f');
      assert.equal((await c.getattr(attr.ino)).nlink, 1);
    });

    test('symlinks and xattrs', async () => {
      const c = client();
      const dir = await freshDir();
      const l = await c.symlink(ROOT, dir, 'l', 'target/path');
      assert.equal(await c.readlink(l.ino), 'target/path');
      const { attr, handle } = await c.create(ROOT, dir, 'x', 0o644, O_RDWR);
      await c.release(handle);
      await c.setxattr(ROOT, attr.ino, 'user.k', Buffer.from('v'), 0);
      assert.deepEqual(await c.getxattr(ROOT, attr.ino, 'user.k'), Buffer.from('v'));
      assert.deepEqual(await c.listxattr(ROOT, attr.ino), ['user.k']);
      await c.removexattr(ROOT, attr.ino, 'user.k');
      await assert.rejects(c.getxattr(ROOT, attr.ino, 'user.k'), errno('ENODATA'));
    });
  });
}
