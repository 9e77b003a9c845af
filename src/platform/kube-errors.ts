// Kubernetes API failures translated once, from client-node's ApiException (or a network error) into KubeError codes.
import { NacreError } from '../lib/errors.ts';

/**
 * What a failed Kubernetes API call means:
 * NotFound (404), Conflict (409: the object changed since it was read, or already exists),
 * Invalid (400/422: the request was refused as written), Forbidden (401/403),
 * Unavailable (429, 5xx, network, deadline: retry later).
 */
export type KubeErrorCode = 'NotFound' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Unavailable';

export class KubeError extends NacreError {
  declare readonly code: KubeErrorCode;
  readonly status: number | undefined;
  constructor(code: KubeErrorCode, message: string, status?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

export function isKubeError(err: unknown, code?: KubeErrorCode): err is KubeError {
  return err instanceof KubeError && (code === undefined || err.code === code);
}

function statusMessage(body: unknown): string | undefined {
  let b: unknown = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return body.length > 0 ? body : undefined;
    }
  }
  const m = (b as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : undefined;
}

/** The KubeError for anything a client-node call threw; the abort reason when `signal` aborted. */
export function translateKubeError(err: unknown, what: string, signal?: AbortSignal): unknown {
  if (err instanceof KubeError) return err;
  if (signal?.aborted) return signal.reason ?? err;
  const status = (err as { code?: unknown } | null)?.code;
  if (typeof status !== 'number') {
    const msg = err instanceof Error ? err.message : String(err);
    return new KubeError('Unavailable', `${what}: ${msg}`, undefined, { cause: err });
  }
  const message = `${what}: ${statusMessage((err as { body?: unknown }).body) ?? `HTTP ${status}`}`;
  const code: KubeErrorCode =
    status === 404
      ? 'NotFound'
      : status === 409
        ? 'Conflict'
        : status === 400 || status === 422
          ? 'Invalid'
          : status === 401 || status === 403
            ? 'Forbidden'
            : 'Unavailable';
  return new KubeError(code, message, status, { cause: err });
}
