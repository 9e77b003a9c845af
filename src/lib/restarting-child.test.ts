// startRestartingChild with real child processes: a crash is reported and followed by a restart with the same arguments; stop ends it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type RestartEvent, startRestartingChild } from './restarting-child.ts';

/** Appends its pid to argv[1], announces ready, and dies with code 3 unless it is the third start. */
const CHILD = `
const fs = require('node:fs');
fs.appendFileSync(process.argv[1], process.pid + '\\n');
const starts = fs.readFileSync(process.argv[1], 'utf8').trim().split('\\n').length;
console.log(JSON.stringify({ event: 'ready', address: '127.0.0.1:' + starts }));
if (starts < 3) setTimeout(() => process.exit(3), 50);
else setInterval(() => {}, 1000);
`;

test('a child that dies is restarted after a backoff until it stays up; stop ends supervision', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-restart-'));
  const starts = join(dir, 'starts');
  const exits: RestartEvent[] = [];
  const back: number[] = [];
  const child = await startRestartingChild({
    name: 'crashy',
    command: process.execPath,
    args: ['-e', CHILD, starts],
    logFile: join(dir, 'log'),
    minDelayMs: 20,
    onExit: (e) => exits.push(e),
    onRestarted: (e) => back.push(e.restart),
  });
  try {
    assert.equal(child.ready.address, '127.0.0.1:1');
    const deadline = Date.now() + 20_000;
    while (back.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(back, [1, 2], 'restarted twice');
    assert.deepEqual(
      exits.map((e) => [e.exit, e.delayMs]),
      [
        [3, 20],
        [3, 40],
      ],
      'each crash reported with its exit code, the backoff doubling',
    );
    const pids = (await readFile(starts, 'utf8')).trim().split('\n').map(Number);
    assert.equal(pids.length, 3);
    assert.equal(child.pid, pids[2], 'the running process is the third start');
    assert.equal(child.restarts, 2);
  } finally {
    await child.stop(2_000);
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(child.pid, pidOrUndefined(child.pid), 'stopped');
});

function pidOrUndefined(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 0);
    assert.fail(`process ${pid} still runs after stop`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
  return pid;
}
