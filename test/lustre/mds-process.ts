// Test fixture: an MDS in its own process (for kill -9 tests and benchmarks), with fake OSTs and a file logging destroyed objects.
// Usage: node test/lustre/mds-process.ts '{"dataDir": "...", "destroyLog": "...", "graceMs": 30000, "synchronous": "NORMAL", "groupCommit": true}'
import { appendFile } from 'node:fs/promises';
import { announceReady, onShutdown } from '../../src/lib/supervisor.ts';
import { startMds } from '../../src/lustre/mds/mdt-server.ts';
import { fourOsts } from './mds-fixtures.ts';

interface FixtureOptions {
  dataDir: string;
  destroyLog: string;
  graceMs?: number;
  synchronous?: 'NORMAL' | 'FULL';
  groupCommit?: boolean;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as FixtureOptions;
const mds = await startMds({
  dataDir: opts.dataDir,
  listen: { host: '127.0.0.1', port: 0 },
  fsname: 'crash',
  osts: async () => fourOsts(),
  destroyObjects: async (o) => appendFile(opts.destroyLog, `${JSON.stringify(o)}\n`),
  ...(opts.graceMs !== undefined && { graceMs: opts.graceMs }),
  ...(opts.synchronous !== undefined && { synchronous: opts.synchronous }),
  ...(opts.groupCommit !== undefined && { groupCommit: opts.groupCommit }),
});
announceReady({ address: mds.address, pid: process.pid });
onShutdown(() => mds.close());
