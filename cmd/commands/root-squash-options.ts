// `--root-squash uid:gid` and `--nosquash-nids` of `nacre up`: parsed at the edge, applied through the MGS.
import { type Command, InvalidArgumentError } from 'commander';
import { MgsClient } from '../../src/lustre/protocol/mgs-client.ts';
import type { FileSystemConfig } from '../../src/lustre/protocol/mgs-messages.ts';
import { checkNid, parseSquashIds, type RootSquash } from '../../src/lustre/protocol/root-squash.ts';

export interface RootSquashFlags {
  rootSquash?: { uid: number; gid: number };
  nosquashNids?: string[];
}

function idsOption(text: string): { uid: number; gid: number } {
  try {
    return parseSquashIds(text);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

function nidsOption(text: string): string[] {
  try {
    return text.split(',').filter(Boolean).map(checkNid);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

export function addRootSquashOptions(cmd: Command): Command {
  return cmd
    .option(
      '--root-squash <uid:gid>',
      "map root (uid 0) of every client to these ids on the MDS (Lustre's root_squash, FSx's RootSquash), e.g. 65534:65534",
      idsOption,
    )
    .option(
      '--nosquash-nids <nids>',
      'clients exempt from --root-squash, comma-separated Lustre NIDs (10.0.0.5@tcp, 10.0.0.*@tcp, 127.0.0.[1-9]@tcp)',
      nidsOption,
    );
}

/** The setting the flags ask for; undefined: no squash. */
export function rootSquashFromFlags(f: RootSquashFlags): RootSquash | undefined {
  if (!f.rootSquash) {
    if (f.nosquashNids?.length) throw new InvalidArgumentError('--nosquash-nids needs --root-squash');
    return undefined;
  }
  return { ...f.rootSquash, nosquashNids: f.nosquashNids ?? [] };
}

/** Makes an existing file system's root squash what `want` says (a new one got it at creation). */
export async function applyRootSquash(
  mgsAddress: string,
  config: FileSystemConfig,
  want: RootSquash | undefined,
  signal: AbortSignal,
): Promise<FileSystemConfig> {
  if (JSON.stringify(config.rootSquash ?? null) === JSON.stringify(want ?? null)) return config;
  const mgs = new MgsClient({ address: mgsAddress });
  try {
    return await mgs.setRootSquash(config.fsname, want ?? null, signal);
  } finally {
    mgs.close();
  }
}
