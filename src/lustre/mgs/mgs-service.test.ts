// MgsService: a config it hands out, or leaves behind at close, is the one a restarted MGS finds on disk.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { ServerInfo } from '../protocol/mgs-messages.ts';
import { MgsService } from './mgs-service.ts';
import { targetConfig } from './placement.ts';
import { Registry } from './registry.ts';

const G = 2 ** 30;
const ossA: ServerInfo = {
  name: 'oss-a',
  role: 'oss',
  address: '127.0.0.1:7001',
  host: 'h',
  capacityBytes: G,
};
const mds: ServerInfo = {
  name: 'mds-0',
  role: 'mds',
  address: '127.0.0.1:7000',
  host: 'h',
  capacityBytes: G,
};
let dir: string;

/** A data directory whose registry holds file system fs1 (generation 1) with one OST on oss-a. */
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-mgs-service-'));
  const reg = await Registry.open(dir, Date.now());
  for (const s of [ossA, mds]) reg.servers.set(s.name, { ...s, lastSeenMs: Date.now() });
  reg.fileSystems.set('fs1', {
    config: {
      fsname: 'fs1',
      mdt: targetConfig('fs1-MDT0000', 0, mds, G),
      osts: [targetConfig('fs1-OST0000', 0, ossA, G)],
      defaultLayout: { stripeSize: 1 << 20, stripeCount: 1, stripeOffset: -1 },
      replicas: 1,
      generation: 1,
    },
    request: {
      ostCount: 1,
      ostCapacityBytes: G,
      replicas: 1,
      defaultLayout: { stripeSize: 1 << 20, stripeCount: 1, stripeOffset: -1 },
    },
    state: 'available',
    pendingOsts: [],
  });
  await reg.save();
});

afterEach(() => fs.rm(dir, { recursive: true, force: true }));

test('a config changed by a server move is handed out only once saved, so a crash cannot take it back', async () => {
  const mgs = await MgsService.open(dir);
  const moving = mgs.registerServer({ ...ossA, address: '127.0.0.1:7002' });
  const seen = await mgs.getConfig('fs1');
  assert.equal(seen.generation, 2);
  assert.equal(seen.osts[0]!.address, '127.0.0.1:7002');
  const [listed] = await mgs.listFileSystems();
  assert.deepEqual(listed, seen);
  const afterCrash = await MgsService.open(dir);
  assert.deepEqual(await afterCrash.getConfig('fs1'), seen, 'what a restarted MGS reads from disk');
  await moving;
  await mgs.close();
  await afterCrash.close();
});

test('close waits for a registration still being saved', async () => {
  const mgs = await MgsService.open(dir);
  const moving = mgs.registerServer({ ...ossA, address: '127.0.0.1:7003' });
  await mgs.close();
  const restarted = await MgsService.open(dir);
  const cfg = await restarted.getConfig('fs1');
  assert.equal(cfg.generation, 2);
  assert.equal(cfg.osts[0]!.address, '127.0.0.1:7003');
  await moving;
  await restarted.close();
});
