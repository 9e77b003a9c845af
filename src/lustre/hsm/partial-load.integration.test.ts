// Partial lazy load against the real MGS, MDS and OSS servers: a reader gets its range before the whole file is loaded, and a stopped agent's load resumes with the next one (S3 paced in memory at its seam).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { connectLustre, type LustreClient } from '../client/lustre-client.ts';
import { HS_RELEASED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { importPrefix, type RepositoryLink } from './importer.ts';
import { runRestorer } from './restorer.ts';
import { MemoryObjectStore } from './test-support/memory-object-store.ts';

const PIECE = 64 * 1024;
let cluster: TestCluster;
let user: LustreClient;
const store = new MemoryObjectStore(['b']);
const signal = AbortSignal.timeout(120_000);
const link: RepositoryLink = { bucket: 'b', prefix: 'p/', fsPath: '/repo', chunkBytes: 1024 * 1024 };
const connect = () =>
  connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 't', signal });

/** A gate on ranged GETs: pieces below `open` pass; the others wait until it rises. */
class Gate {
  open = 0;
  #waiting: (() => void)[] = [];
  get held(): number {
    return this.#waiting.length;
  }
  readonly served: number[] = [];
  hold = async (_key: string, offset: number, s?: AbortSignal): Promise<void> => {
    while (offset >= this.open) {
      await new Promise<void>((resolve, reject) => {
        this.#waiting.push(resolve);
        s?.addEventListener('abort', () => reject(s.reason), { once: true });
      });
    }
    this.served.push(offset / PIECE);
  };
  raise(to: number): void {
    this.open = to;
    const w = this.#waiting;
    this.#waiting = [];
    for (const r of w) r();
  }
}

interface Agent {
  client: LustreClient;
  stop: AbortController;
  loop: Promise<void>;
}
async function startAgent(): Promise<Agent> {
  const client = await connect();
  await client.mds.call('hsmAgentPoll', { timeoutMs: 0 }, signal);
  const stop = new AbortController();
  const loop = runRestorer(client, store, { partBytes: PIECE, concurrency: 4, attempts: 1 }, stop.signal);
  return { client, stop, loop };
}
async function stopAgent(a: Agent): Promise<void> {
  a.stop.abort();
  await a.loop;
  await a.client.close();
}

let agent: Agent;
before(async () => {
  cluster = await startTestCluster({ ossCount: 2 });
  agent = await startAgent();
  user = await connect();
});
after(async () => {
  store.beforeGet = undefined;
  await stopAgent(agent);
  await user.close();
  await cluster.close();
});

async function imported(name: string, data: Buffer): Promise<number> {
  await store.put('b', `p/${name}`, data, {});
  await importPrefix(
    agent.client,
    store,
    link,
    name,
    () => {},
    () => {},
    signal,
  );
  return (await user.resolvePath(`/repo/${name}`, signal)).ino;
}
const released = async (ino: number) =>
  ((await user.mds.call('hsmState', { ino }, signal)).flags & HS_RELEASED) !== 0;

