// For tests and benchmarks: a CSI client on a unix socket whose calls return promises with a deadline.
import * as grpc from '@grpc/grpc-js';
import { csiPackage } from '../../src/csi/proto.ts';

export type CsiCall = <Res = Record<string, unknown>>(
  method: string,
  req?: object,
  timeoutMs?: number,
) => Promise<Res>;

export interface CsiClient {
  identity: CsiCall;
  controller: CsiCall;
  node: CsiCall;
  close(): void;
}

function caller(client: grpc.Client): CsiCall {
  return (method, req = {}, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
      if (!fn) {
        reject(new Error(`no CSI method ${method}`));
        return;
      }
      fn.call(
        client,
        req,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res as never)),
      );
    });
}

/** A client of the Identity, Controller and Node services at `endpoint` (unix:///path). */
export function csiClient(endpoint: string): CsiClient {
  const pkg = csiPackage();
  const creds = grpc.credentials.createInsecure();
  const clients = [
    new pkg.Identity(endpoint, creds),
    new pkg.Controller(endpoint, creds),
    new pkg.Node(endpoint, creds),
  ] as const;
  return {
    identity: caller(clients[0]),
    controller: caller(clients[1]),
    node: caller(clients[2]),
    close: () => {
      for (const c of clients) c.close();
    },
  };
}

/** A mount capability with one access mode, as the external-provisioner sends it. */
export function mountCapability(mode = 'MULTI_NODE_MULTI_WRITER'): object {
  return { mount: { fsType: '', mountFlags: [] }, accessMode: { mode } };
}
