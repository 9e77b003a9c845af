// What a kubelet node leaves on the host, and its removal: a cgroup subtree in every v1 hierarchy, mounts under the node's dir.
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { DeadlineExceededError, NacreError } from '../../src/lib/errors.ts';
import { waitFor } from '../../src/lib/wait-for.ts';

const CGROUP_FS = '/sys/fs/cgroup';
const runner = new ExecRunner();

/** The mounted cgroup hierarchies (v1 controllers, name=systemd, the unified v2 one), as directories. */
export async function cgroupHierarchies(): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const dirs: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const fstype = right?.split(' ')[0];
    const mountPoint = left?.split(' ')[4];
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && mountPoint?.startsWith(`${CGROUP_FS}/`))
      dirs.push(mountPoint);
  }
  return dirs;
}

/**
 * Creates `/<name>` in every hierarchy (cpuset's gets its parent's cpus and mems, which a new v1
 * cpuset lacks): the kubelet's cgroupRoot, holding the node's daemons, shims and containers.
 */
export async function createNodeCgroup(name: string): Promise<void> {
  for (const h of await cgroupHierarchies()) {
    const dir = join(h, name);
    await mkdir(dir, { recursive: true });
    if (h.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        await writeFile(join(dir, f), await readFile(join(h, f), 'utf8'));
    }
  }
}

/** A shell prefix that moves itself into the node's cgroup in every v1 hierarchy, then execs the rest. */
export async function joinCgroupScript(name: string): Promise<string> {
  const files = (await cgroupHierarchies())
    .filter((h) => !h.endsWith('/unified'))
    .map((h) => join(h, name, 'cgroup.procs'));
  return files.map((f) => `echo $$ > '${f}'`).join(' && ');
}

/** Every pid in the node's pids subtree (daemons, shims, containers). */
export async function nodePids(name: string): Promise<number[]> {
  const pids: number[] = [];
  const walk = async (dir: string): Promise<void> => {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const l of text.split('\n')) if (l) pids.push(Number(l));
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  await walk(join(CGROUP_FS, 'pids', name));
  return pids;
}

/** SIGKILLs every process in the node's cgroup until none is left (a forking one is caught on the next pass). */
export async function killNodeProcesses(name: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `every process in cgroup ${name} to exit`,
    async () => {
      const pids = await nodePids(name);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ESRCH: gone already.
        }
      }
      return pids.length === 0;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Removes the node's cgroup directories, deepest first, in every hierarchy. Missing ones are fine. */
export async function removeNodeCgroup(name: string): Promise<void> {
  const rmTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (!entries) return;
    for (const e of entries) if (e.isDirectory()) await rmTree(join(dir, e.name));
    // A v1 cgroup whose last task just died may still be busy for a moment.
    await waitFor(
      `cgroup ${dir} to be removable`,
      async () => {
        try {
          await rmdir(dir);
          return true;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return true;
          if (code === 'EBUSY') return false;
          throw err;
        }
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  };
  for (const h of await cgroupHierarchies()) await rmTree(join(h, name));
}

/** The node's cgroups that still exist, by path (empty when all are gone). */
export async function cgroupLeftovers(name: string): Promise<string[]> {
  const left: string[] = [];
  for (const h of await cgroupHierarchies()) {
    const dir = join(h, name);
    if (
      await readdir(dir).then(
        () => true,
        () => false,
      )
    )
      left.push(dir);
  }
  return left;
}

/** Mount points at or below `dir`, deepest first (octal escapes in mountinfo decoded). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = mountinfo
    .split('\n')
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort(
    (a, b) => b.split('/').length - a.split('/').length || b.length - a.length,
  );
}

/** Unmounts everything at or below `dir`, deepest first, until nothing is left (stacked mounts too). */
export async function unmountAllUnder(dir: string, timeoutMs = 20_000): Promise<void> {
  try {
    await waitFor(
      `every mount under ${dir} to be gone`,
      async () => {
        const points = await mountsUnder(dir);
        for (const p of points) {
          const r = await runner.run('umount', ['--lazy', p], { timeoutMs: 10_000 });
          if (r.code !== 0 && !/not mounted|no mount point/.test(r.stderr))
            throw new NacreError('UnmountFailed', `umount ${p}: ${r.stderr.trim()}`);
        }
        return points.length === 0;
      },
      { timeoutMs, intervalMs: 50 },
    );
  } catch (err) {
    if (err instanceof DeadlineExceededError)
      throw new NacreError(
        'UnmountFailed',
        `mounts left under ${dir}: ${(await mountsUnder(dir)).join(', ')}`,
        {
          cause: err,
        },
      );
    throw err;
  }
}

/** Makes `dir` a private mount point (a bind of itself): mount-namespace files can only be bound there. */
export async function makePrivateMount(dir: string): Promise<void> {
  for (const args of [
    ['--bind', dir, dir],
    ['--make-private', dir],
  ]) {
    const r = await runner.run('mount', args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new NacreError('MountFailed', `mount ${args.join(' ')}: ${r.stderr.trim()}`);
  }
}
