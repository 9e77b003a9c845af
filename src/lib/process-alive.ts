// Whether a process runs, read from /proc: a zombie (dead, not yet reaped) counts as gone, unlike kill(pid, 0).
import { readFileSync } from 'node:fs';

/** The state letter of /proc/<pid>/stat (R, S, D, Z, …), or undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) S …": comm may hold spaces and parentheses, so the state follows the last ")".
  const end = stat.lastIndexOf(')');
  return end < 0 ? undefined : stat.slice(end + 2, end + 3);
}

/** Whether `pid` is a live process: it exists and is neither a zombie (Z) nor dead (X). */
export function processAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}
