// Test support: `nacre up` as a background process on port 0 (with the addresses it printed), stopped with Ctrl-C, and extra `nacre mount`s of it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NACRE } from './fs-cluster.ts';
import { type Held, hold, run } from './shell.ts';

export interface UpProcess {
  held: Held;
  /** `<mgs>@tcp:/<fsname>` as nacre up printed it. */
  source: string;
  mdsAddress: string;
  /** Address of the last OST it printed. */
  ostAddress: string;
  /** Ctrl-C: nacre up unmounts and stops its servers. */
  stop(): Promise<void>;
}

/** `up` and the arguments the tests give it: 2 OSTs of 1 GiB, data in `dir`/data, mounted at `dir`/mnt, servers from `port` (0: any). */
export function upArgs(dir: string, port = 0): string[] {
  return [
    'up',
    '--data-dir',
    join(dir, 'data'),
    '--mount',
    join(dir, 'mnt'),
    '--port',
    String(port),
    '--osts',
    '2',
    '--ost-size',
    '1G',
  ];
}

/** Starts `nacre [global…] up` (upArgs on port 0) with no FSx API. */
export async function startUp(dir: string, global: string[], extra: string[] = []): Promise<UpProcess> {
  const held = hold([...NACRE, ...global, ...upArgs(dir), '--no-api', ...extra]);
  await held.waitForLine(/Press Ctrl-C/, 180_000);
  const field = (name: string) => {
    const line = held.lines.find((l) => l.trimStart().startsWith(name));
    assert.ok(line, `nacre up printed its ${name}`);
    return line.trim().split(/\s+/);
  };
  return {
    held,
    source: field('source')[1]!,
    mdsAddress: field('MDT').at(-1)!,
    ostAddress: field('OST').at(-1)!,
    stop: async () => {
      if (held.exited) return;
      process.kill(held.pid, 'SIGINT');
      await held.release(30_000);
    },
  };
}

/** `nacre [flags…] mount <source> <dir>/<name>`; how it ended, how long it took, and where. */
export async function mountWith(dir: string, source: string, flags: string[], name: string) {
  const mnt = join(dir, name);
  await run(['mkdir', '-p', mnt]);
  const started = Date.now();
  const r = await run([...NACRE, ...flags, 'mount', source, mnt, '--log-file', join(dir, `${name}.log`)], {
    timeoutMs: 60_000,
  });
  return { ...r, mnt, seconds: (Date.now() - started) / 1000 };
}
