// A FUSE daemon on a /dev/fuse descriptor it inherited: the first one of a mount answers INIT, a later one adopts the connection.
import type { Logger } from '../../lib/log.ts';
import type { FileSystemClient } from '../types.ts';
import type { AdoptedInit } from './adopt.ts';
import { fdDevice } from './device.ts';
import type { InitResult } from './init.ts';
import { FuseSession } from './session.ts';

export interface ServeFdOptions {
  client: FileSystemClient;
  /** An open /dev/fuse descriptor of an existing mount. */
  fd: number;
  /** What the previous daemon negotiated; absent for the first daemon of the mount, which gets INIT. */
  adopt?: AdoptedInit;
  readers: number;
  directIo: boolean;
  entryTimeoutMs?: number;
  attrTimeoutMs?: number;
  log: Logger;
  /** The kernel forgot an inode (see SessionOptions.onForgotten). */
  onForgotten?: (ino: number) => void;
}

export interface ServedFd {
  /** INIT as negotiated (by this daemon or, when adopting, by the first one). */
  init: InitResult;
  /** Resolves when the kernel ended the connection (the mount is gone) and the descriptor is closed. */
  closed: Promise<void>;
}

/**
 * Serves the mount behind `fd` until the kernel ends the connection. Resolves once serving: after
 * INIT for a first daemon (the caller bounds the wait with its own deadline through `signal`), at
 * once when adopting.
 */
export async function serveFuseFd(opts: ServeFdOptions, signal?: AbortSignal): Promise<ServedFd> {
  const session = new FuseSession(fdDevice(opts.fd), {
    client: opts.client,
    readers: Math.max(1, opts.readers),
    directIo: opts.directIo,
    timeouts: { entryMs: opts.entryTimeoutMs ?? 0, attrMs: opts.attrTimeoutMs ?? 0 },
    maxWrite: 1 << 20,
    log: opts.log,
    ...(opts.adopt && { adopt: opts.adopt }),
    ...(opts.onForgotten && { onForgotten: opts.onForgotten }),
  });
  session.start();
  opts.client.onInvalidate((event) => session.invalidate(event));
  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  const init = await Promise.race([session.initialized, aborted]);
  return { init, closed: session.closed };
}
