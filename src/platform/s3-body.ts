// Reading an S3 response body into memory: one right-sized buffer, one copy per byte.

/**
 * A GET body read into one buffer of its announced length, each chunk copied once straight into
 * place (the SDK's collector keeps a list of chunks and copies them into a zero-filled array).
 */
export async function readBody(body: AsyncIterable<Uint8Array>, length: number): Promise<Buffer> {
  let out = Buffer.allocUnsafe(length);
  let filled = 0;
  for await (const chunk of body) {
    if (filled + chunk.length > out.length) {
      // More than announced: keep it all (the caller checks the length it expected).
      const grown = Buffer.allocUnsafe(Math.max(filled + chunk.length, out.length * 2));
      out.copy(grown, 0, 0, filled);
      out = grown;
    }
    out.set(chunk, filled);
    filled += chunk.length;
  }
  return filled === out.length ? out : out.subarray(0, filled);
}
