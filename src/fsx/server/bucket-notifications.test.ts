import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notificationTargets } from './bucket-notifications.ts';

test('nested prefixes share one configuration with the events of both; separate prefixes keep their own', () => {
  const t = notificationTargets([
    { prefix: 'data/sub/', events: ['removed'] },
    { prefix: 'data/', events: ['created'] },
    { prefix: 'other/', events: ['created'] },
    { prefix: 'data/', events: ['created'] },
  ]);
  assert.deepEqual(
    t.map((x) => [x.prefix, x.events]),
    [
      ['data/', ['created', 'removed']],
      ['other/', ['created']],
    ],
  );
  assert.equal(new Set(t.map((x) => x.id)).size, 2, 'one id per prefix');
  assert.deepEqual(notificationTargets([]), []);
});
