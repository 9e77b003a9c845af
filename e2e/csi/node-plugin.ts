// A `nacre node` process driven as the kubelet drives it: the CSI Node service over its unix socket, kill -9 and restart.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { csiPackage } from '../../src/csi/proto.ts';
import { type Child, startChild } from '../../src/lib/supervisor.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { processesMentioning } from '../fs/leftovers.ts';

export const nacre = fileURLToPath(new URL('../../cmd/nacre.ts', import.meta.url));

type Unary = (
  req: object,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

/** A call's gRPC error code and message, or its response. */
export type CallResult<T = Record<string, unknown>> =
  | { ok: true; res: T }
  | { ok: false; code: grpc.status; details: string };

export class NodePlugin {
  readonly nodeId: string;
  readonly dir: string;
  readonly socket: string;
  readonly stateDir: string;
  #child: Child | undefined;
  #client: grpc.Client | undefined;

  readonly #extraArgs: string[];
  readonly #launcher: string[];

  /** `launcher`: a command the plugin runs under (e.g. `unshare --pid --fork --kill-child`, a container's PID namespace). */
  constructor(dir: string, nodeId: string, extraArgs: string[] = [], launcher: string[] = []) {
    this.#extraArgs = extraArgs;
    this.#launcher = launcher;
    this.dir = dir;
    this.nodeId = nodeId;
    this.socket = join(dir, `${nodeId}.sock`);
    this.stateDir = join(dir, `${nodeId}-state`);
  }

  get pid(): number | undefined {
    return this.#child?.process.pid;
  }

  async start(): Promise<void> {
    this.#child = await startChild({
      name: `node ${this.nodeId}`,
      command: this.#launcher[0] ?? process.execPath,
      args: [
        ...(this.#launcher.length > 0 ? [...this.#launcher.slice(1), process.execPath] : []),
        nacre,
        'node',
        '--csi-endpoint',
        `unix://${this.socket}`,
        '--node-id',
        this.nodeId,
        '--state-dir',
        this.stateDir,
        '--kubelet-dir',
        this.dir,
        '--metrics-address',
        '127.0.0.1:0',
        ...this.#extraArgs,
      ],
      logFile: join(this.dir, `${this.nodeId}.log`),
      timeoutMs: 60_000,
    });
    const pkg = csiPackage();
    this.#client = new pkg.Node(`unix://${this.socket}`, grpc.credentials.createInsecure());
  }

  /**
   * kill -9 of the plugin alone (its mounts' keepers live in their own sessions); resolves once no
   * process of it is left — under a launcher (unshare --kill-child) the plugin dies after the launcher.
   */
  async kill9(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#client?.close();
    child?.process.kill('SIGKILL');
    await child?.exited;
    const endpoint = `unix://${this.socket} `;
    await waitFor(
      `every process of plugin ${this.nodeId} to exit`,
      () => processesMentioning(endpoint).length === 0,
    );
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#client?.close();
    await child?.stop(10_000);
  }

  /** Calls a Node method with a deadline; resolves with the response or the gRPC error. */
  call<T = Record<string, unknown>>(
    method: string,
    req: object,
    timeoutMs = 120_000,
  ): Promise<CallResult<T>> {
    const client = this.#client as unknown as Record<string, Unary> | undefined;
    const fn = client?.[method];
    if (!fn || !client) throw new Error(`${method}: the plugin is not running or has no such method`);
    return new Promise((resolve) => {
      fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) resolve({ ok: false, code: err.code, details: err.details });
        else resolve({ ok: true, res: res as T });
      });
    });
  }

  /** Like `call`, but rejects unless the call succeeded. */
  async must<T = Record<string, unknown>>(method: string, req: object, timeoutMs?: number): Promise<T> {
    const r = await this.call<T>(method, req, timeoutMs);
    if (!r.ok) throw new Error(`${method} failed: ${grpc.status[r.code]} ${r.details}`);
    return r.res;
  }
}

export const MOUNT_RWX = {
  mount: { fsType: '', mountFlags: [] },
  accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' },
};
