// Buffers for the OSS's reads, reused once their reply has gone out: fresh memory for every read costs page faults and garbage collection per byte.

/** Size of a pooled buffer; longer reads get a buffer of their own. */
const SLAB = 8 * 1024 * 1024;
/** Free buffers kept, and how long an unused pool is kept before it is let go. */
const KEEP = 8;
const IDLE_MS = 10_000;

const free: Buffer[] = [];
let used = false;
let sweeper: NodeJS.Timeout | undefined;

/** A buffer of at least `length` bytes, and the function that gives it back (call it once nothing reads it any more). */
export function leaseReadBuffer(length: number): { buffer: Buffer; release: () => void } {
  if (length > SLAB) return { buffer: Buffer.allocUnsafe(length), release: () => {} };
  used = true;
  if (!sweeper)
    sweeper = setInterval(() => {
      if (!used) free.length = 0;
      used = false;
    }, IDLE_MS).unref();
  const buffer = free.pop() ?? Buffer.allocUnsafeSlow(SLAB);
  let given = false;
  return {
    buffer: buffer.subarray(0, length),
    release: () => {
      if (given) return;
      given = true;
      if (free.length < KEEP) free.push(buffer);
    },
  };
}
