// `nacre lfs setstripe|getstripe|df`: Lustre's lfs for paths on a Nacre mount.
import type { Command } from 'commander';
import { registerLfsHsm } from './lfs-hsm.ts';
import { registerLfsQuota } from './lfs-quota.ts';
import { defaultHost, intOption, sizeOption } from './options.ts';

/** The lfs implementation (and the client it uses), loaded only when an lfs command runs. */
const lfsModule = () => import('../../src/lustre/client/lfs.ts');

export async function target(localPath: string) {
  const { mountedPath } = await import('../../src/lustre/mounted-path.ts');
  const m = await mountedPath(localPath);
  return {
    mgsAddress: m.mgsAddress,
    fsname: m.fsname,
    path: m.path,
    mountPoint: m.mountPoint,
    host: defaultHost(),
  };
}

export function registerLfs(program: Command): void {
  const lfs = program.command('lfs').description("Lustre's lfs: striping and usage of a Nacre file system");
  lfs
    .command('setstripe')
    .description('set the layout of new files in a directory, or of a new (empty) file')
    .argument('<path>', 'a directory or a file on a Nacre mount (created empty if missing)')
    .option('-c, --stripe-count <n>', 'OSTs per file (-1: all)', intOption, 1)
    .option('-S, --stripe-size <size>', 'bytes per stripe, a multiple of 64K', sizeOption, sizeOption('1M'))
    .option('-i, --stripe-index <n>', 'first OST (-1: the MDS chooses)', intOption, -1)
    .action(async (path: string, o: { stripeCount: number; stripeSize: number; stripeIndex: number }) => {
      const { lfsSetstripe } = await lfsModule();
      await lfsSetstripe(await target(path), {
        stripeCount: o.stripeCount,
        stripeSize: o.stripeSize,
        stripeOffset: o.stripeIndex,
      });
    });
  lfs
    .command('getstripe')
    .description("show a file's layout (count, size, the OST of every stripe) or a directory's default")
    .argument('<path>', 'a file or directory on a Nacre mount')
    .action(async (path: string) => {
      const { lfsGetstripe } = await lfsModule();
      process.stdout.write(await lfsGetstripe(await target(path)));
    });
  lfs
    .command('df')
    .description('usage of every OST of the file system a path is on')
    .argument('[path]', 'a path on a Nacre mount', '.')
    .action(async (path: string) => {
      const { lfsDf } = await lfsModule();
      process.stdout.write(await lfsDf(await target(path)));
    });
  registerLfsHsm(lfs, target);
  registerLfsQuota(lfs, target);
}
