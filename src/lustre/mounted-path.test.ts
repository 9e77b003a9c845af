import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsError } from '../lib/errors.ts';
import { findMountedPath } from './mounted-path.ts';

const mountinfo = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '40 22 0:39 / /mnt/nacre rw,relatime - fuse.nacre 127.0.0.1:10988@tcp:/nacre rw,user_id=0',
  '41 40 0:40 / /mnt/nacre/inner\\040dir rw,relatime - fuse.nacre 10.0.0.1:988@tcp:/other rw,user_id=0',
  '42 22 0:41 / /mnt/test rw,relatime - fuse.nacre nacre-test rw,user_id=0',
].join('\n');

test('a path resolves to the innermost Nacre mount and the path inside it', () => {
  assert.deepEqual(findMountedPath(mountinfo, '/mnt/nacre/a/b'), {
    mgsAddress: '127.0.0.1:10988',
    fsname: 'nacre',
    mountPoint: '/mnt/nacre',
    path: '/a/b',
  });
  assert.equal(findMountedPath(mountinfo, '/mnt/nacre').path, '/');
  const inner = findMountedPath(mountinfo, '/mnt/nacre/inner dir/x');
  assert.equal(inner.fsname, 'other');
  assert.equal(inner.path, '/x');
});

test('a path outside every Nacre mount is an error that says so', () => {
  assert.throws(
    () => findMountedPath(mountinfo, '/mnt/nacrex/a'),
    (e) => e instanceof FsError && /not on a Nacre/.test(e.message),
  );
  assert.throws(() => findMountedPath(mountinfo, '/mnt/test/a'), FsError);
});
