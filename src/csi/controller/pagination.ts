// ListVolumes and ListSnapshots paging: entries sorted by ID, the token names the last ID returned (stable under inserts and deletes).
import { CsiError, invalidArgument } from '../csi-error.ts';

const PREFIX = 'after:';

/** One page of `items` (sorted by `idOf`) after `startingToken`; nextToken is "" on the last page. */
export function page<T>(
  items: T[],
  idOf: (t: T) => string,
  maxEntries: number,
  startingToken: string,
): { entries: T[]; nextToken: string } {
  if (maxEntries < 0) throw invalidArgument(`max_entries ${maxEntries} must not be negative`);
  let after = '';
  if (startingToken !== '') {
    let decoded = '';
    try {
      decoded = Buffer.from(startingToken, 'base64url').toString('utf8');
    } catch {
      decoded = '';
    }
    if (!decoded.startsWith(PREFIX)) {
      throw new CsiError(
        'Aborted',
        `starting_token "${startingToken}" was not given by this driver: list again from the start`,
      );
    }
    after = decoded.slice(PREFIX.length);
  }
  const sorted = [...items].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  const rest = after === '' ? sorted : sorted.filter((t) => idOf(t) > after);
  const entries = maxEntries > 0 ? rest.slice(0, maxEntries) : rest;
  const last = entries.at(-1);
  const more = entries.length < rest.length && last !== undefined;
  return { entries, nextToken: more ? Buffer.from(`${PREFIX}${idOf(last)}`).toString('base64url') : '' };
}
