// `nacre lfs hsm_state|hsm_set|hsm_clear|hsm_release|hsm_restore <path>`: Lustre's HSM commands on a Nacre mount.
import type { Command } from 'commander';
import type { LfsTarget } from '../../src/lustre/client/lfs.ts';
import { HSM_FLAG_NAMES } from '../../src/lustre/protocol/hsm-messages.ts';

/** The HSM commands and the client they use, loaded only when one runs. */
const hsm = () => import('../../src/lustre/client/lfs-hsm.ts');

/** The caller's credentials: the MDS checks who may change what. */
function caller() {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };
}

export function registerLfsHsm(lfs: Command, target: (path: string) => Promise<LfsTarget>): void {
  lfs
    .command('hsm_state')
    .description("a file's HSM state (exists, archived, released, dirty, …) with Lustre's flag values")
    .argument('<path>', 'a file on a Nacre mount')
    .action(async (path: string) => {
      process.stdout.write(await (await hsm()).lfsHsmState(await target(path)));
    });
  for (const clear of [false, true]) {
    const cmd = lfs
      .command(clear ? 'hsm_clear' : 'hsm_set')
      .description(
        `${clear ? 'clear' : 'set'} HSM flags of a file (root may change all; the owner norelease and noarchive)`,
      )
      .argument('<path>', 'a file on a Nacre mount');
    for (const name of Object.keys(HSM_FLAG_NAMES)) cmd.option(`--${name}`, `the ${name} flag`);
    cmd.action(async (path: string, o: Record<string, boolean>) => {
      let flags = 0;
      for (const [name, bit] of Object.entries(HSM_FLAG_NAMES)) if (o[name]) flags |= bit;
      await (await hsm()).lfsHsmSet(await target(path), flags, clear, caller());
    });
  }
  lfs
    .command('hsm_release')
    .description(
      'free the OST space of an archived, unchanged, closed file (its content stays in the archive)',
    )
    .argument('<path>', 'a file on a Nacre mount')
    .action(async (path: string) => {
      await (await hsm()).lfsHsmRelease(await target(path), caller());
    });
  lfs
    .command('hsm_restore')
    .description('bring the content of a released file back from the archive now')
    .argument('<path>', 'a file on a Nacre mount')
    .action(async (path: string) => {
      await (await hsm()).lfsHsmRestore(await target(path));
    });
}
