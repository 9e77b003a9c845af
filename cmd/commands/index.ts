// Registers every subcommand of the CLI; each lives in its own module beside this one.
import type { Command } from 'commander';
import { registerController } from './controller.ts';
import { registerFuseKeeper } from './fuse-keeper.ts';
import { registerLfs } from './lfs.ts';
import { registerMount } from './mount.ts';
import { registerMountHolder } from './mount-holder.ts';
import { registerNode } from './node.ts';
import { registerServer } from './server.ts';
import { registerUp } from './up.ts';

export function registerCommands(program: Command): void {
  registerUp(program);
  registerMount(program);
  registerLfs(program);
  registerServer(program);
  registerController(program);
  registerFuseKeeper(program);
  registerNode(program);
  registerMountHolder(program);
}
