// What the benchmarks compare: the local directory, a memory file system on the same FUSE layer, and a real Nacre mount.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FsCluster, startFsCluster } from '../e2e/fs/fs-cluster.ts';
import { run } from '../e2e/fs/shell.ts';
import { type FuseMount, mountFuse } from '../src/lustre/fuse/mount.ts';
import { MemoryClient } from '../test/lustre/memory-client.ts';

/** Extra `nacre mount` flags of every Nacre mount the benchmarks make (`npm run bench -- … --mount-args "--cached"`). */
export const targetSettings = { mountArgs: [] as string[] };

export interface Target {
  name: string;
  dir: string;
}

export interface Targets {
  /** The local directory (the disk the OSTs use), the memory FUSE file system, the Nacre mount. */
  local: Target;
  memfs: Target;
  nacre: Target;
  cluster: FsCluster;
  stop(): Promise<void>;
}

/**
 * Starts a 4-OST Nacre file system (servers and the mount as child processes), mounts the memory
 * client on the same FUSE layer in this process (so run workloads in child processes only, never
 * synchronously here), and makes a local directory. Files under the Nacre mount's `dir` are
 * striped over `stripes` OSTs with 1 MiB stripes.
 */
export async function startTargets(
  opts: { stripes?: number; memfs?: boolean; ostBandwidth?: string } = {},
): Promise<Targets> {
  const cluster = await startFsCluster({
    fsname: 'bench',
    ostCapacityBytes: 8 * 2 ** 30,
    ...(opts.ostBandwidth !== undefined && { ossArgs: ['--bandwidth', opts.ostBandwidth] }),
  });
  let mem: FuseMount | undefined;
  const localDir = await mkdtemp(join(tmpdir(), 'nacre-bench-local-'));
  const memDir = await mkdtemp(join(tmpdir(), 'nacre-bench-memfs-'));
  const stop = async () => {
    await mem?.unmount();
    await cluster.stop();
    await rm(localDir, { recursive: true, force: true });
    await rm(memDir, { recursive: true, force: true });
  };
  try {
    const m = await cluster.mount('bench', { args: targetSettings.mountArgs });
    const nacreDir = join(m.point, 'data');
    const nacre = fileURLToPath(new URL('../cmd/nacre.ts', import.meta.url));
    await mkdir(nacreDir);
    const r = await run(
      [process.execPath, nacre, 'lfs', 'setstripe', '-c', String(opts.stripes ?? 4), '-S', '1M', nacreDir],
      {
        timeoutMs: 30_000,
      },
    );
    if (r.code !== 0) throw new Error(`lfs setstripe failed: ${r.stderr}`);
    if (opts.memfs !== false) {
      mem = await mountFuse({
        client: new MemoryClient(),
        mountPoint: memDir,
        source: 'nacre-bench-memfs',
        directIo: true,
      });
    }
    return {
      local: { name: 'local', dir: localDir },
      memfs: { name: 'memfs', dir: memDir },
      nacre: { name: 'nacre', dir: nacreDir },
      cluster,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
