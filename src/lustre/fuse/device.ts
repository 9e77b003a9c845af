// The /dev/fuse descriptor as the session uses it: blocking reads off the JS thread, synchronous replies, async notifications.
import fs from 'node:fs';

/** What the session needs from the FUSE device; a seam so the session can be tested without a kernel. */
export interface FuseDevice {
  /** Reads one request into `buf` (blocks a threadpool thread until one arrives). */
  read(buf: Buffer, done: (err: NodeJS.ErrnoException | null, n: number) => void): void;
  /** Writes one reply in one system call; throws the errno (ENOENT: the request is gone). */
  writeSync(parts: readonly Buffer[]): void;
  /** Writes one notification off the JS thread (it may wait for page locks). */
  write(msg: Buffer, done: (err: NodeJS.ErrnoException | null) => void): void;
  close(done: () => void): void;
}

/** The device over an open /dev/fuse descriptor. */
export function fdDevice(fd: number): FuseDevice {
  return {
    read: (buf, done) => fs.read(fd, buf, 0, buf.length, null, done),
    writeSync: (parts) => {
      if (parts.length === 1) fs.writeSync(fd, parts[0]!);
      else fs.writevSync(fd, parts as Buffer[]);
    },
    write: (msg, done) => fs.write(fd, msg, 0, msg.length, null, (err) => done(err)),
    close: (done) => fs.close(fd, () => done()),
  };
}
