// One process of the small-file benchmark: a phase over its own files in a shared directory; prints its files per second.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const [phase, dir, prefix, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!phase || !dir || !prefix || !(count > 0))
  throw new Error('usage: smallfiles-worker.ts write|stat|read|delete <dir> <prefix> <count>');
/** mdtest-hard's file size. */
const data = Buffer.alloc(3901, 0x5a);
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const f = join(dir, `${prefix}.${i}`);
  if (phase === 'write') {
    const h = await open(f, 'wx');
    await h.write(data, 0, data.length, 0);
    await h.close();
  } else if (phase === 'stat') {
    if ((await stat(f)).size !== data.length) throw new Error(`${f} has the wrong size`);
  } else if (phase === 'read') {
    if ((await readFile(f)).length !== data.length) throw new Error(`${f} read short`);
  } else if (phase === 'delete') await unlink(f);
  else throw new Error(`unknown phase ${phase}`);
}
process.stdout.write(`${count / ((performance.now() - t0) / 1000)}\n`);
