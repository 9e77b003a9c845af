// Whether a process runs, read from /proc: a zombie (dead, not yet reaped) counts as gone, unlike kill(pid, 0).
import { readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after "(comm)", from the state (field 3) on; undefined when there is no such process. */
function statFields(pid: number): string[] | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) S …": comm may hold spaces and parentheses, so the state follows the last ")".
  const end = stat.lastIndexOf(')');
  return end < 0 ? undefined : stat.slice(end + 2).split(' ');
}

/** The state letter of /proc/<pid>/stat (R, S, D, Z, …), or undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/**
 * When `pid` started, in clock ticks since boot (/proc/<pid>/stat field 22), or undefined when
 * there is no such process. The same in every pid namespace: with the pid it names one process
 * even after pids were reused (a restarted container counts from 1 again).
 */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Whether `pid` is a live process: it exists and is neither a zombie (Z) nor dead (X). */
export function processAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/**
 * Whether the process `pid` that started at `startTime` (processStartTime, recorded when it ran)
 * still lives: false for another process that got the same pid since. Without a recorded start
 * time (state written by an older version) only the pid is checked.
 */
export function processAliveSince(pid: number, startTime: string | undefined): boolean {
  if (!processAlive(pid)) return false;
  return startTime === undefined || processStartTime(pid) === startTime;
}
