// Sparse file contents in 1 MiB chunks for the memory FileSystemClient: holes cost nothing and read as zeros.
const CHUNK = 1 << 20;

/** The bytes of one regular file. Sizes are tracked by the caller; this only stores what was written. */
export class SparseData {
  private readonly chunks = new Map<number, Buffer>();

  /** 512-byte blocks allocated. */
  get blocks(): number {
    return this.chunks.size * (CHUNK / 512);
  }

  /** Drops everything at or past `size`. */
  truncate(size: number): void {
    for (const idx of this.chunks.keys()) if (idx * CHUNK >= size) this.chunks.delete(idx);
    this.chunks.get(Math.floor(size / CHUNK))?.fill(0, size % CHUNK);
  }

  /** Bytes [offset, end); a view of storage when they lie in one chunk (the caller sends it at once). */
  read(offset: number, end: number): Buffer {
    const first = Math.floor(offset / CHUNK);
    const chunk = this.chunks.get(first);
    if (chunk && end > offset && Math.floor((end - 1) / CHUNK) === first) {
      return chunk.subarray(offset - first * CHUNK, end - first * CHUNK);
    }
    const out = Buffer.allocUnsafe(Math.max(0, end - offset));
    for (let pos = offset; pos < end; ) {
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      const take = Math.min(CHUNK - within, end - pos);
      const c = this.chunks.get(idx);
      if (c) c.copy(out, pos - offset, within, within + take);
      else out.fill(0, pos - offset, pos - offset + take);
      pos += take;
    }
    return out;
  }

  write(offset: number, data: Buffer): void {
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      let chunk = this.chunks.get(idx);
      if (!chunk) {
        chunk = within === 0 && data.length - done >= CHUNK ? Buffer.allocUnsafe(CHUNK) : Buffer.alloc(CHUNK);
        this.chunks.set(idx, chunk);
      }
      done += data.copy(chunk, within, done, Math.min(data.length, done + CHUNK - within));
    }
  }
}
