// The local Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager and MinIO on loopback.

import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadlineExceededError, NacreError } from '../../src/lib/errors.ts';
import type { ClusterState, MinioEndpoint, MinioOptions } from './cluster-state.ts';
import { apiserverArgs, auditArgs, controllerManagerArgs, etcdArgs, minioEnv } from './control-plane-args.ts';
import { makePki, type Pki, pem, pkiFiles } from './pki.ts';
import {
  freePorts,
  isAlive,
  logTail,
  type ProcessRecord,
  pollUntil,
  removeDirOnExit,
  spawnServer,
  stopServer,
} from './processes.ts';
import { allToolPaths, type ToolPaths } from './tools.ts';

export interface StartClusterOptions {
  /** Also run a MinIO server (true, or its options). */
  minio?: boolean | MinioOptions;
  /** Record every API request (who, verb, resource, namespace, response code) in auditLogPath(dir). */
  audit?: boolean;
  /** Aborting stops whatever was started and rejects. */
  signal?: AbortSignal;
  /** Directory for state, PKI, data and logs; by default a fresh temp dir that stop() removes. */
  dir?: string;
  /** Leave the servers running when this Node process exits (the CLI's `up`). */
  keep?: boolean;
  /** Deadline for every server to be ready, once the tools are built. Default 90 s. */
  readyTimeoutMs?: number;
  /** Progress lines (default: none). */
  progress?: (message: string) => void;
  /**
   * The address the API server binds to and advertises (default 127.0.0.1): a kubelet node's
   * network namespace reaches the host's bridge address, never its loopback.
   */
  address?: string;
}

export type { ClusterState, MinioEndpoint, MinioOptions } from './cluster-state.ts';
export { auditLogPath } from './control-plane-args.ts';

export interface Cluster {
  dir: string;
  kubeconfigPath: string;
  /** The API server's URL, https://127.0.0.1:PORT */
  server: string;
  caPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  minio?: MinioEndpoint;
  tools: ToolPaths;
  state: ClusterState;
  /** Stops every server (SIGTERM, then SIGKILL) and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

const STATE_FILE = 'state.json';

/** Starts a fresh control plane and resolves once every server is ready; on failure nothing is left running. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const { signal } = opts;
  const progress = opts.progress ?? (() => {});
  const tools = await allToolPaths(signal);
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'nacre-cluster-')));
  const forgetDir = ownsDir && !opts.keep ? removeDirOnExit(dir) : () => {};
  await mkdir(join(dir, 'logs'), { recursive: true });
  const address = opts.address ?? '127.0.0.1';
  const pki = await makePki(join(dir, 'pki'), signal, address === '127.0.0.1' ? [] : [address]);
  const minioOpts = opts.minio === true ? {} : opts.minio || undefined;
  const [etcdPort, etcdPeerPort, apiPort, minioPort, minioConsolePort] = await freePorts(5);
  const state: ClusterState = {
    version: 1,
    dir,
    ownsDir,
    server: `https://${address}:${apiPort}`,
    kubeconfigPath: join(dir, 'kubeconfig'),
    processes: [],
    startedAt: new Date().toISOString(),
  };
  const pems = await readPems(pki);
  await writeFile(state.kubeconfigPath, kubeconfig(state.server, pems), { mode: 0o600 });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  const env = { HOME: dir, PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
  const start = async (
    name: string,
    command: string,
    args: string[],
    extraEnv: Record<string, string> = {},
  ) => {
    progress(`starting ${name}`);
    const rec = await spawnServer({
      name,
      command,
      args,
      logFile: join(dir, 'logs', `${name}.log`),
      env: { ...env, ...extraEnv },
      keep: opts.keep ?? false,
    });
    state.processes.push(rec);
    await saveState(state);
    return rec;
  };
  try {
    const etcd = await start('etcd', tools.etcd, etcdArgs(dir, etcdPort!, etcdPeerPort!));
    let minio: ProcessRecord | undefined;
    if (minioOpts) {
      state.minio = {
        endpoint: `http://127.0.0.1:${minioPort}`,
        accessKey: minioOpts.accessKey ?? 'nacre-minio',
        secretKey: minioOpts.secretKey ?? 'nacre-minio-secret',
        region: 'us-east-1',
      };
      minio = await start(
        'minio',
        tools.minio,
        [
          'server',
          '--quiet',
          '--address',
          `127.0.0.1:${minioPort}`,
          '--console-address',
          `127.0.0.1:${minioConsolePort}`,
          join(dir, 'minio-data'),
        ],
        minioEnv(state.minio, minioOpts),
      );
    }
    await waitReady(etcd, deadline, signal, () => httpOk(`http://127.0.0.1:${etcdPort}/health`));
    const apiserver = await start('kube-apiserver', tools.kubeApiserver, [
      ...apiserverArgs(dir, pki, etcdPort!, apiPort!, address),
      ...(opts.audit ? await auditArgs(dir) : []),
    ]);
    const probe = (path: string) => apiGet(state.server, pems, path);
    await waitReady(apiserver, deadline, signal, () => probe('/readyz'));
    const kcm = await start(
      'kube-controller-manager',
      tools.kubeControllerManager,
      controllerManagerArgs(state, pki),
    );
    // The service-account controller makes default/default: proof the controllers run.
    await waitReady(kcm, deadline, signal, () => probe('/api/v1/namespaces/default/serviceaccounts/default'));
    if (minio)
      await waitReady(minio, deadline, signal, () => httpOk(`${state.minio!.endpoint}/minio/health/ready`));
  } catch (err) {
    // Keep the files: the error names a log in them.
    await stopState(state, { keepFiles: true }).catch(() => {});
    forgetDir();
    throw err;
  }
  progress(`ready: ${state.server}`);
  return clusterFrom(state, tools, forgetDir);
}

/** The cluster recorded in `dir`, or undefined when there is none. */
export async function loadClusterState(dir: string): Promise<ClusterState | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as ClusterState;
}

