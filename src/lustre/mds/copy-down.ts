// What the MDS's own OST calls count as a copy being down: its server unreachable, or a live server without the target (ENODEV).
import { DeadlineExceededError, FsError, UnavailableError } from '../../lib/errors.ts';

/**
 * True when `err` means the copy cannot be reached now, as opposed to an errno about the object:
 * the server did not answer or refused the connection, or it answered that it does not serve
 * the target (ENODEV: a target missing on a live server is a copy that is down, as in Lustre).
 */
export function copyDown(err: unknown): boolean {
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return true;
  return err instanceof FsError && (err.code as string) === 'ENODEV';
}
