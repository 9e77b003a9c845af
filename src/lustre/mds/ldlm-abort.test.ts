// The lock manager when a waiting request goes away: the requests queued behind it are granted if nothing else blocks them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LockManager } from './ldlm.ts';

test('an aborted PW request at the head of the queue no longer holds back a compatible PR request behind it', async (t) => {
  const m = new LockManager({ callbackTimeoutMs: 60_000, sendBlocking: () => {}, onEvict: () => {} });
  t.after(() => m.close());
  await m.enqueue('a', { ino: 5, kind: 'data', mode: 'PR' });
  const gone = new AbortController();
  const writer = m.enqueue('b', { ino: 5, kind: 'data', mode: 'PW' }, gone.signal);
  const reader = m.enqueue('c', { ino: 5, kind: 'data', mode: 'PR' }, AbortSignal.timeout(5_000));
  gone.abort();
  await assert.rejects(writer, { code: 'EINTR' });
  // Without the fix the reader waits for a's cancel (or its eviction, 60 s later) and the 5 s signal fails it.
  assert.equal((await reader).client, 'c', 'c shares the PR lock with a at once');
});
