// MaxResults / NextToken paging over a sorted list, with opaque tokens that name the last item returned.
import { badRequest } from './api-error.ts';

/** The service's own page limit, applied when MaxResults is larger or absent. */
export const PAGE_LIMIT = 100;

/** Returns the page after `nextToken` and the token of the following page (if any). Items must be sorted by `key`. */
export function paginate<T>(
  items: readonly T[],
  key: (item: T) => string,
  maxResults: number | undefined,
  nextToken: string | undefined,
): { page: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    let after: unknown;
    try {
      after = (JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')) as { after?: unknown }).after;
    } catch {
      after = undefined;
    }
    if (typeof after !== 'string') throw badRequest('The NextToken is invalid.');
    start = items.findIndex((i) => key(i) > after);
    if (start < 0) start = items.length;
  }
  const size = Math.min(maxResults ?? PAGE_LIMIT, PAGE_LIMIT);
  const page = items.slice(start, start + size);
  if (start + size >= items.length || page.length === 0) return { page };
  const last = key(page[page.length - 1]!);
  return { page, nextToken: Buffer.from(JSON.stringify({ after: last })).toString('base64url') };
}
