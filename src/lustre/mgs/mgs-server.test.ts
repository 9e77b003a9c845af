import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor as waitForCondition } from '../../lib/wait-for.ts';
import { type OssServer, startOss } from '../oss/oss-server.ts';
import { MgsClient } from '../protocol/mgs-client.ts';
import { OssClient } from '../protocol/oss-client.ts';
import { type MgsServer, startMgs } from './mgs-server.ts';

const G = 2 ** 30;
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
let dir: string;
let mgs: MgsServer;
let client: MgsClient;
const oss = new Map<string, OssServer>();

/** Polls `check` until it returns a value other than undefined (errors count as not yet), or fails after `ms`. */
const waitFor = <T>(what: string, check: () => Promise<T | undefined>, ms = 10_000) =>
  waitForCondition(what, check, { timeoutMs: ms, intervalMs: 20, retryErrors: true });

async function startOssNamed(name: string, mgsAddress: string): Promise<OssServer> {
  const s = await startOss({
    dataDir: path.join(dir, name),
    name,
    host: `host-${name}`,
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: path.join(dir, `${name}.sock`),
    mgsAddress,
    capacityBytes: 100 * G,
    registerIntervalMs: 100,
  });
  oss.set(name, s);
  return s;
}

async function serversSeen(c: MgsClient, n: number) {
  return waitFor(`${n} OSS servers`, async () => {
    const list = (await c.listServers()).filter((s) => s.role === 'oss');
    return list.length >= n ? list : undefined;
  });
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-mgs-'));
  mgs = await startMgs({ dataDir: path.join(dir, 'mgs'), listen: { host: '127.0.0.1', port: 0 } });
  client = new MgsClient({ address: mgs.address, timeoutMs: 30_000 });
  for (const n of ['oss-a', 'oss-b', 'oss-c']) await startOssNamed(n, mgs.address);
  await client.registerServer({
    name: 'mds-0',
    role: 'mds',
    address: '127.0.0.1:9',
    host: 'host-m',
    capacityBytes: G,
  });
  await serversSeen(client, 3);
});

