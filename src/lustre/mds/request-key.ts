// Reply-cache keys of requests a FUSE kernel may resend to a new daemon: (mount id, kernel request id) instead of (client, xid).
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, int, str } from '../protocol/args.ts';

/** Where a mutation's reply is kept: (client, xid) in the MDS's reply cache. */
export interface ReplyKey {
  client: string;
  xid: number;
}

/**
 * The reply key of a call that carries `key` (a keeper-held mount and the kernel's request id),
 * or undefined. A daemon that replaces a dead one is a new client, so its resend of the dead one's
 * request would miss (client, xid); the mount id is the same for both, as is the request id. The
 * cache keeps the last replies of each mount as it does for each client.
 */
export function requestReplyKey(a: Args): ReplyKey | undefined {
  if (a['key'] === undefined) return undefined;
  const k = asArgs(a['key']);
  return { client: mountClient(k, 'key.mount'), xid: int(k, 'request', { min: 1 }) };
}

/** The reply-cache client of the mount id in `a.mount` (`what` names it in the error); EINVAL if not a printable id. */
export function mountClient(a: Args, what = 'mount'): string {
  const mount = str(a, 'mount', 128);
  if (mount.length === 0 || [...mount].some((ch) => ch.charCodeAt(0) < 0x21)) {
    throw new FsError('EINVAL', `argument "${what}" must be a printable id without spaces`);
  }
  return `mount:${mount}`;
}
