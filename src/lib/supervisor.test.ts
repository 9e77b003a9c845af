import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NacreError } from './errors.ts';
import { startChild } from './supervisor.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-supervisor-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const node = process.execPath;

test('a child is ready when it prints its ready line, and stop ends it', async () => {
  const script = `console.error('starting'); console.log(JSON.stringify({event:'ready',address:'x:1'})); setInterval(()=>{}, 1000)`;
  const child = await startChild({
    name: 'srv',
    command: node,
    args: ['-e', script],
    logFile: join(dir, 'a.log'),
  });
  assert.equal(child.ready.address, 'x:1');
  await child.stop();
  assert.equal(await child.exited, 'SIGTERM');
  assert.match(await readFile(join(dir, 'a.log'), 'utf8'), /starting/);
});

test('a child that exits before it is ready is an error naming its log', async () => {
  const log = join(dir, 'b.log');
  await assert.rejects(
    startChild({ name: 'bad', command: node, args: ['-e', 'process.exit(3)'], logFile: log }),
    (e) => e instanceof NacreError && e.message.includes('exited (3)') && e.message.includes(log),
  );
});

test('a child that never gets ready is killed at the deadline', async () => {
  await assert.rejects(
    startChild({
      name: 'slow',
      command: node,
      args: ['-e', 'setInterval(()=>{}, 1000)'],
      logFile: join(dir, 'c.log'),
      timeoutMs: 300,
    }),
    /not ready within 300 ms/,
  );
});
