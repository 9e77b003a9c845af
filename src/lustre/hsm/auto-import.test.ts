import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEventRecords } from './auto-import.ts';

test('S3 event records become object changes; URL-encoded keys are decoded; other events and junk are skipped', () => {
  const body = {
    EventName: 's3:ObjectCreated:Put',
    Key: 'auto/feed/a b.txt',
    Records: [
      {
        eventName: 's3:ObjectCreated:Put',
        s3: { bucket: { name: 'auto' }, object: { key: 'feed/a+b%2Bc.txt', eTag: 'abc', size: 5 } },
      },
      {
        eventName: 's3:ObjectRemoved:Delete',
        s3: { bucket: { name: 'auto' }, object: { key: 'feed/gone' } },
      },
      { eventName: 's3:ObjectAccessed:Get', s3: { bucket: { name: 'auto' }, object: { key: 'feed/read' } } },
      { eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: 'auto' }, object: { key: '%E0%A4%A' } } },
      'junk',
    ],
  };
  assert.deepEqual(parseEventRecords(body), [
    { bucket: 'auto', key: 'feed/a b+c.txt', kind: 'created', etag: 'abc', size: 5 },
    { bucket: 'auto', key: 'feed/gone', kind: 'removed' },
  ]);
  assert.deepEqual(parseEventRecords(null), []);
  assert.deepEqual(parseEventRecords({ Records: 'x' }), []);
});
