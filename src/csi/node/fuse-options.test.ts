// Mount options of emulated volumes: what reaches the FUSE keeper, and what is refused with the option's name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsiError } from '../csi-error.ts';
import { fuseKeeperArgs, parseFuseMountFlags } from './fuse-options.ts';

const refused = (message: RegExp) => (err: unknown) =>
  err instanceof CsiError && err.code === 'InvalidArgument' && message.test(err.message);

test('supported options become keeper flags; Lustre-style comma lists are split', () => {
  const flags = parseFuseMountFlags(['ro,noatime', 'flock', 'cache=none', 'recovery=30']);
  assert.deepEqual(flags, { vfs: ['ro', 'noatime'], cached: false, recovery: '30' });
  assert.deepEqual(fuseKeeperArgs(flags), [
    '--mount-options',
    'ro,noatime',
    '--no-cache',
    '--recovery',
    '30',
  ]);
  assert.deepEqual(fuseKeeperArgs(parseFuseMountFlags(['hard'])), ['--recovery', 'hard']);
  // Caching is the default: `cached`, the old opt-in, changes nothing.
  assert.deepEqual(parseFuseMountFlags(['cached']), { vfs: [], cached: true });
  assert.deepEqual(fuseKeeperArgs(parseFuseMountFlags(['cached'])), []);
  assert.deepEqual(fuseKeeperArgs(parseFuseMountFlags([])), []);
});

test('unknown or contradictory options are InvalidArgument naming the option', () => {
  assert.throws(
    () => parseFuseMountFlags(['noatime', 'localflock']),
    refused(/mount option "localflock" is not supported/),
  );
  assert.throws(() => parseFuseMountFlags(['nfsvers=4']), refused(/"nfsvers=4"/));
  assert.throws(
    () => parseFuseMountFlags(['recovery=soon']),
    refused(/recovery=soon must be a number of seconds/),
  );
  assert.throws(() => parseFuseMountFlags(['recovery=5', 'hard']), refused(/two recovery times/));
  assert.throws(() => parseFuseMountFlags(['ro', 'rw']), refused(/ro and rw contradict/));
  assert.throws(
    () => parseFuseMountFlags(['cached,cache=none']),
    refused(/cached and cache=none contradict/),
  );
  assert.throws(() => parseFuseMountFlags(['cache=some']), refused(/"cache=some" is not supported/));
});