/**
 * Stops every recorded server, latest first, and removes the cluster's files (all of `dir` when it
 * owns it, else everything but logs/). Servers already gone are not an error.
 */
export async function stopState(state: ClusterState, opts: { keepFiles?: boolean } = {}): Promise<void> {
  for (const rec of [...state.processes].reverse()) await stopServer(rec);
  if (opts.keepFiles) return;
  if (state.ownsDir) {
    await rm(state.dir, { recursive: true, force: true });
    return;
  }
  for (const entry of await readdir(state.dir).catch(() => [])) {
    if (entry !== 'logs') await rm(join(state.dir, entry), { recursive: true, force: true });
  }
}

export interface ClusterStatus {
  processes: { name: string; pid: number; alive: boolean; logFile: string }[];
  /** The API server answered /readyz with 200. */
  apiserverReady: boolean;
}

export async function clusterStatus(state: ClusterState): Promise<ClusterStatus> {
  const processes = await Promise.all(
    state.processes.map(async (p) => ({
      name: p.name,
      pid: p.pid,
      alive: await isAlive(p),
      logFile: p.logFile,
    })),
  );
  const pems = await readPems(pkiFiles(join(state.dir, 'pki'))).catch(() => undefined);
  const apiserverReady = pems !== undefined && (await apiGet(state.server, pems, '/readyz'));
  return { processes, apiserverReady };
}

async function clusterFrom(state: ClusterState, tools: ToolPaths, forgetDir: () => void): Promise<Cluster> {
  const pems = await readPems(pkiFiles(join(state.dir, 'pki')));
  let stopped: Promise<void> | undefined;
  return {
    dir: state.dir,
    kubeconfigPath: state.kubeconfigPath,
    server: state.server,
    caPem: pems.ca,
    adminCertPem: pems.cert,
    adminKeyPem: pems.key,
    ...(state.minio ? { minio: state.minio } : {}),
    tools,
    state,
    stop: () => {
      stopped ??= stopState(state).finally(forgetDir);
      return stopped;
    },
  };
}

/** Polls `probe` until it passes; fails early, with the log's tail, if the server exits. */
async function waitReady(
  rec: ProcessRecord,
  deadline: number,
  signal: AbortSignal | undefined,
  probe: () => Promise<boolean>,
): Promise<void> {
  let exited = false;
  const ok = await pollUntil(
    async () => {
      if (await probe()) return true;
      exited = !(await isAlive(rec));
      return exited;
    },
    Math.max(0, deadline - Date.now()),
    { intervalMs: 200, ...(signal ? { signal } : {}) },
  );
  if (ok && !exited) return;
  const tail = await logTail(rec.logFile);
  const why = exited ? `${rec.name} exited before it was ready` : `${rec.name} was not ready in time`;
  const message = `${why}; ${rec.logFile} ends:\n${tail}`;
  throw exited ? new NacreError('ServerExited', message) : new DeadlineExceededError(message);
}

const PROBE_TIMEOUT_MS = 2_000;

/** True when GET `url` answers 200 within the probe deadline. */
function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** True when GET `path` on the API server, as the admin, answers 200 within the probe deadline. */
function apiGet(server: string, pems: Pems, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      new URL(path, server),
      { ca: pems.ca, cert: pems.cert, key: pems.key, timeout: PROBE_TIMEOUT_MS },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

interface Pems {
  ca: string;
  cert: string;
  key: string;
}

async function readPems(pki: Pki): Promise<Pems> {
  const [ca, cert, key] = await Promise.all([pem(pki.caCert), pem(pki.adminCert), pem(pki.adminKey)]);
  return { ca, cert, key };
}

function kubeconfig(server: string, pems: Pems): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: nacre-local
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(pems.ca)}
users:
- name: nacre-admin
  user:
    client-certificate-data: ${b64(pems.cert)}
    client-key-data: ${b64(pems.key)}
contexts:
- name: nacre-local
  context:
    cluster: nacre-local
    user: nacre-admin
    namespace: default
current-context: nacre-local
`;
}

async function saveState(state: ClusterState): Promise<void> {
  const file = join(state.dir, STATE_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
