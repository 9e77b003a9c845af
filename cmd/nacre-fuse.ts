#!/usr/bin/env node
// A light entry for the per-mount processes (`fuse-keeper`, `fuse-serve`): only their modules load, not the whole CLI.
import './env-init.ts';
import { Command, Option } from 'commander';
import { configureLogging, type LogFormat } from '../src/lib/log.ts';
import { addDataPlaneKeyOption, applyDataPlaneKeyFlag } from './commands/data-plane.ts';
import { registerFuseKeeper } from './commands/fuse-keeper.ts';

const program = new Command('nacre-fuse')
  .description('FUSE keeper and daemon of one mount (started by nacre node)')
  .addOption(
    new Option('--log-format <format>', 'log output format').choices(['text', 'json']).default('text'),
  )
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['error', 'warn', 'info', 'debug'])
      .default('info'),
  )
  .option('--debug <components>', 'comma-separated components to log at debug level (or "all")', '')
  .hook('preAction', async (cmd) => {
    const opts = cmd.opts<{ logFormat: LogFormat; logLevel: string; debug: string }>();
    configureLogging({ format: opts.logFormat, level: opts.logLevel, debug: opts.debug });
    await applyDataPlaneKeyFlag(cmd);
  });

addDataPlaneKeyOption(program);
registerFuseKeeper(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`nacre-fuse: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
