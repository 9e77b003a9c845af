// For tests: a zombie process (exited, never reaped by its parent), and the parent to end afterwards.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processState } from '../../src/lib/process-alive.ts';
import { waitFor } from '../../src/lib/wait-for.ts';

/** A zombie's pid; `end()` kills its parent, which lets init reap it. */
export async function makeZombie(): Promise<{ pid: number; end: () => void }> {
  // sh starts a child, then becomes `sleep 30`, which never reaps it. The child is killed only once
  // sh has exec'd: a child that ended earlier could be reaped by sh itself and never be a zombie.
  const sh = spawn('sh', ['-c', 'sleep 300 & echo $!; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let child = 0;
  const end = () => {
    try {
      if (child > 0) process.kill(child, 'SIGKILL'); // first, while sh still holds its pid; a zombie ignores it
    } catch {}
    sh.kill('SIGKILL');
  };
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      sh.stdout.once('data', (d: Buffer) => {
        child = Number(String(d).trim());
        resolve(child);
      });
      sh.once('error', reject);
    });
    const cmdline = () => {
      try {
        return readFileSync(`/proc/${sh.pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    await waitFor('sh to exec sleep 30', () => cmdline() === 'sleep\0' + '30\0', { timeoutMs: 10_000 });
    process.kill(pid, 'SIGKILL');
    await waitFor('the child to be a zombie', () => processState(pid) === 'Z', { timeoutMs: 10_000 });
    return { pid, end };
  } catch (err) {
    end();
    throw err;
  }
}
