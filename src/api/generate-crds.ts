// Writes crds/*.yaml from the definitions in src/api (run: node src/api/generate-crds.ts [--check]).
import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderCrds } from './crds.ts';

export const CRDS_DIR = join(import.meta.dirname, '..', '..', 'crds');

/** Names of files in `dir` that differ from (or are missing in, or extra to) the rendered CRDs. */
export async function staleCrdFiles(dir = CRDS_DIR): Promise<string[]> {
  const want = renderCrds();
  const have = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.yaml'));
  const stale: string[] = have.filter((f) => !want.has(f));
  for (const [name, text] of want) {
    const current = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (current !== text) stale.push(name);
  }
  return stale.sort();
}

/** Rewrites `dir` to hold exactly the rendered CRDs. */
export async function writeCrds(dir = CRDS_DIR): Promise<void> {
  const want = renderCrds();
  for (const f of await readdir(dir)) {
    if (f.endsWith('.yaml') && !want.has(f)) await unlink(join(dir, f));
  }
  for (const [name, text] of want) await writeFile(join(dir, name), text);
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = await staleCrdFiles();
    if (stale.length > 0) {
      process.stderr.write(`crds/ is stale (${stale.join(', ')}): run node src/api/generate-crds.ts\n`);
      process.exitCode = 1;
    }
  } else {
    await writeCrds();
    process.stdout.write(`wrote ${renderCrds().size} CRDs to crds/\n`);
  }
}
