// readMany on an OST: many small object ranges read in one call, each as `read` reads it.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, int } from '../protocol/args.ts';
import { type ObjectRange, READ_MANY_MAX } from '../protocol/oss-batch-messages.ts';
import { Reply } from '../protocol/rpc-server.ts';
import type { BandwidthBudget } from './bandwidth.ts';
import { checkObjectId } from './names.ts';
import type { OstTarget } from './ost-target.ts';

/** The ranges of a readMany call: at most READ_MANY_MAX, each inside `maxEnd`, `maxRead` bytes in all (EINVAL, EFBIG). */
export function readManyArgs(a: Args, maxRead: number, maxEnd: number): ObjectRange[] {
  const reads = a['reads'];
  if (!Array.isArray(reads) || reads.length === 0 || reads.length > READ_MANY_MAX)
    throw new FsError('EINVAL', `argument "reads" must be a list of 1 to ${READ_MANY_MAX} ranges`);
  let total = 0;
  const out = reads.map((raw): ObjectRange => {
    const r = asArgs(raw);
    const [object, offset, length] = [checkObjectId(r['object']), int(r, 'offset'), int(r, 'length')];
    if (offset + length > maxEnd) throw new FsError('EFBIG', `offset + length exceeds ${maxEnd}`);
    total += length;
    return { object, offset, length };
  });
  if (total > maxRead) throw new FsError('EINVAL', `the ranges add up to ${total} bytes, over ${maxRead}`);
  return out;
}

/** Reads every range of `reads` from `t` (at once), under the bandwidth budget when there is one. */
export async function readMany(t: OstTarget, reads: ObjectRange[], budget?: BandwidthBudget): Promise<Reply> {
  await budget?.take(
    t.name,
    reads.reduce((n, r) => n + r.length, 0),
  );
  const data = await Promise.all(reads.map((r) => t.read(r.object, r.offset, r.length)));
  return new Reply({ lengths: data.map((d) => d.length) }, Buffer.concat(data));
}
