// `nacre lfs project|setquota|quota`: Lustre's project quotas for paths on a Nacre mount.
import { type Command, InvalidArgumentError } from 'commander';
import type { LfsTarget } from '../../src/lustre/client/lfs.ts';
import { sizeOption } from './options.ts';

const PROJID_MAX = 2 ** 32 - 2;

function projectOption(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > PROJID_MAX) {
    throw new InvalidArgumentError(`"${text}" is not a project ID (0..${PROJID_MAX})`);
  }
  return n;
}

/** Lustre's -B: a plain number is kilobytes; with a suffix (K, M, G, T) it is that size. */
function blockLimitOption(text: string): number {
  return /^\d+$/.test(text.trim()) ? Number(text) * 1024 : sizeOption(text);
}

function countOption(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`"${text}" is not a count`);
  return n;
}

export function registerLfsQuota(lfs: Command, target: (path: string) => Promise<LfsTarget>): void {
  lfs
    .command('project')
    .description('show or set project IDs (for project quotas) of files and directories')
    .argument('<path>', 'a file or directory on a Nacre mount')
    .option('-p, --proj-id <id>', 'set this project ID', projectOption)
    .option('-s, --set-inherit', 'directories pass the project ID on to new files and directories')
    .option('-C, --clear', 'clear the project ID and the inherit flag')
    .option('-r, --recursive', 'everything below the directory too')
    .option('-d, --directory', 'show a directory itself rather than its entries')
    .action(
      async (
        path: string,
        o: {
          projId?: number;
          setInherit?: boolean;
          clear?: boolean;
          recursive?: boolean;
          directory?: boolean;
        },
      ) => {
        if (o.clear && (o.projId !== undefined || o.setInherit)) {
          throw new InvalidArgumentError('-C clears the project ID: give it without -p or -s');
        }
        process.stdout.write(
          await (await import('../../src/lustre/client/lfs-quota.ts')).lfsProject(await target(path), {
            ...(o.projId !== undefined && { projectId: o.projId }),
            inherit: o.setInherit ?? false,
            clear: o.clear ?? false,
            recursive: o.recursive ?? false,
            directory: o.directory ?? false,
          }),
        );
      },
    );
  lfs
    .command('setquota')
    .description("set a project's hard limits (0: no limit)")
    .requiredOption('-p, --projid <id>', 'project ID', projectOption)
    .option(
      '-B, --block-hardlimit <size>',
      'block limit: kilobytes, or a size like 8M or 10G',
      blockLimitOption,
      0,
    )
    .option('-I, --inode-hardlimit <count>', 'inode limit', countOption, 0)
    .argument('<mountpoint>', 'a Nacre mount (or any path on it)')
    .action(async (path: string, o: { projid: number; blockHardlimit?: number; inodeHardlimit?: number }) => {
      if (o.blockHardlimit === undefined && o.inodeHardlimit === undefined) {
        throw new InvalidArgumentError('give -B and/or -I');
      }
      await (await import('../../src/lustre/client/lfs-quota.ts')).lfsSetquota(await target(path), o.projid, {
        ...(o.blockHardlimit !== undefined && { blockHardLimitBytes: o.blockHardlimit }),
        ...(o.inodeHardlimit !== undefined && { inodeHardLimit: o.inodeHardlimit }),
      });
    });
  lfs
    .command('quota')
    .description("a project's usage and limits")
    .requiredOption('-p, --projid <id>', 'project ID', projectOption)
    .argument('<mountpoint>', 'a Nacre mount (or any path on it)')
    .action(async (path: string, o: { projid: number }) => {
      process.stdout.write(
        await (await import('../../src/lustre/client/lfs-quota.ts')).lfsQuota(await target(path), o.projid),
      );
    });
}
