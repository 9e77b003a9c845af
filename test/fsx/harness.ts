// Starts the FSx API on 127.0.0.1:0 in a temporary directory with an SDK client pointed at it; waits for conditions with deadlines.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FSxClient } from '@aws-sdk/client-fsx';
import { type FsxApi, type FsxApiOptions, startFsxApi } from '../../src/fsx/server/fsx-server.ts';
import { waitFor as waitForCondition } from '../../src/lib/wait-for.ts';
import { FakeAllocator } from './fake-allocator.ts';

export const ACCESS_KEY = 'AKIANACRETEST0000001';
export const SECRET_KEY = 'nacre-test-secret-key-0000000000000000000';
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const SUBNET = 'subnet-0123456789abcdef0';

export interface Harness {
  api: FsxApi;
  fsx: FSxClient;
  allocator: FakeAllocator;
  dataDir: string;
  options: FsxApiOptions;
  /** Stops the API (not the data dir) and starts it again on the same state. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function sdkClient(endpoint: string, secret = SECRET_KEY, region = REGION): FSxClient {
  return new FSxClient({
    endpoint,
    region,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

export async function startHarness(overrides: Partial<FsxApiOptions> = {}): Promise<Harness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nacre-fsx-'));
  const allocator = new FakeAllocator();
  const options: FsxApiOptions = {
    dataDir,
    listen: { host: '127.0.0.1', port: 0 },
    region: REGION,
    accountId: ACCOUNT,
    credentials: { [ACCESS_KEY]: SECRET_KEY },
    mgs: allocator,
    mountHost: '127.0.0.1:9400',
    retryForMs: 5_000,
    ...overrides,
  };
  const h: Harness = {
    api: await startFsxApi(options),
    fsx: undefined as unknown as FSxClient,
    allocator,
    dataDir,
    options,
    async restart() {
      h.fsx.destroy();
      await h.api.close();
      h.api = await startFsxApi(options);
      h.fsx = sdkClient(h.api.endpoint);
    },
    async close() {
      h.fsx.destroy();
      await h.api.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  h.fsx = sdkClient(h.api.endpoint);
  return h;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export const waitFor = <T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
) => waitForCondition(what, check, { timeoutMs, intervalMs: 20 });
