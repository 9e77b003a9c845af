// What the client remembers per open inode: its layout, the last size the MDS told, and coalesced size updates after writes.
import { FsError } from '../../lib/errors.ts';
import type { Attr, Layout } from '../types.ts';

/**
 * Coalesces extendSize calls of one inode: while one call is in flight, later requests wait and
 * go out together as one call with the largest end. Each promise resolves with attributes whose
 * size is at least the end it asked for (or rejects with the call's error).
 */
export class SizeExtender {
  readonly #send: (end: number) => Promise<Attr>;
  #running = false;
  #next: { end: number; done: PromiseWithResolvers<Attr> } | undefined;

  constructor(send: (end: number) => Promise<Attr>) {
    this.#send = send;
  }

  extend(end: number): Promise<Attr> {
    if (!this.#running) return this.#start(end);
    if (this.#next) this.#next.end = Math.max(this.#next.end, end);
    else this.#next = { end, done: Promise.withResolvers<Attr>() };
    return this.#next.done.promise;
  }

  #start(end: number): Promise<Attr> {
    this.#running = true;
    const p = this.#send(end);
    const next = () => {
      this.#running = false;
      const n = this.#next;
      this.#next = undefined;
      if (n) this.#start(n.end).then(n.done.resolve, n.done.reject);
    };
    p.then(next, next);
    return p;
  }
}

/** One inode the client has open (or is reading attributes of). */
export interface InodeState {
  readonly ino: number;
  /** undefined: not fetched yet; null: the inode has no layout (not a regular file). */
  layout: Layout | null | undefined;
  /** This client wrote data through `layout`, so it can no longer change (setstripe needs an empty file). */
  layoutFixed: boolean;
  /** Last size the MDS reported; undefined when another client may have changed it since. */
  size: number | undefined;
  /** Whether the mode has S_ISUID or S_ISGID, as last seen; undefined when it may have changed. */
  setId: boolean | undefined;
  /** Open handles of this client on the inode. */
  opens: number;
  /** Data was written since the MDS last set mtime (and size) for this client. */
  mtimeDirty: boolean;
  /**
   * Largest end of this client's writes the MDS has not been told (0: none). -1: another client
   * changed the inode since (a truncate, say), so the size to report is what the objects say.
   */
  dirtyEnd: number;
  extender: SizeExtender;
  /** Serialises O_APPEND writes of this client. */
  appendChain: Promise<unknown>;
}

/**
 * Per-inode client state. Sizes are hints: reads at or past the remembered size ask the MDS again,
 * and an invalidation from the MDS forgets the size (and the layout of a file that was empty and
 * not written by this client, which setstripe may still change).
 */
export class InodeCache {
  readonly #inodes = new Map<number, InodeState>();
  readonly #extend: (ino: number, end: number) => Promise<Attr>;

  constructor(extend: (ino: number, end: number) => Promise<Attr>) {
    this.#extend = extend;
  }

  get(ino: number): InodeState {
    let st = this.#inodes.get(ino);
    if (!st) {
      st = {
        ino,
        layout: undefined,
        layoutFixed: false,
        size: undefined,
        setId: undefined,
        opens: 0,
        mtimeDirty: false,
        dirtyEnd: 0,
        extender: new SizeExtender((end) => this.#extend(ino, end)),
        appendChain: Promise.resolve(),
      };
      this.#inodes.set(ino, st);
    }
    return st;
  }

  peek(ino: number): InodeState | undefined {
    return this.#inodes.get(ino);
  }

  /** Records attributes fresh from the MDS for an inode the client tracks. */
  noteAttr(attr: Attr): void {
    const st = this.#inodes.get(attr.ino);
    if (!st) return;
    st.size = attr.size;
    st.setId = (attr.mode & 0o6000) !== 0;
  }

  /** Records the reply of an extendSize: sizes only grow through it, so a late reply cannot shrink. */
  noteGrowth(attr: Attr): void {
    const st = this.#inodes.get(attr.ino);
    if (!st) return;
    st.size = Math.max(st.size ?? 0, attr.size);
    st.setId = (attr.mode & 0o6000) !== 0;
  }

  /** Another client changed the inode. */
  invalidate(ino: number): void {
    const st = this.#inodes.get(ino);
    if (!st) return;
    // A mirrored layout is refetched too: its stale set may have changed (another client's markStale).
    if ((st.size === 0 && !st.layoutFixed) || st.layout?.mirrors) st.layout = undefined;
    st.size = undefined;
    st.setId = undefined;
    if (st.dirtyEnd > 0) st.dirtyEnd = -1;
  }

  /** The client closed its last handle: forget the inode. */
  drop(ino: number): void {
    const st = this.#inodes.get(ino);
    if (st && st.opens <= 0) this.#inodes.delete(ino);
  }

  /** Inodes with open handles. */
  open(): InodeState[] {
    return [...this.#inodes.values()].filter((s) => s.opens > 0);
  }
}

/** Rejects with EINTR when `signal` aborts before `p` settles; `p` itself keeps running. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new FsError('EINTR', `${what} interrupted`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new FsError('EINTR', `${what} interrupted`));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
