import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FsxApi, FsxEndpoint } from '../fsx/backend.ts';
import { BackendRegistry, BackendUnavailableError } from './backends.ts';

const signal = new AbortController().signal;
const stubApi = { send: async () => ({ FileSystems: [] }) } as unknown as FsxApi;

function registry(
  secret: Record<string, string> | undefined,
  extra: { accessKeyId?: string; secretAccessKey?: string } = {},
) {
  const made: FsxEndpoint[] = [];
  const reads: string[] = [];
  const r = new BackendRegistry({
    emulator: {
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentialsSecret: 'fsx-keys',
      secretNamespace: 'nacre-system',
      ...extra,
    },
    readSecret: async (ns, name) => {
      reads.push(`${ns}/${name}`);
      return secret;
    },
    makeApi: (e) => {
      made.push(e);
      return stubApi;
    },
  });
  return { r, made, reads };
}

test('the emulated backend takes its credentials from the named Secret', async () => {
  const { r, made, reads } = registry({ accessKeyId: 'AKIA1', secretAccessKey: 's3cret' });
  await r.get('emulated', signal);
  await r.get('emulated', signal);
  assert.deepEqual(
    reads,
    ['nacre-system/fsx-keys'],
    'the Secret is read once while its credentials are fresh',
  );
  assert.deepEqual(made, [
    {
      kind: 'emulated',
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      accessKeyId: 'AKIA1',
      secretAccessKey: 's3cret',
    },
  ]);
});

test('a missing or incomplete Secret makes the backend unavailable, saying which Secret', async () => {
  await assert.rejects(registry(undefined).r.get('emulated', signal), (e) => {
    return e instanceof BackendUnavailableError && e.message.includes('nacre-system/fsx-keys');
  });
  await assert.rejects(registry({ accessKeyId: 'AKIA1' }).r.get('emulated', signal), BackendUnavailableError);
});

test('static credentials need no Secret; aws needs no emulator settings', async () => {
  const { r, made, reads } = registry(undefined, { accessKeyId: 'AKIA2', secretAccessKey: 'x' });
  await r.get('emulated', signal);
  await r.get('aws', signal);
  assert.deepEqual(reads, []);
  assert.deepEqual(
    made.map((e) => e.kind),
    ['emulated', 'aws'],
  );
});

test('without an emulator endpoint the emulated backend is unavailable', async () => {
  const r = new BackendRegistry({ readSecret: async () => undefined, makeApi: () => stubApi });
  await assert.rejects(r.get('emulated', signal), BackendUnavailableError);
});