after(async () => {
  client.close();
  for (const s of oss.values()) await s.close();
  await mgs.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function statfsOn(server: string, target: string) {
  const c = new OssClient({ address: oss.get(server)!.address });
  return c.statfs(target).finally(() => c.close());
}

test('createFileSystem spreads OSTs over servers, creates them there, and is idempotent', async () => {
  const cfg = await client.createFileSystem({ fsname: 'fs1', ostCount: 4, ostCapacityBytes: G });
  assert.equal(cfg.fsname, 'fs1');
  assert.equal(cfg.mdt.target, 'fs1-MDT0000');
  assert.equal(cfg.mdt.server, 'mds-0');
  assert.deepEqual(
    cfg.osts.map((t) => [t.target, t.index]),
    [0, 1, 2, 3].map((i) => [`fs1-OST000${i}`, i]),
  );
  for (let i = 1; i < cfg.osts.length; i++) assert.notEqual(cfg.osts[i]!.server, cfg.osts[i - 1]!.server);
  assert.equal(new Set(cfg.osts.map((t) => t.server)).size, 3);
  for (const t of cfg.osts) {
    assert.equal(t.address, oss.get(t.server)!.address);
    assert.equal(t.localAddress, oss.get(t.server)!.localAddress);
    assert.equal(t.host, `host-${t.server}`);
    assert.equal((await statfsOn(t.server, t.target)).capacityBytes, G);
  }
  assert.deepEqual(cfg.defaultLayout, { stripeSize: 1 << 20, stripeCount: 1, stripeOffset: -1 });
  assert.equal(cfg.replicas, 1);
  assert.deepEqual(await client.getConfig('fs1'), cfg);
  assert.deepEqual(await client.createFileSystem({ fsname: 'fs1', ostCount: 4, ostCapacityBytes: G }), cfg);
  await assert.rejects(
    client.createFileSystem({ fsname: 'fs1', ostCount: 5, ostCapacityBytes: G }),
    code('EEXIST'),
  );
  assert.ok((await client.listFileSystems()).some((f) => f.fsname === 'fs1'));
});

test('bad names and unknown file systems are reported, not crashed on', async () => {
  for (const fsname of ['UPPER', 'toolong99', '', 'a-b', '../etc']) {
    await assert.rejects(
      client.createFileSystem({ fsname, ostCount: 1, ostCapacityBytes: G }),
      code('EINVAL'),
    );
  }
  await assert.rejects(client.getConfig('nosuch'), code('ENOENT'));
  await assert.rejects(client.addOsts('nosuch', 1, G), code('ENOENT'));
  await client.destroyFileSystem('nosuch');
  await assert.rejects(
    client.createFileSystem({ fsname: 'big', ostCount: 1, ostCapacityBytes: 500 * G }),
    code('ENOSPC'),
  );
  await assert.rejects(client.getConfig('big'), code('ENOENT'));
});

test('addOsts continues the numbering and the round-robin, and bumps the generation', async () => {
  const before = await client.createFileSystem({ fsname: 'grow', ostCount: 2, ostCapacityBytes: G });
  const after = await client.addOsts('grow', 3, 2 * G);
  assert.equal(after.generation, before.generation + 1);
  assert.deepEqual(
    after.osts.map((t) => t.target),
    ['grow-OST0000', 'grow-OST0001', 'grow-OST0002', 'grow-OST0003', 'grow-OST0004'],
  );
  for (let i = 1; i < after.osts.length; i++)
    assert.notEqual(after.osts[i]!.server, after.osts[i - 1]!.server);
  const added = after.osts[4]!;
  assert.equal((await statfsOn(added.server, added.target)).capacityBytes, 2 * G);
  await client.destroyFileSystem('grow');
});

test('replicas=2 needs two OSS servers', async () => {
  const lone = await startMgs({
    dataDir: path.join(dir, 'mgs-lone'),
    listen: { host: '127.0.0.1', port: 0 },
  });
  const c = new MgsClient({ address: lone.address });
  try {
    await c.registerServer({ name: 'm', role: 'mds', address: '127.0.0.1:9', host: 'h', capacityBytes: G });
    await assert.rejects(
      c.createFileSystem({ fsname: 'p', ostCount: 2, ostCapacityBytes: G, replicas: 2 }),
      code('InsufficientServers'),
    );
    await c.registerServer({
      name: 'o1',
      role: 'oss',
      address: '127.0.0.1:9',
      host: 'h',
      capacityBytes: 10 * G,
    });
    await assert.rejects(
      c.createFileSystem({ fsname: 'p', ostCount: 2, ostCapacityBytes: G, replicas: 2 }),
      (e) => code('InsufficientServers')(e) && /replicas=2/.test(String(e)),
    );
    await assert.rejects(c.getConfig('p'), code('ENOENT'));
  } finally {
    c.close();
    await lone.close();
  }
  const cfg = await client.createFileSystem({
    fsname: 'pers',
    ostCount: 2,
    ostCapacityBytes: G,
    replicas: 2,
  });
  assert.equal(cfg.replicas, 2);
  assert.notEqual(cfg.osts[0]!.server, cfg.osts[1]!.server);
});

test('destroy with an OSS down fails, stays recorded, and a retry finishes once it is back', async () => {
  const cfg = await client.createFileSystem({ fsname: 'gone', ostCount: 3, ostCapacityBytes: G });
  const victim = cfg.osts[0]!.server;
  await oss.get(victim)!.close();
  await assert.rejects(client.destroyFileSystem('gone'), code('Unavailable'));
  await assert.rejects(client.getConfig('gone'), code('ENOENT'));
  assert.ok(!(await client.listFileSystems()).some((f) => f.fsname === 'gone'));
  for (const t of cfg.osts.slice(1)) await assert.rejects(statfsOn(t.server, t.target), code('ENODEV'));
  await assert.rejects(
    client.createFileSystem({ fsname: 'gone', ostCount: 3, ostCapacityBytes: G }),
    code('EBUSY'),
  );
  const back = await startOssNamed(victim, mgs.address);
  await waitFor('the OSS to re-register at its new address', async () =>
    (await client.listServers()).some((s) => s.name === victim && s.address === back.address)
      ? true
      : undefined,
  );
  assert.equal((await statfsOn(victim, cfg.osts[0]!.target)).capacityBytes, G, 'kept until the retry');
  await client.destroyFileSystem('gone');
  await assert.rejects(statfsOn(victim, cfg.osts[0]!.target), code('ENODEV'));
  await assert.rejects(client.getConfig('gone'), code('ENOENT'));
});

test('a create interrupted by an unreachable OSS is finished by the retry', async () => {
  await oss.get('oss-b')!.close();
  await assert.rejects(
    client.createFileSystem({ fsname: 'late', ostCount: 3, ostCapacityBytes: G }),
    code('Unavailable'),
  );
  await assert.rejects(client.getConfig('late'), code('EAGAIN'));
  await assert.rejects(
    client.createFileSystem({ fsname: 'late', ostCount: 2, ostCapacityBytes: G }),
    code('EEXIST'),
  );
  const back = await startOssNamed('oss-b', mgs.address);
  await waitFor('oss-b to re-register', async () =>
    (await client.listServers()).some((s) => s.name === 'oss-b' && s.address === back.address)
      ? true
      : undefined,
  );
  const cfg = await client.createFileSystem({ fsname: 'late', ostCount: 3, ostCapacityBytes: G });
  const onB = cfg.osts.find((t) => t.server === 'oss-b')!;
  assert.equal(onB.address, back.address);
  assert.equal((await statfsOn('oss-b', onB.target)).capacityBytes, G);
  assert.deepEqual(await client.getConfig('late'), cfg);
});

test('a failed addOsts adds nothing and removes the OSTs it had created', async () => {
  const before = await client.createFileSystem({ fsname: 'undo', ostCount: 1, ostCapacityBytes: G });
  const down = before.osts[0]!.server;
  await oss.get(down)!.close();
  await assert.rejects(client.addOsts('undo', 3, G), code('Unavailable'));
  assert.deepEqual(await client.getConfig('undo'), before);
  for (const name of ['oss-a', 'oss-b', 'oss-c'].filter((n) => n !== down)) {
    for (const i of [1, 2, 3]) await assert.rejects(statfsOn(name, `undo-OST000${i}`), code('ENODEV'));
  }
  const back = await startOssNamed(down, mgs.address);
  await waitFor('the OSS to re-register', async () =>
    (await client.listServers()).some((s) => s.name === down && s.address === back.address)
      ? true
      : undefined,
  );
  const grown = await client.addOsts('undo', 3, G);
  assert.equal(grown.osts.length, 4);
  await client.destroyFileSystem('undo');
});

test('a server that comes back at a new address moves in the configs', async () => {
  const cfg = await client.createFileSystem({ fsname: 'moves', ostCount: 3, ostCapacityBytes: G });
  const t = cfg.osts[1]!;
  await oss.get(t.server)!.close();
  const back = await startOssNamed(t.server, mgs.address);
  const moved = await waitFor('the config to follow', async () => {
    const c = await client.getConfig('moves');
    return c.osts[1]!.address === back.address ? c : undefined;
  });
  assert.ok(moved.generation > cfg.generation);
  assert.equal((await statfsOn(t.server, t.target)).capacityBytes, G);
});

test('the registry survives an MGS restart, and servers re-register with a new MGS', async () => {
  const port = Number(mgs.address.split(':')[1]);
  const cfg = await client.getConfig('fs1');
  await mgs.close();
  mgs = await startMgs({ dataDir: path.join(dir, 'mgs'), listen: { host: '127.0.0.1', port } });
  assert.deepEqual(await client.getConfig('fs1'), cfg);
  assert.ok((await client.listServers()).some((s) => s.name === 'mds-0'));
  await mgs.close();
  mgs = await startMgs({ dataDir: path.join(dir, 'mgs-fresh'), listen: { host: '127.0.0.1', port } });
  await assert.rejects(client.getConfig('fs1'), code('ENOENT'));
  const seen = await serversSeen(client, 3);
  assert.deepEqual(seen.map((s) => s.name).sort(), ['oss-a', 'oss-b', 'oss-c']);
  for (const s of seen) assert.ok(s.capacityBytes > 0 && s.capacityBytes <= 100 * G);
});
