#!/usr/bin/env node
// The one Nacre CLI: every server role, the FUSE mount, lfs, the operator, the CSI plugins and `nacre up`.
import './env-init.ts';
import { Command, Option } from 'commander';
import { configureLogging, type LogFormat } from '../src/lib/log.ts';
import { addDataPlaneKeyOption, applyDataPlaneKeyFlag } from './commands/data-plane.ts';
import { registerCommands } from './commands/index.ts';

const program = new Command('nacre')
  .description(
    'Lustre-like shared volumes for Kubernetes: FSx for Lustre or an emulated parallel file system',
  )
  .version('0.1.0')
  .addOption(
    new Option('--log-format <format>', 'log output format').choices(['text', 'json']).default('text'),
  )
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['error', 'warn', 'info', 'debug'])
      .default('info'),
  )
  .option('--debug <components>', 'comma-separated components to log at debug level (or "all")', '')
  .showHelpAfterError()
  .hook('preAction', async (cmd) => {
    const opts = cmd.opts<{ logFormat: LogFormat; logLevel: string; debug: string }>();
    configureLogging({ format: opts.logFormat, level: opts.logLevel, debug: opts.debug });
    await applyDataPlaneKeyFlag(cmd);
  });

addDataPlaneKeyOption(program);
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`nacre: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
