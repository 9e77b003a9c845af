// A reader process for bench/s3-bench.ts --reader-process (as a FUSE daemon reads in a deployment): one command per stdin line, one answer line each.
// Commands: "all SIZE PATH…" reads the files whole at once, "head PATH" reads 4 KiB; answers "ok" or "error MESSAGE". Usage: node bench/s3-reader.ts MGS FSNAME
import { createInterface } from 'node:readline';
import { connectLustre } from '../src/lustre/client/lustre-client.ts';
import { readAll, readHead } from './s3-read.ts';

const [mgsAddress, fsname] = process.argv.slice(2);
if (!mgsAddress || !fsname) throw new Error('usage: node bench/s3-reader.ts MGS FSNAME');
const signal = AbortSignal.timeout(60 * 60_000);
const c = await connectLustre({ mgsAddress, fsname, host: 'bench-reader', signal });
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, ...rest] = line.split(' ');
  if (cmd === 'exit') break;
  try {
    if (cmd === 'head') await readHead(c, rest[0]!, signal);
    else if (cmd === 'all')
      await Promise.all(rest.slice(1).map((p) => readAll(c, p, Number(rest[0]), signal)));
    else throw new Error(`unknown command ${cmd}`);
    console.log('ok');
  } catch (err) {
    console.log(`error ${String(err).replaceAll('\n', ' ')}`);
  }
}
await c.close();
