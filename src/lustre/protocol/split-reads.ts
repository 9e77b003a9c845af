// A readMany reply's payload cut back into each range's bytes, checked against what the OSS announced.
import { FsError } from '../../lib/errors.ts';

/** EIO when the OSS answered for another number of ranges, or its lengths and payload disagree. */
export function splitReads(payload: Buffer, lengths: unknown, count: number, from: string): Buffer[] {
  if (
    !Array.isArray(lengths) ||
    lengths.length !== count ||
    !lengths.every((n) => Number.isSafeInteger(n) && n >= 0) ||
    (lengths as number[]).reduce((a, n) => a + n, 0) !== payload.length
  )
    throw new FsError('EIO', `OSS ${from} answered a readMany of ${count} ranges with a malformed reply`);
  let at = 0;
  return (lengths as number[]).map((n) => {
    at += n;
    return payload.subarray(at - n, at);
  });
}
