// The ops HTTP endpoints every long-running Nacre process serves: /healthz (alive), /readyz (ready, or why not) and /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ValidationError } from './errors.ts';

export interface HealthState {
  /** Why the process is not ready, or undefined when it is. */
  notReady(): string | undefined;
}

export interface OpsServer {
  /** "host:port" actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Parses "host:port", ":port" or "port" (host defaults to 0.0.0.0). */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535) throw new ValidationError(`bad listen address "${text}": want host:port`);
  return { host: m[1] || '0.0.0.0', port };
}

export async function startOpsServer(
  listen: string,
  registry: Registry,
  health: HealthState,
): Promise<OpsServer> {
  const { host, port } = parseListenAddress(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      const why = health.notReady();
      return why ? send(503, `not ready: ${why}\n`) : send(200, 'ok\n');
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (err: unknown) => send(500, `${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    send(404, 'not found\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
