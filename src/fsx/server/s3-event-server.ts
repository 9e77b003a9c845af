// The webhook S3 bucket notifications are delivered to (MinIO's webhook target; an SQS bridge on AWS): POSTed event JSON handed to the HSM agent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { logger } from '../../lib/log.ts';
import { formatTcpAddress } from '../../lustre/protocol/address.ts';

export interface S3EventServer {
  /** "http://host:port/" to configure as the webhook endpoint. */
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

/**
 * Listens for notification POSTs; each JSON body goes to `onEvents` (answered 200 once handed over;
 * 400 for a body that is not JSON, 401 without the bearer `token` when one is set). MinIO checks the
 * endpoint with an empty POST at start-up, which is answered 200 too.
 */
export async function startS3EventServer(opts: {
  listen: { host: string; port: number };
  token?: string;
  onEvents: (body: unknown) => void;
}): Promise<S3EventServer> {
  const log = logger('hsm-agent');
  const server = http.createServer((req, res) => {
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401).end();
      req.resume();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else parts.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      if (text.trim() === '') {
        res.writeHead(200).end();
        return;
      }
      try {
        opts.onEvents(JSON.parse(text));
        res.writeHead(200).end();
      } catch (err) {
        log.warn('ignoring an S3 event body that is not JSON', { error: String(err) });
        res.writeHead(400).end();
      }
    });
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${formatTcpAddress(a.address, a.port)}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
