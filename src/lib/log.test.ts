import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configureLogging, logger } from './log.ts';

function captureStderr(fn: () => void): string {
  const original = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return out;
}

test('a logger made before configureLogging follows it; secrets are redacted; debug is per component', () => {
  const early = logger('early');
  const other = logger('other');
  const out = captureStderr(() => {
    early.info('before');
    configureLogging({ level: 'info', format: 'json', debug: 'early' });
    early.info('after', { secretAccessKey: 's3cr3t', nested: { password: 'p' }, n: 1 });
    early.debug('early debug');
    other.debug('other debug');
  });
  configureLogging({ level: 'warn' });
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l['message']),
    ['after', 'early debug'],
  );
  assert.equal(lines[0]!['secretAccessKey'], '[redacted]');
  assert.deepEqual(lines[0]!['nested'], { password: '[redacted]' });
  assert.equal(lines[0]!['component'], 'early');
  assert.doesNotMatch(out, /s3cr3t/);
});
