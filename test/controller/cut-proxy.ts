// For integration tests: an HTTP proxy in front of the FSx API that lets one chosen operation reach the server but never answers it.
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CutProxy {
  endpoint: string;
  /** Resolves when a request for the operation has been served upstream and its answer dropped. */
  cut: Promise<void>;
  close(): Promise<void>;
}

/**
 * Forwards every request to `upstream` unchanged (Host included, so SigV4 signatures still hold).
 * The first request for `operation` (by X-Amz-Target) is forwarded and its response read in full;
 * then `beforeDrop` runs and the client's connection is destroyed without an answer.
 */
export async function startCutProxy(
  upstream: string,
  operation: string,
  beforeDrop: () => void,
): Promise<CutProxy> {
  const target = new URL(upstream);
  const { promise: cut, resolve: onCut } = Promise.withResolvers<void>();
  let done = false;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const drop = !done && String(req.headers['x-amz-target'] ?? '').endsWith(`.${operation}`);
      if (drop) done = true;
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          const body: Buffer[] = [];
          upRes.on('data', (c: Buffer) => body.push(c));
          upRes.on('end', () => {
            if (drop) {
              beforeDrop();
              req.socket.destroy();
              onCut();
              return;
            }
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      up.on('error', () => req.socket.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