test('the first read returns when its piece is loaded, while later pieces are not; concurrent readers wait only for theirs', async () => {
  const data = randomBytes(16 * PIECE + 100);
  const ino = await imported('big', data);
  const gate = new Gate();
  gate.raise(PIECE); // only piece 0 passes
  store.beforeGet = gate.hold;
  const h = await user.open(ROOT_CREDENTIALS, ino, 0, signal);
  const first = await user.read(h, 0, 4096, signal);
  assert.ok(first.equals(data.subarray(0, 4096)), 'the first bytes are right');
  assert.equal(await released(ino), true, 'still released: the rest is not loaded');
  assert.deepEqual(gate.served, [0], 'only piece 0 came from S3');
  // A second reader of the end waits for its piece only; it is asked for before the pieces in between.
  let tailDone = false;
  const tail = user.read(h, 16 * PIECE, 100, signal).then((b) => {
    tailDone = true;
    return b;
  });
  await waitFor('four pieces held at S3', () => gate.held === 4, { signal }); // the agent's four workers wait on pieces 1-4
  assert.equal(tailDone, false, 'the last piece is not loaded, so its reader waits');
  gate.raise(Number.POSITIVE_INFINITY);
  assert.ok((await tail).equals(data.subarray(16 * PIECE)));
  const whole = await user.read(h, 0, data.length + 1, signal);
  assert.ok(whole.equals(data), 'the whole file reads back');
  await user.release(h, signal);
  await waitFor('the file no longer released', async () => !(await released(ino)), { signal });
  assert.equal(gate.served.filter((p) => p === 16).length, 1, 'every piece once');
  assert.equal(gate.served.length, 17);
  assert.ok(
    gate.served.indexOf(16) < gate.served.indexOf(8),
    `the piece a reader waits for goes first: ${gate.served}`,
  );
});

test('an agent stopped mid-load leaves the file released; the next agent resumes the load and readers get every byte', async () => {
  const data = randomBytes(12 * PIECE);
  const ino = await imported('resumed', data);
  const gate = new Gate();
  gate.raise(3 * PIECE); // pieces 0-2 pass
  store.beforeGet = gate.hold;
  const h = await user.open(ROOT_CREDENTIALS, ino, 0, signal);
  assert.ok((await user.read(h, 0, 3 * PIECE, signal)).equals(data.subarray(0, 3 * PIECE)));
  await stopAgent(agent);
  assert.equal(await released(ino), true, 'nothing half loaded is taken for complete');
  const before = gate.served.length;
  gate.raise(Number.POSITIVE_INFINITY);
  agent = await startAgent();
  const rest = await user.read(h, 0, data.length + 1, signal);
  assert.ok(rest.equals(data), 'every byte after the restart');
  await user.release(h, signal);
  await waitFor('the file no longer released', async () => !(await released(ino)), { signal });
  const resumed = gate.served.slice(before);
  assert.ok(!resumed.includes(0) && !resumed.includes(1), `loaded pieces are not fetched again: ${resumed}`);
});

test('a file smaller than ImportedFileChunkSize takes its directory layout, as a new file there would', async () => {
  const repo = await user.resolvePath('/repo', signal);
  const wide = await user.mkdir(ROOT_CREDENTIALS, repo.ino, 'wide', 0o755, signal);
  await user.setstripe(
    ROOT_CREDENTIALS,
    wide.ino,
    { stripeCount: -1, stripeSize: 1024 * 1024, stripeOffset: -1 },
    signal,
  );
  const ino = await imported('wide/small', randomBytes(100_000));
  const { layout } = await user.getstripe(ino, signal);
  assert.equal(layout?.stripeCount, user.config.osts.length, 'striped over every OST, like its directory');
});

test('an MDS restart mid-load: the file stays released, the load starts again, and the reader gets every byte', async () => {
  const data = randomBytes(8 * PIECE);
  const ino = await imported('across-mds-restart', data);
  const gate = new Gate();
  gate.raise(2 * PIECE); // pieces 0-1 pass
  store.beforeGet = gate.hold;
  const h = await user.open(ROOT_CREDENTIALS, ino, 0, signal);
  assert.ok((await user.read(h, 0, 2 * PIECE, signal)).equals(data.subarray(0, 2 * PIECE)));
  await waitFor('pieces held at S3', () => gate.held > 0, { signal });
  await cluster.stopMds();
  await cluster.startMds();
  assert.equal(await released(ino), true, 'released after the restart: the load is not complete');
  gate.raise(Number.POSITIVE_INFINITY);
  assert.ok((await user.read(h, 0, data.length + 1, signal)).equals(data), 'every byte');
  await user.release(h, signal);
  await waitFor('the file no longer released', async () => !(await released(ino)), { signal });
});
