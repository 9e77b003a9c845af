// Registers every subcommand of the CLI; each lives in its own module beside this one.
import type { Command } from 'commander';
import { registerServer } from './server.ts';

export function registerCommands(program: Command): void {
  registerServer(program);
  program
    .command('up')
    .description('run a whole emulated file system on this machine and mount it (not yet implemented)')
    .action(() => {
      program.help();
    });
}
