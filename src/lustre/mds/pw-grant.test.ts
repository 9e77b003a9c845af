// A PW grant that first finishes a pending truncate: its holder is not called back (nor evicted) for the time the MDS takes to cut.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsError } from '../../lib/errors.ts';
import type { Attached } from './handler-types.ts';
import { checkNotEvicted, enqueueLock, type LockHost, lockManager } from './ldlm-service.ts';
import { grantPw } from './pw-grant.ts';

const CALLBACK_MS = 50;

/** A lock host with no sessions (callbacks go nowhere), and a caller whose MDT cuts when told to. */
function setup() {
  const host: LockHost = { fsname: 'fs', sessionsOf: () => [], awaitedClients: () => [] };
  lockManager(host, CALLBACK_MS);
  const cutting = Promise.withResolvers<void>();
  const cut = Promise.withResolvers<void>();
  const writer = {
    client: 'writer',
    mdt: {
      finishPendingPunch: async () => {
        cutting.resolve();
        await cut.promise;
      },
    },
  } as unknown as Attached;
  return { host, writer, cutting, cut };
}

test('a PW grant whose pending truncate takes longer to cut than a callback may wait does not get its holder evicted', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { host, writer, cutting, cut } = setup();
  const granted = grantPw(host, writer, { ino: 5, kind: 'data', mode: 'PW' }, new AbortController().signal);
  await cutting.promise; // the lock is granted on the MDS; the writer has not been told
  // A reader asks for the file meanwhile: the writer is to be called back.
  const read = enqueueLock(
    host,
    'reader',
    { ino: 5, kind: 'data', mode: 'PR' },
    new AbortController().signal,
  );
  t.mock.timers.tick(CALLBACK_MS * 4); // the cut takes long (a slow OST)
  assert.doesNotThrow(
    () => checkNotEvicted(host, 'writer'),
    'the writer was evicted for the MDS’s own delay',
  );
  cut.resolve();
  const lock = await granted;
  // Told now, the writer is called back and cancels within its deadline: the reader gets the lock.
  lockManager(host).cancel('writer', lock.id);
  assert.equal((await read).client, 'reader');
  assert.doesNotThrow(() => checkNotEvicted(host, 'writer'));
});

test('a PW grant whose pending truncate cannot be cut gives the lock back and fails with EIO', async () => {
  const { host, writer, cutting, cut } = setup();
  const granted = grantPw(host, writer, { ino: 6, kind: 'data', mode: 'PW' }, new AbortController().signal);
  await cutting.promise;
  const read = enqueueLock(
    host,
    'reader',
    { ino: 6, kind: 'data', mode: 'PR' },
    new AbortController().signal,
  );
  cut.reject(new FsError('EIO', 'an earlier truncate of inode 6 is not finished on its OSTs'));
  await assert.rejects(granted, (e: unknown) => e instanceof FsError && e.code === 'EIO');
  assert.equal((await read).client, 'reader');
  assert.deepEqual(lockManager(host).locksOf('writer'), []);
});
