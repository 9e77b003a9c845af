// The FSx API over HTTP: AWS JSON 1.1 requests (X-Amz-Target), SigV4 authentication, AWS-shaped JSON errors.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { type Logger, logger } from '../../../lib/log.ts';
import type { ApiContext } from '../context.ts';
import { FsxApiError, internalError, serializationError, unsupported } from './api-error.ts';
import { verifySigV4 } from './sigv4.ts';

export const TARGET_PREFIX = 'AWSSimbaAPIService_v20180301';
const MAX_BODY = 1024 * 1024;

export type Operation = (ctx: ApiContext, body: Record<string, unknown>) => Promise<unknown>;

/** FSx operations the emulator knows but does not provide yet, with the reason given to callers. */
const LATER: Record<string, string> = {};

export interface HttpOptions {
  ctx: ApiContext;
  operations: Readonly<Record<string, Operation>>;
  credentials: Readonly<Record<string, string>>;
  /** Told of every request once answered: operation ("-" if unknown), HTTP status, error code or "ok", seconds. */
  onRequest?: (operation: string, status: number, outcome: string, seconds: number) => void;
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  errorType?: string,
) {
  const data = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(data),
    'x-amzn-requestid': requestId,
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers).end(data);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(
          new FsxApiError('RequestEntityTooLargeException', 'The request body is too large.', {
            status: 413,
          }),
        );
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw serializationError('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw serializationError('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

/** The operation an X-Amz-Target names, or the error for one the emulator does not serve. */
function resolveOperation(
  target: string | undefined,
  operations: HttpOptions['operations'],
): [string, Operation] {
  const prefix = `${TARGET_PREFIX}.`;
  if (!target?.startsWith(prefix))
    throw new FsxApiError(
      'UnknownOperationException',
      `Expected an X-Amz-Target header of the form ${prefix}<Operation>.`,
    );
  const name = target.slice(prefix.length);
  const op = Object.hasOwn(operations, name) ? operations[name] : undefined;
  if (op) return [name, op];
  const later = Object.hasOwn(LATER, name) ? LATER[name] : undefined;
  if (later)
    throw unsupported(
      `${name}: ${later} are not yet supported by the Nacre FSx emulator (planned for a later release).`,
    );
  throw unsupported(`${name} is not supported by the Nacre FSx emulator.`);
}

async function handle(opts: HttpOptions, log: Logger, req: http.IncomingMessage, res: http.ServerResponse) {
  const requestId = randomUUID();
  const started = performance.now();
  let operation = '-';
  try {
    const body = await readBody(req);
    const { accessKeyId } = verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', rawHeaders: req.rawHeaders, body },
      { credentials: opts.credentials, region: opts.ctx.region, service: 'fsx', nowMs: Date.now() },
    );
    if (req.method !== 'POST')
      throw new FsxApiError('UnknownOperationException', 'The FSx API accepts POST requests only.', {
        status: 404,
      });
    const [name, op] = resolveOperation(req.headers['x-amz-target'] as string | undefined, opts.operations);
    operation = name;
    const result = await op(opts.ctx, parseBody(body));
    send(res, 200, result ?? {}, requestId);
    opts.onRequest?.(operation, 200, 'ok', (performance.now() - started) / 1000);
    log.debug('request', {
      operation,
      accessKeyId,
      status: 200,
      ms: Math.round(performance.now() - started),
    });
  } catch (err) {
    const apiErr = err instanceof FsxApiError ? err : internalError();
    if (!(err instanceof FsxApiError))
      log.error('operation failed', {
        operation,
        requestId,
        error: err instanceof Error ? err.stack : String(err),
      });
    else log.debug('request refused', { operation, code: apiErr.code, message: apiErr.message });
    if (!res.headersSent) send(res, apiErr.status, apiErr.body(), requestId, apiErr.code);
    opts.onRequest?.(operation, apiErr.status, apiErr.code, (performance.now() - started) / 1000);
  }
}

/** An HTTP server for the FSx API (not yet listening). `GET /healthz` answers 200 without authentication. */
export function createFsxHttpServer(opts: HttpOptions): http.Server {
  const log = logger('fsx-api');
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    void handle(opts, log, req, res);
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
