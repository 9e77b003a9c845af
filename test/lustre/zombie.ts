// For tests: a zombie process (exited, never reaped by its parent), and the parent to end afterwards.
import { spawn } from 'node:child_process';
import { processState } from '../../src/lib/process-alive.ts';
import { waitFor } from '../../src/lib/wait-for.ts';

/** A zombie's pid; `end()` kills its parent, which lets init reap it. */
export async function makeZombie(): Promise<{ pid: number; end: () => void }> {
  // sh starts `sleep 0`, then becomes `sleep 30`, which never reaps it: once it exits, a zombie.
  const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const end = () => sh.kill('SIGKILL');
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      sh.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      sh.once('error', reject);
    });
    await waitFor('the child to be a zombie', () => processState(pid) === 'Z', { timeoutMs: 10_000 });
    return { pid, end };
  } catch (err) {
    end();
    throw err;
  }
}
