// Idempotent requests by ClientRequestToken: a repeated request returns the first one's result, a different one under the same token is refused.

import type { ApiContext } from '../context.ts';
import { requestHash } from '../ids.ts';
import { incompatibleParameter } from './api-error.ts';

/** How long a token is remembered. */
const TOKEN_TTL_MS = 7 * 24 * 3600_000;

/**
 * Runs `run` once per (operation, token). Synchronous on purpose: the state change and the token
 * are recorded in the same tick, so two identical requests racing cannot both create a resource.
 * The caller commits the state afterwards. Without a token every call runs.
 * A repeat with the same token and the same request returns `replay(resourceId)`; with a different
 * request, IncompatibleParameterError naming ClientRequestToken.
 */
export function withToken<T>(
  ctx: ApiContext,
  operation: string,
  body: Record<string, unknown>,
  token: string | undefined,
  replay: (resourceId: string) => T,
  run: () => { resourceId: string; response: T },
): { response: T; fresh: boolean } {
  if (token === undefined) return { response: run().response, fresh: true };
  const tokens = ctx.store.state.tokens;
  const now = ctx.now();
  for (const [k, t] of Object.entries(tokens)) if (now - t.atMs > TOKEN_TTL_MS) delete tokens[k];
  const key = `${operation}:${token}`;
  const hash = requestHash(operation, body);
  const seen = tokens[key];
  if (seen) {
    if (seen.hash !== hash)
      throw incompatibleParameter(
        'ClientRequestToken',
        `The ClientRequestToken '${token}' was already used with a different ${operation} request.`,
      );
    return { response: replay(seen.resourceId), fresh: false };
  }
  const { resourceId, response } = run();
  tokens[key] = { hash, resourceId, atMs: now };
  return { response, fresh: true };
}
