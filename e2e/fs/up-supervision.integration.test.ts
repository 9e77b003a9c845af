// `nacre up` under kill -9: each server killed in turn during a cp -r into the mount is restarted and the copy completes intact; killing nacre up itself leaves no orphans.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NACRE } from './fs-cluster.ts';
import { type Held, hold, run, sh, waitFor } from './shell.ts';
import { upArgs } from './up-process.ts';

let dir: string;
let up: Held | undefined;
let port: number;

/** Pids of processes whose command line mentions `text` (e.g. a data directory), this test's own excluded. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(text) && !cmd.startsWith('sh -c')) pids.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** A base port with the 8 ports from it free on 127.0.0.1 (MGS, MDS, OSS…, API). */
async function freeBasePort(): Promise<number> {
  const free = (p: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < 8 && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error('no 8 consecutive free ports');
}

function startUp(): Held {
  return hold([...NACRE, ...upArgs(dir, port), '--no-api']);
}

/** Waits until `nacre up` printed its summary, then until the mount answers. */
async function waitUp(h: Held): Promise<void> {
  await h.waitForLine(/is up:/, 120_000);
  await waitFor('the mount answers', async () => (await run(['stat', join(dir, 'mnt')])).code === 0, 30_000);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-up-'));
  port = await freeBasePort();
  // The tree to copy: 2000 files in 40 directories, 0–8 KiB each.
  const src = join(dir, 'src');
  for (let d = 0; d < 40; d++) {
    await mkdir(join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 50; f++) {
      await writeFile(join(src, `d${d}`, `f${f}`), `${d}/${f} `.repeat((d * 50 + f) % 1000));
    }
  }
});

after(async () => {
  await up?.kill();
  await run(['umount', '-l', join(dir, 'mnt')], { timeoutMs: 10_000 });
  for (const pid of processesMentioning(join(dir, 'data'))) process.kill(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('every server killed with -9 during cp -r into the mount is restarted, and the copy is complete', async () => {
  up = startUp();
  await waitUp(up);
  const mnt = join(dir, 'mnt');
  for (const name of ['mds0', 'oss0', 'mgs', 'oss1']) {
    const copy = run(['cp', '-r', join(dir, 'src'), join(mnt, `copy-${name}`)], { timeoutMs: 600_000 });
    await waitFor(
      `cp has copied some files before ${name} is killed`,
      async () =>
        (await run(['sh', '-c', `ls ${mnt}/copy-${name}/d1 2>/dev/null | wc -l`])).stdout.trim() !== '0',
      120_000,
    );
    const [pid, ...more] = processesMentioning(`--data-dir ${join(dir, 'data', name)} `);
    assert.ok(pid && more.length === 0, `one ${name} process (${pid} ${more})`);
    process.kill(pid, 'SIGKILL');
    const r = await copy;
    assert.equal(r.code, 0, `cp -r with ${name} killed: ${r.stderr.slice(-2000)}`);
    const diff = await run(['diff', '-r', join(dir, 'src'), join(mnt, `copy-${name}`)], {
      timeoutMs: 300_000,
    });
    assert.equal(diff.code, 0, `diff -r after killing ${name}: ${diff.stdout.slice(0, 2000)}${diff.stderr}`);
    await waitFor(
      `${name} runs again`,
      async () => processesMentioning(`--data-dir ${join(dir, 'data', name)} `).length === 1,
      60_000,
    );
  }
  // kill -9 of nacre up itself: its servers notice and exit; nothing holds the ports.
  const upPid = up.pid;
  const ended = await up.kill();
  up = undefined;
  for (const name of ['mgs', 'mds0', 'oss0', 'oss1']) {
    assert.match(ended.stderr, new RegExp(`${name} died`), `the supervisor said ${name} died`);
    assert.match(ended.stderr, new RegExp(`${name} restarted`), `and that it came back`);
  }
  await waitFor(
    'no server of the killed nacre up is left',
    async () => processesMentioning(join(dir, 'data')).length === 0,
    30_000,
  );
  assert.ok(upPid > 0);
});

test('after nacre up was killed with -9, the next nacre up starts cleanly on the same data and mount point', async () => {
  up = startUp();
  await waitUp(up);
  const mnt = join(dir, 'mnt');
  const diff = await run(['diff', '-r', join(dir, 'src'), join(mnt, 'copy-mds0')], { timeoutMs: 300_000 });
  assert.equal(diff.code, 0, `the copy made before is all there: ${diff.stdout.slice(0, 1000)}`);
  assert.equal(await sh(`cat ${mnt}/copy-oss1/d3/f7 | head -c 5`), '3/7 3');
});
